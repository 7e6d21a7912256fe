//go:build linux

package live

import (
	"syscall"
	"unsafe"
)

// socketWrites: the hub writes to the sockets of the connections it was
// handed, without waiting.
const socketWrites = true

// sockWrite writes p to a non-blocking socket. It is a raw system call,
// which the scheduler does not see: the write never waits, so there is no
// processor to hand to another thread meanwhile, and no thread switches
// when one of ten thousand writes happens to take longer than sysmon's
// 20 µs tick.
func sockWrite(fd uintptr, p []byte) (int, error) {
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
