//go:build !unix

package kalamtest

import (
	"net"
	"sync/atomic"
)

// writeNoting writes b to c; full stays false: without a non-blocking
// write to see it, every drop counts as the server's.
func writeNoting(c net.Conn, b []byte, _ *atomic.Bool) error {
	_, err := c.Write(b)
	return err
}
