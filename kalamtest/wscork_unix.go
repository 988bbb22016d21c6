//go:build unix

package kalamtest

import (
	"errors"
	"net"
	"sync/atomic"
	"syscall"
)

// writeNoting writes b to c and sets full if the socket had no room for
// it (the write would have blocked).
func writeNoting(c net.Conn, b []byte, full *atomic.Bool) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		_, err := c.Write(b)
		return err
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	// RawConn.Write calls the function again when the socket is writable
	// (or fails with the write deadline).
	err = raw.Write(func(fd uintptr) bool {
		for len(b) > 0 {
			n, err := syscall.Write(int(fd), b)
			switch {
			case errors.Is(err, syscall.EAGAIN):
				full.Store(true)
				return false
			case errors.Is(err, syscall.EINTR):
				continue
			case err != nil:
				werr = err
				return true
			}
			b = b[n:]
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}
