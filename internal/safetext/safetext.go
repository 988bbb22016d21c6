// Package safetext makes text from outside kalamdash safe to put on a
// terminal. Rows, column names, error messages, close reasons, claims,
// headers, recordings and token-command output are written by whoever
// controls a server, a file or a command, and a terminal obeys the control
// characters in what it prints: an escape sequence can recolour the screen,
// clear it, set the window title, write the clipboard (OSC 52) or make a
// link, and a carriage return or newline can overwrite or split the
// dashboard's layout. Bidirectional overrides reorder what the reader sees
// (Trojan Source, CVE-2021-42574).
//
// Every such character is replaced by a visible marker, so hostile text is
// shown exactly and harmlessly: ESC as ␛, newline as ⏎, carriage return as
// ␍, tab as ⇥, other C0 controls and DEL as \xNN, C1 controls and Unicode
// bidirectional and line-separator controls as <U+XXXX>, and each byte of
// invalid UTF-8 as \xNN. Everything else passes unchanged, so the width of
// the result can be measured as usual; every marker is a single-width
// sequence of printable runes.
//
// The package has no dependencies: the dashboard styles markers (see
// Pieces), and the headless commands print them plain (Line, Writer).
package safetext

import (
	"fmt"
	"io"
	"iter"
	"unicode/utf8"
)

// Clean reports whether s can go to a terminal on one line as it is: valid
// UTF-8 without controls of any kind. Printable ASCII, the common case, is
// decided by one pass over the bytes.
func Clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return cleanFrom(s, i, false)
		}
	}
	return true
}

// cleanFrom checks s from byte i on, where the first non-printable-ASCII
// byte is; keepNewlines allows '\n'. Valid UTF-8 is checked in one pass;
// then only the lead bytes of the unsafe runes (0xC2: C1, 0xD8: ALM, 0xE2:
// the bidi and separator controls) need decoding, as continuation bytes
// never take those values.
func cleanFrom(s string, i int, keepNewlines bool) bool {
	if !utf8.ValidString(s[i:]) {
		return false
	}
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20:
			if c != '\n' || !keepNewlines {
				return false
			}
		case c == 0x7f:
			return false
		case c == 0xc2, c == 0xd8, c == 0xe2:
			if r, _ := utf8.DecodeRuneInString(s[i:]); unsafeRune(r) {
				return false
			}
		}
	}
	return true
}

// unsafeRune reports whether a valid non-ASCII rune is one that changes
// how a terminal lays out or orders text: C1 controls, the Unicode
// Bidi_Control characters (embeddings, overrides, isolates and marks) and
// the line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1: CSI, OSC, NEL… in 8-bit form
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // ALM, LRM, RLM
		return true
	case r >= 0x202a && r <= 0x202e: // LRE RLE PDF LRO RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI RLI FSI PDI
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// Pieces splits s into runs of text that is safe as it is and markers that
// stand for unsafe characters; marker is true for the latter, which the
// dashboard draws in a style of their own. With keepNewlines, '\n' stays in
// the text runs (multi-line documents); otherwise it is a marker too.
// Clean text is one piece, s itself.
func Pieces(s string, keepNewlines bool) iter.Seq2[string, bool] {
	return func(yield func(string, bool) bool) {
		for text, bad := range units(s, keepNewlines) {
			if bad {
				text = marker(text)
			}
			if !yield(text, bad) {
				return
			}
		}
	}
}

// units splits s into runs of safe text (bad false) and single unsafe
// units (bad true): one control rune, or one byte of invalid UTF-8.
func units(s string, keepNewlines bool) iter.Seq2[string, bool] {
	return func(yield func(string, bool) bool) {
		start := 0
		for i := 0; i < len(s); {
			c := s[i]
			if c >= 0x20 && c < 0x7f || c == '\n' && keepNewlines {
				i++
				continue
			}
			n := 1
			if c >= utf8.RuneSelf {
				r, size := utf8.DecodeRuneInString(s[i:])
				if r != utf8.RuneError || size != 1 {
					n = size
					if !unsafeRune(r) {
						i += n
						continue
					}
				}
			}
			if start < i && !yield(s[start:i], false) {
				return
			}
			if !yield(s[i:i+n], true) {
				return
			}
			i += n
			start = i
		}
		if start < len(s) {
			yield(s[start:], false)
		}
	}
}

