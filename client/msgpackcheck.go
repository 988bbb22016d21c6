package client

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxMsgpackDepth bounds container nesting; KalamDB frames nest a few
// levels (message → rows → row → value).
const maxMsgpackDepth = 256

var errMsgpackTruncated = errors.New("msgpack: truncated document")

// checkMsgpack walks one MessagePack document without allocating and
// refuses what could make a decoder allocate or recurse without bound: a
// container declaring more elements than there are bytes left, nesting
// deeper than maxMsgpackDepth, the reserved 0xc1 byte, or trailing bytes.
func checkMsgpack(b []byte) error {
	pos := 0
	stack := make([]int, 1, 16) // elements still expected per open container
	stack[0] = 1
	need := func(n int) error {
		if n < 0 || n > len(b)-pos {
			return errMsgpackTruncated
		}
		pos += n
		return nil
	}
	for len(stack) > 0 {
		if stack[len(stack)-1] == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		stack[len(stack)-1]--
		if pos >= len(b) {
			return errMsgpackTruncated
		}
		t := b[pos]
		pos++
		items := -1 // elements of a container that starts here
		var err error
		switch {
		case t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3:
		case t >= 0x80 && t <= 0x8f:
			items = 2 * int(t&0x0f)
		case t >= 0x90 && t <= 0x9f:
			items = int(t & 0x0f)
		case t >= 0xa0 && t <= 0xbf:
			err = need(int(t & 0x1f))
		case t == 0xc4 || t == 0xd9:
			err = skipSized(b, &pos, 1, 0)
		case t == 0xc5 || t == 0xda:
			err = skipSized(b, &pos, 2, 0)
		case t == 0xc6 || t == 0xdb:
			err = skipSized(b, &pos, 4, 0)
		case t == 0xc7:
			err = skipSized(b, &pos, 1, 1)
		case t == 0xc8:
			err = skipSized(b, &pos, 2, 1)
		case t == 0xc9:
			err = skipSized(b, &pos, 4, 1)
		case t == 0xca:
			err = need(4)
		case t == 0xcb:
			err = need(8)
		case t == 0xcc || t == 0xd0:
			err = need(1)
		case t == 0xcd || t == 0xd1:
			err = need(2)
		case t == 0xce || t == 0xd2:
			err = need(4)
		case t == 0xcf || t == 0xd3:
			err = need(8)
		case t >= 0xd4 && t <= 0xd8:
			err = need(1 + 1<<(t-0xd4))
		case t == 0xdc || t == 0xde:
			if err = need(2); err == nil {
				items = int(binary.BigEndian.Uint16(b[pos-2:]))
			}
		case t == 0xdd || t == 0xdf:
			if err = need(4); err == nil {
				items = int(binary.BigEndian.Uint32(b[pos-4:]))
			}
		default: // 0xc1, never used
			return fmt.Errorf("msgpack: invalid type byte 0x%02x at %d", t, pos-1)
		}
		if err != nil {
			return err
		}
		if items < 0 {
			continue
		}
		if t == 0xde || t == 0xdf {
			items *= 2
		}
		if items > len(b)-pos {
			return fmt.Errorf("msgpack: container at %d declares %d elements, only %d bytes left", pos, items, len(b)-pos)
		}
		if len(stack) >= maxMsgpackDepth {
			return fmt.Errorf("msgpack: nested deeper than %d", maxMsgpackDepth)
		}
		stack = append(stack, items)
	}
	if pos != len(b) {
		return fmt.Errorf("msgpack: %d trailing bytes", len(b)-pos)
	}
	return nil
}

// skipSized skips a length-prefixed payload: lenBytes of big-endian
// length, then extra bytes (the ext type), then the payload.
func skipSized(b []byte, pos *int, lenBytes, extra int) error {
	if lenBytes > len(b)-*pos {
		return errMsgpackTruncated
	}
	var n uint64
	for _, c := range b[*pos : *pos+lenBytes] {
		n = n<<8 | uint64(c)
	}
	*pos += lenBytes
	if uint64(len(b)-*pos) < uint64(extra)+n {
		return errMsgpackTruncated
	}
	*pos += extra + int(n)
	return nil
}
