package client

// This file is the read loop's fast path for the messages that carry rows
// (change and initial_data_batch): one pass over the frame that builds the
// same *ServerMessage encoding/json would (UseNumber, rows as Row maps)
// with a fraction of its work. encoding/json scans a frame twice (once to
// find its end, once to decode), byte by byte through a state machine;
// at 2 KB rows that was 40% of the dashboard's CPU (bench/RESULTS.md).
//
// The scanner only takes frames it is sure to decode exactly as
// encoding/json does. Anything else — a key it does not know (including a
// differently-cased one, which encoding/json would match), a duplicate
// key, a type it does not expect, a syntax error, deep nesting — makes it
// give up, and parseServerMessage decodes the frame with encoding/json
// instead, so errors and rare messages keep their exact behaviour.
// FuzzScanRowMessage checks the two agree on every input.

import (
	"encoding/binary"
	"encoding/json"
	"unicode/utf8"
)

// maxScanDepth bounds the scanner's recursion into nested row values;
// deeper documents go to encoding/json (which allows 10 000 levels).
const maxScanDepth = 100

// scanRowMessage decodes b if it is a JSON object made only of the keys
// type, subscription_id, change_type, rows, old_values and batch_control,
// each at most once. ok is false when the frame must be decoded by
// encoding/json instead (see the file comment).
func scanRowMessage(b []byte, keys *keyIntern) (m *ServerMessage, ok bool) {
	s := rowScanner{b: b, keys: keys}
	s.space()
	if !s.eat('{') {
		return nil, false
	}
	m = &ServerMessage{}
	var seen uint8
	for {
		s.space()
		key, ok := s.plainKey()
		if !ok {
			return nil, false
		}
		s.space()
		if !s.eat(':') {
			return nil, false
		}
		s.space()
		var bit uint8
		switch string(key) { // no allocation: the compiler compares in place
		case "type":
			bit = 1
			m.Type, ok = s.stringValue()
		case "subscription_id":
			bit = 2
			m.SubscriptionID, ok = s.stringValue()
		case "change_type":
			bit = 4
			m.ChangeType, ok = s.stringValue()
		case "rows":
			bit = 8
			m.Rows, ok = s.rows()
		case "old_values":
			bit = 16
			m.OldValues, ok = s.rows()
		case "batch_control":
			bit = 32
			m.BatchControl, ok = s.batchControl()
		default:
			return nil, false
		}
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		s.space()
		if s.eat(',') {
			continue
		}
		if !s.eat('}') {
			return nil, false
		}
		break
	}
	s.space()
	return m, s.i == len(s.b)
}

// rowScanner walks one JSON document; i is the next unread byte.
type rowScanner struct {
	b     []byte
	i     int
	depth int
	keys  *keyIntern // nil: no interning
}

// keyIntern hands out one string per distinct object key, so the column
// names of a socket's rows are allocated once, not once per row. A socket's
// read loop owns one; it stops growing at maxInternKeys.
type keyIntern struct {
	m map[string]string
}

const (
	maxInternKeys   = 512
	maxInternKeyLen = 64
)

// key returns the interned string for the plain key bytes k.
func (in *keyIntern) key(k []byte) string {
	if s, ok := in.m[string(k)]; ok { // no allocation for the lookup
		return s
	}
	s := string(k)
	if len(k) <= maxInternKeyLen && len(in.m) < maxInternKeys {
		if in.m == nil {
			in.m = make(map[string]string)
		}
		in.m[s] = s
	}
	return s
}

func (s *rowScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c if it is the next byte.
func (s *rowScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal consumes word (true, false, null) if it comes next.
func (s *rowScanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// plainKey reads an object key without escapes or non-ASCII bytes and
// returns its bytes (not copied).
func (s *rowScanner) plainKey() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		if c == '"' {
			s.i++
			return s.b[start : s.i-1], true
		}
		if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			return nil, false
		}
	}
	return nil, false
}

// objectKey reads a key inside a row: interned when it is plain ASCII,
// otherwise decoded like any string.
func (s *rowScanner) objectKey() (string, bool) {
	if s.keys != nil {
		save := s.i
		if k, ok := s.plainKey(); ok {
			return s.keys.key(k), true
		}
		s.i = save
	}
	return s.stringValue()
}

// SWAR constants: one byte repeated across a uint64.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// swarSpecial is non-zero when any of the 8 bytes in x ends or complicates
// a JSON string: a control byte (< 0x20), '"', '\\' or a non-ASCII byte.
// Each test is exact about whether some byte matches (the classic
// has-zero/has-less tricks only misreport bytes above a true match).
func swarSpecial(x uint64) uint64 {
	less := (x - swarOnes*0x20) & ^x & swarHighs
	q := x ^ swarOnes*'"'
	quote := (q - swarOnes) & ^q & swarHighs
	bs := x ^ swarOnes*'\\'
	slash := (bs - swarOnes) & ^bs & swarHighs
	return less | quote | slash | x&swarHighs
}

