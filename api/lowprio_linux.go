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
func runLow(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19) // best effort
		fn()
	}()
	<-done
}
