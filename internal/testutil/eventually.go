// Package testutil holds what the tests of several packages share.
package testutil

import (
	"testing"
	"time"
)

// Eventually calls cond until it returns nil, and fails t with cond's last
// error if that has not happened within the given time. It is for a test
// that waits on something it cannot be told of: it polls, often at first
// and then less, so a quick outcome is seen at once and a slow one costs
// little. Inside a testing/synctest bubble its waits are the bubble's.
func Eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("not within %v: %v", within, err)
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, 50*time.Millisecond)
	}
}