// stringValue reads a JSON string. Strings without escapes that are valid
// UTF-8 are copied as they are (what encoding/json returns for them);
// others are unquoted by encoding/json itself, so escapes and invalid
// UTF-8 (replaced by U+FFFD) come out identically.
func (s *rowScanner) stringValue() (string, bool) {
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return "", false
	}
	start := s.i
	i := s.i + 1
	plain := true
	for {
		for i+8 <= len(b) && swarSpecial(binary.LittleEndian.Uint64(b[i:])) == 0 {
			i += 8
		}
		if i >= len(b) {
			return "", false
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			if plain {
				return string(b[start+1 : i]), true
			}
			var out string
			if json.Unmarshal(b[start:i+1], &out) != nil {
				return "", false
			}
			return out, true
		case c == '\\':
			plain = false
			i += 2 // the escaped byte cannot end the string; \u digits are plain bytes
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			i += size
		default:
			i++
		}
	}
}

// number reads a JSON number as encoding/json's UseNumber does: its text.
func (s *rowScanner) number() (json.Number, bool) {
	b, start := s.b, s.i
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(b) && b[s.i] >= '1' && b[s.i] <= '9':
		s.digits()
	default:
		return "", false
	}
	if s.eat('.') && !s.digits() {
		return "", false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return "", false
		}
	}
	return json.Number(b[start:s.i]), true
}

// digits consumes one or more decimal digits.
func (s *rowScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// value reads any JSON value as encoding/json decodes it into an `any`
// with UseNumber.
func (s *rowScanner) value() (any, bool) {
	if s.i >= len(s.b) {
		return nil, false
	}
	switch c := s.b[s.i]; c {
	case '"':
		return s.stringValue()
	case '{':
		m, ok := s.object(0)
		return map[string]any(m), ok
	case '[':
		return s.array()
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	case 'n':
		return nil, s.literal("null")
	default:
		return s.number()
	}
}

// object reads a JSON object into a new map sized for hint keys.
func (s *rowScanner) object(hint int) (map[string]any, bool) {
	if !s.eat('{') || s.depth >= maxScanDepth {
		return nil, false
	}
	s.depth++
	defer func() { s.depth-- }()
	m := make(map[string]any, hint)
	s.space()
	if s.eat('}') {
		return m, true
	}
	for {
		s.space()
		k, ok := s.objectKey()
		if !ok {
			return nil, false
		}
		s.space()
		if !s.eat(':') {
			return nil, false
		}
		s.space()
		v, ok := s.value()
		if !ok {
			return nil, false
		}
		m[k] = v
		s.space()
		if s.eat(',') {
			continue
		}
		return m, s.eat('}')
	}
}

// array reads a JSON array into a new (never nil) slice.
func (s *rowScanner) array() ([]any, bool) {
	if !s.eat('[') || s.depth >= maxScanDepth {
		return nil, false
	}
	s.depth++
	defer func() { s.depth-- }()
	a := make([]any, 0)
	s.space()
	if s.eat(']') {
		return a, true
	}
	for {
		s.space()
		v, ok := s.value()
		if !ok {
			return nil, false
		}
		a = append(a, v)
		s.space()
		if s.eat(',') {
			continue
		}
		return a, s.eat(']')
	}
}

// rows reads null (no rows) or an array whose elements are objects or
// null, as encoding/json fills a []Row.
func (s *rowScanner) rows() ([]Row, bool) {
	if s.literal("null") {
		return nil, true
	}
	if !s.eat('[') {
		return nil, false
	}
	rows := make([]Row, 0)
	s.space()
	if s.eat(']') {
		return rows, true
	}
	width := 0 // keys in the previous row: rows of a query share their shape
	for {
		s.space()
		if s.literal("null") {
			rows = append(rows, nil)
		} else {
			r, ok := s.object(width)
			if !ok {
				return nil, false
			}
			rows = append(rows, r)
			width = len(r)
		}
		s.space()
		if s.eat(',') {
			continue
		}
		return rows, s.eat(']')
	}
}

// batchControl reads null or a batch_control object; the object itself
// (small, once per batch) is decoded by encoding/json.
func (s *rowScanner) batchControl() (*BatchControl, bool) {
	if s.literal("null") {
		return nil, true
	}
	start := s.i
	if _, ok := s.object(0); !ok {
		return nil, false
	}
	bc := new(BatchControl)
	if json.Unmarshal(s.b[start:s.i], bc) != nil {
		return nil, false
	}
	return bc, true
}
