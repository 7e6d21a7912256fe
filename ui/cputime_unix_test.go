//go:build unix

package ui_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used, user and system: what a
// rebuild costs on a machine other work shares, where the wall time is
// also the others'.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
