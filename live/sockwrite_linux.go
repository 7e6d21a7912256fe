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

type iovec = syscall.Iovec

// sockWritev writes bufs, the first from off on, to a non-blocking socket
// in one system call (at most 1024 of them; the rest is left), with iov as
// scratch.
func sockWritev(fd uintptr, bufs [][]byte, off int, iov *[]iovec) (int, error) {
	v := (*iov)[:0]
	for i, b := range bufs[:min(len(bufs), 1024)] {
		if i == 0 {
			b = b[off:]
		}
		if len(b) == 0 {
			continue
		}
		e := iovec{Base: unsafe.SliceData(b)}
		e.SetLen(len(b))
		v = append(v, e)
	}
	*iov = v
	defer clear(v) // no pointers kept past the call
	if len(v) == 0 {
		return 0, nil
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(unsafe.SliceData(v))), uintptr(len(v)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
