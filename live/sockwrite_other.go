//go:build !linux

package live

import "errors"

// socketWrites: elsewhere a goroutine writes each waiting client's
// connection (correct, slower with many clients).
const socketWrites = false

func sockWrite(fd uintptr, p []byte) (int, error) { return 0, errors.ErrUnsupported }

type iovec struct{}

func sockWritev(fd uintptr, bufs [][]byte, off int, iov *[]iovec) (int, error) {
	return 0, errors.ErrUnsupported
}
