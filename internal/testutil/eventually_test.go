package testutil

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Eventually returns once cond holds, having called it no more than needed.
func TestEventuallyReturnsWhenCondHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		start := time.Now()
		Eventually(t, time.Second, func() error {
			if calls.Add(1) < 4 {
				return errors.New("not yet")
			}
			return nil
		})
		if n := calls.Load(); n != 4 {
			t.Errorf("cond called %d times, want 4", n)
		}
		if d := time.Since(start); d >= 50*time.Millisecond {
			t.Errorf("took %v for a cond true on the fourth call", d)
		}
	})
}

// recorder is a testing.TB that keeps what Fatalf says.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r)
}

// Past the deadline, Eventually fails with the time and cond's last error.
func TestEventuallyFailsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{TB: t}
		start := time.Now()
		n := 0
		func() {
			defer func() {
				if p := recover(); p != r {
					t.Fatalf("no failure (%v)", p)
				}
			}()
			Eventually(r, time.Second, func() error { n++; return fmt.Errorf("try %d", n) })
		}()
		if d := time.Since(start); d != time.Second {
			t.Errorf("failed after %v, want 1s", d)
		}
		if want := fmt.Sprintf("not within 1s: try %d", n); r.msg != want {
			t.Errorf("failed with %q, want %q", r.msg, want)
		}
	})
}
