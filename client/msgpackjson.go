package client

// This file is the read loop's fast path for MessagePack frames: one walk
// over the document that writes its JSON text directly, instead of
// decoding it into maps and interfaces and marshalling those with
// encoding/json (most of a MessagePack frame's cost: bench/RESULTS.md).
//
// The output is byte for byte what that slow path writes: map keys sorted
// byte-wise, strings escaped as encoding/json escapes them (HTML-safe,
// U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD), binary as text,
// integers in decimal, floats as encoding/json formats a float64. Anything
// else — extension types, non-string or duplicate map keys, NaN and the
// infinities, which encoding/json refuses — makes the fast path give up,
// and msgpackToJSON runs the slow path, so errors keep their exact text.
// FuzzMsgpackToJSONFastPath checks the two agree on every input.

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// mpEntry is one map entry met by mpWriter: its key and where its value
// starts.
type mpEntry struct {
	key []byte
	val int
}

// mpWriter writes the JSON text of one MessagePack document that
// checkMsgpack accepted (so every length in it is within bounds).
type mpWriter struct {
	b       []byte
	entries []mpEntry // a stack shared by the maps being written
}

// appendMsgpackJSON appends the JSON text of the checked document b to
// dst; ok is false when the slow path must convert it (see the file
// comment).
func appendMsgpackJSON(dst, b []byte) (out []byte, ok bool) {
	if len(b) == 5 && b[0] == 0xca {
		// The slow path decodes a float32 inside a document as a float64
		// but one alone as a float32, which encoding/json formats shorter.
		return appendJSONFloat(dst, float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:]))), 32)
	}
	w := mpWriter{b: b}
	out, end, ok := w.value(dst, 0)
	return out, ok && end == len(b)
}

// value writes the value at p and returns where the next one starts.
func (w *mpWriter) value(dst []byte, p int) ([]byte, int, bool) {
	b := w.b
	t := b[p]
	p++
	switch {
	case t <= 0x7f:
		return strconv.AppendInt(dst, int64(t), 10), p, true
	case t >= 0xe0:
		return strconv.AppendInt(dst, int64(int8(t)), 10), p, true
	case t >= 0xa0 && t <= 0xbf:
		n := int(t & 0x1f)
		return appendJSONString(dst, b[p:p+n]), p + n, true
	case t >= 0x90 && t <= 0x9f:
		return w.array(dst, p, int(t&0x0f))
	case t >= 0x80 && t <= 0x8f:
		return w.object(dst, p, int(t&0x0f))
	}
	switch t {
	case 0xc0:
		return append(dst, "null"...), p, true
	case 0xc2:
		return append(dst, "false"...), p, true
	case 0xc3:
		return append(dst, "true"...), p, true
	case 0xcc:
		return strconv.AppendUint(dst, uint64(b[p]), 10), p + 1, true
	case 0xcd:
		return strconv.AppendUint(dst, uint64(binary.BigEndian.Uint16(b[p:])), 10), p + 2, true
	case 0xce:
		return strconv.AppendUint(dst, uint64(binary.BigEndian.Uint32(b[p:])), 10), p + 4, true
	case 0xcf:
		return strconv.AppendUint(dst, binary.BigEndian.Uint64(b[p:]), 10), p + 8, true
	case 0xd0:
		return strconv.AppendInt(dst, int64(int8(b[p])), 10), p + 1, true
	case 0xd1:
		return strconv.AppendInt(dst, int64(int16(binary.BigEndian.Uint16(b[p:]))), 10), p + 2, true
	case 0xd2:
		return strconv.AppendInt(dst, int64(int32(binary.BigEndian.Uint32(b[p:]))), 10), p + 4, true
	case 0xd3:
		return strconv.AppendInt(dst, int64(binary.BigEndian.Uint64(b[p:])), 10), p + 8, true
	case 0xca:
		out, ok := appendJSONFloat(dst, float64(math.Float32frombits(binary.BigEndian.Uint32(b[p:]))), 64)
		return out, p + 4, ok
	case 0xcb:
		out, ok := appendJSONFloat(dst, math.Float64frombits(binary.BigEndian.Uint64(b[p:])), 64)
		return out, p + 8, ok
	case 0xd9, 0xc4, 0xda, 0xc5, 0xdb, 0xc6:
		s, end := w.str(p-1, t)
		return appendJSONString(dst, s), end, true
	case 0xdc:
		return w.array(dst, p+2, int(binary.BigEndian.Uint16(b[p:])))
	case 0xdd:
		return w.array(dst, p+4, int(binary.BigEndian.Uint32(b[p:])))
	case 0xde:
		return w.object(dst, p+2, int(binary.BigEndian.Uint16(b[p:])))
	case 0xdf:
		return w.object(dst, p+4, int(binary.BigEndian.Uint32(b[p:])))
	}
	return dst, p, false // extension types (and 0xc1, which the check refuses)
}

