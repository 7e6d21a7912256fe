package api

import (
	"runtime"
	"syscall"
)

// runLow runs fn on an OS thread of its own at the lowest CPU priority
// (nice 19), so that a decode takes the CPU only when serving pages and
// posts leaves it some. The thread ends with fn: the goroutine exits still
// locked to it, since an unprivileged process cannot raise a thread's
// priority again (and the runtime makes its new threads from a template
// thread, never from a locked one, so none inherits the priority).
// A panic in fn is raised again on the caller's goroutine, where the
// request's server recovers it, as it would a decode run there.
func runLow(fn func()) {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		runtime.LockOSThread()
		syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19) // best effort
		fn()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}