// marker returns the marker of one unsafe unit (see units).
func marker(u string) string {
	if len(u) == 1 {
		return asciiMarker(u[0])
	}
	r, _ := utf8.DecodeRuneInString(u)
	return fmt.Sprintf("<U+%04X>", r)
}

// Line returns s on one line with every unsafe character replaced by its
// marker: the form for window titles and headless output. Clean text is
// returned as it is, without allocating.
func Line(s string) string { return replace(s, false) }

// Text is Line for multi-line text: newlines are kept.
func Text(s string) string { return replace(s, true) }

func replace(s string, keepNewlines bool) string {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			break
		}
	}
	if i == len(s) || cleanFrom(s, i, keepNewlines) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for p := range Pieces(s, keepNewlines) {
		b = append(b, p...)
	}
	return string(b)
}

// asciiMarker is the marker of a C0 control, DEL or an invalid byte.
func asciiMarker(c byte) string {
	switch c {
	case 0x1b:
		return "␛"
	case '\n':
		return "⏎"
	case '\r':
		return "␍"
	case '\t':
		return "⇥"
	}
	return byteMarker(c)
}

// byteMarker shows one byte as \xNN.
func byteMarker(c byte) string {
	const hex = "0123456789abcdef"
	return string([]byte{'\\', 'x', hex[c>>4], hex[c&0xf]})
}

// JSON makes a JSON document safe to print: every unsafe character but
// newline becomes a \uXXXX escape, which inside a JSON string means the
// character itself, so the document stays valid and equal (encoding/json
// escapes C0 controls itself but writes DEL, C1 controls and bidi controls
// raw). An invalid byte, which JSON cannot hold, becomes \ufffd.
func JSON(s string) string {
	if Text(s) == s {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for text, bad := range units(s, true) {
		if !bad {
			b = append(b, text...)
			continue
		}
		r, n := utf8.DecodeRuneInString(text)
		if r == utf8.RuneError && n == 1 {
			r = utf8.RuneError
		}
		b = fmt.Appendf(b, `\u%04x`, r)
	}
	return string(b)
}

// Writer neutralises what is written through it, keeping newlines: for log
// files, listings and other line-oriented output that may hold outside
// text. A character cut in two by the writes is put together again before
// it is judged.
type Writer struct {
	w    io.Writer
	json bool
	tail []byte // the start of a character cut off at the end of a Write
}

// NewWriter returns a Writer that writes markers (see Text).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// NewJSONWriter returns a Writer for a JSON stream (JSON Lines, a HAR
// document) shown on a terminal: it writes JSON escapes (see JSON), so the
// stream stays valid and equal.
func NewJSONWriter(w io.Writer) *Writer { return &Writer{w: w, json: true} }

// Write writes p made safe. It reports len(p) on success, as io.Writer
// requires, holding back the bytes of a character p ends inside of.
func (w *Writer) Write(p []byte) (int, error) {
	buf := append(w.tail, p...)
	cut := len(buf)
	for i := len(buf) - 1; i >= 0 && i >= len(buf)-utf8.UTFMax+1; i-- {
		if buf[i]&0xc0 != 0x80 { // the last character's first byte
			if !utf8.FullRune(buf[i:]) {
				cut = i
			}
			break
		}
	}
	if err := w.write(buf[:cut]); err != nil {
		return 0, err
	}
	w.tail = append([]byte(nil), buf[cut:]...)
	return len(p), nil
}

// Flush writes the bytes held back by Write (a character that never got
// its end shows as \xNN markers).
func (w *Writer) Flush() error {
	b := w.tail
	w.tail = nil
	return w.write(b)
}

func (w *Writer) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	if w.json {
		s = JSON(s)
	} else {
		s = Text(s)
	}
	_, err := io.WriteString(w.w, s)
	return err
}
