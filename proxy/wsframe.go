package proxy

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxObservedPayload is the largest frame payload the relay holds in
// memory to observe it: KalamDB's own read limit for a compressed frame.
// Larger frames are still relayed, streamed, but not decoded.
const maxObservedPayload = 16 << 20

// wsFrame is one WebSocket frame as read from a socket.
type wsFrame struct {
	header  []byte // the frame header exactly as received (mask key included)
	fin     bool
	rsv1    bool // permessage-deflate's "compressed" bit
	opcode  byte
	length  uint64
	maskKey []byte // nil when unmasked (server → client)
	payload []byte // as received (still masked); nil when length > maxObservedPayload
}

// readFrameHeader reads one frame header from r.
func readFrameHeader(r *bufio.Reader) (*wsFrame, error) {
	var h [14]byte
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		return nil, err
	}
	f := &wsFrame{fin: h[0]&0x80 != 0, rsv1: h[0]&0x40 != 0, opcode: h[0] & 0x0F}
	masked := h[1]&0x80 != 0
	n := 2
	switch l := h[1] & 0x7F; l {
	case 126:
		if _, err := io.ReadFull(r, h[2:4]); err != nil {
			return nil, err
		}
		f.length = uint64(binary.BigEndian.Uint16(h[2:4]))
		n = 4
	case 127:
		if _, err := io.ReadFull(r, h[2:10]); err != nil {
			return nil, err
		}
		f.length = binary.BigEndian.Uint64(h[2:10])
		n = 10
		if f.length>>63 != 0 {
			return nil, fmt.Errorf("frame length %#x has its most significant bit set", f.length)
		}
	default:
		f.length = uint64(l)
	}
	if masked {
		if _, err := io.ReadFull(r, h[n:n+4]); err != nil {
			return nil, err
		}
		f.maskKey = append([]byte(nil), h[n:n+4]...)
		n += 4
	}
	f.header = append([]byte(nil), h[:n]...)
	return f, nil
}

// relayFrame reads one frame from src and writes it to dst unchanged.
// observe, when not nil, sees the frame (payload read, still masked)
// before it is written, so a message is tapped before its answer can be.
// A frame too large to observe is streamed through and observed without
// its payload.
func relayFrame(src *bufio.Reader, dst io.Writer, observe func(*wsFrame)) error {
	f, err := readFrameHeader(src)
	if err != nil {
		return err
	}
	if f.length > maxObservedPayload {
		observe(f)
		if _, err := dst.Write(f.header); err != nil {
			return err
		}
		_, err := io.CopyN(dst, src, int64(f.length))
		return err
	}
	buf := make([]byte, len(f.header)+int(f.length))
	copy(buf, f.header)
	if _, err := io.ReadFull(src, buf[len(f.header):]); err != nil {
		return err
	}
	f.payload = buf[len(f.header):]
	observe(f)
	_, err = dst.Write(buf)
	return err
}

// unmasked returns a copy of the frame's payload with its mask removed.
func (f *wsFrame) unmasked() []byte {
	p := append([]byte(nil), f.payload...)
	if f.maskKey != nil {
		for i := range p {
			p[i] ^= f.maskKey[i%4]
		}
	}
	return p
}