// str returns the bytes of the string or binary at p whose type byte is
// t, and where the next value starts (end < 0 when t is neither).
func (w *mpWriter) str(p int, t byte) (s []byte, end int) {
	b := w.b
	p++
	var n int
	switch t {
	case 0xd9, 0xc4:
		n, p = int(b[p]), p+1
	case 0xda, 0xc5:
		n, p = int(binary.BigEndian.Uint16(b[p:])), p+2
	case 0xdb, 0xc6:
		n, p = int(binary.BigEndian.Uint32(b[p:])), p+4
	default:
		if t < 0xa0 || t > 0xbf {
			return nil, -1
		}
		n = int(t & 0x1f)
	}
	return b[p : p+n], p + n
}

func (w *mpWriter) array(dst []byte, p, n int) ([]byte, int, bool) {
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, p, ok = w.value(dst, p); !ok {
			return dst, p, false
		}
	}
	return append(dst, ']'), p, true
}

// object writes a map of n entries with string keys, sorted as
// encoding/json sorts a map's keys; a duplicate or non-string key gives
// up.
func (w *mpWriter) object(dst []byte, p, n int) ([]byte, int, bool) {
	base := len(w.entries)
	defer func() { w.entries = w.entries[:base] }()
	sorted := true
	for i := range n {
		key, end := w.str(p, w.b[p])
		if end < 0 {
			return dst, p, false
		}
		if i > 0 && bytes.Compare(w.entries[len(w.entries)-1].key, key) >= 0 {
			sorted = false
		}
		w.entries = append(w.entries, mpEntry{key: key, val: end})
		p = w.skip(end)
	}
	// Nested maps push their entries above these (and may move the
	// stack), so index from base, not through a slice taken now.
	if !sorted {
		ents := w.entries[base:]
		slices.SortFunc(ents, func(a, b mpEntry) int { return bytes.Compare(a.key, b.key) })
		for i := 1; i < len(ents); i++ {
			if bytes.Equal(ents[i-1].key, ents[i].key) {
				return dst, p, false
			}
		}
	}
	dst = append(dst, '{')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		e := w.entries[base+i]
		dst = appendJSONString(dst, e.key)
		dst = append(dst, ':')
		var ok bool
		if dst, _, ok = w.value(dst, e.val); !ok {
			return dst, p, false
		}
	}
	return append(dst, '}'), p, true
}

// skip returns where the value at p ends.
func (w *mpWriter) skip(p int) int {
	b := w.b
	for left := 1; left > 0; left-- {
		t := b[p]
		p++
		switch {
		case t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3:
		case t >= 0x80 && t <= 0x8f:
			left += 2 * int(t&0x0f)
		case t >= 0x90 && t <= 0x9f:
			left += int(t & 0x0f)
		case t >= 0xa0 && t <= 0xbf:
			p += int(t & 0x1f)
		case t == 0xc4 || t == 0xd9:
			p += 1 + int(b[p])
		case t == 0xc5 || t == 0xda:
			p += 2 + int(binary.BigEndian.Uint16(b[p:]))
		case t == 0xc6 || t == 0xdb:
			p += 4 + int(binary.BigEndian.Uint32(b[p:]))
		case t == 0xc7:
			p += 2 + int(b[p])
		case t == 0xc8:
			p += 3 + int(binary.BigEndian.Uint16(b[p:]))
		case t == 0xc9:
			p += 5 + int(binary.BigEndian.Uint32(b[p:]))
		case t == 0xcc || t == 0xd0:
			p++
		case t == 0xcd || t == 0xd1:
			p += 2
		case t == 0xca || t == 0xce || t == 0xd2:
			p += 4
		case t == 0xcb || t == 0xcf || t == 0xd3:
			p += 8
		case t >= 0xd4 && t <= 0xd8:
			p += 1 + 1<<(t-0xd4)
		case t == 0xdc:
			left += int(binary.BigEndian.Uint16(b[p:]))
			p += 2
		case t == 0xdd:
			left += int(binary.BigEndian.Uint32(b[p:]))
			p += 4
		case t == 0xde:
			left += 2 * int(binary.BigEndian.Uint16(b[p:]))
			p += 2
		case t == 0xdf:
			left += 2 * int(binary.BigEndian.Uint32(b[p:]))
			p += 4
		}
	}
	return p
}

// appendJSONFloat formats f as encoding/json formats a float64 (bits 64)
// or a float32 (bits 32); NaN and the infinities, which it refuses, are
// not ok.
func appendJSONFloat(dst []byte, f float64, bits int) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// encoding/json writes e-7, not e-07.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

// swarJSONEscape is non-zero when any of the 8 bytes in x is one that
// appendJSONString does not copy as it is: what swarSpecial finds, and the
// HTML characters '<', '>' and '&'.
func swarJSONEscape(x uint64) uint64 {
	lt := x ^ swarOnes*'<'
	gt := x ^ swarOnes*'>'
	amp := x ^ swarOnes*'&'
	return swarSpecial(x) | (lt-swarOnes)&^lt&swarHighs | (gt-swarOnes)&^gt&swarHighs | (amp-swarOnes)&^amp&swarHighs
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (with HTML escaping, as json.Marshal does).
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time (a 2 KB column is mostly
		// plain text).
		for i+8 <= len(s) && swarJSONEscape(binary.LittleEndian.Uint64(s[i:])) == 0 {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
