package api

import "testing"

// A panic in a decode reaches the caller, whose server recovers it for the
// one request, instead of ending the process on a goroutine of its own.
func TestRunLowPanicReachesCaller(t *testing.T) {
	defer func() {
		if p := recover(); p != "decode failed" {
			t.Fatalf("recovered %v, want the decode's panic", p)
		}
	}()
	runLow(func() { panic("decode failed") })
	t.Fatal("runLow returned after a panic")
}
