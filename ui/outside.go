package ui

import (
	"bytes"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/theme"
)

// This file is where text from outside the dashboard becomes screen text.
//
// Everything a backend returns (rows, column names, errors, close reasons,
// claims, frame types, subscription ids, profile and tab names) may hold
// control characters: an escape sequence would restyle the screen or set
// the window title, a newline or carriage return would break the layout.
// So every such string goes through safe or safeIn where it becomes a cell,
// a line or a title: safetext replaces each unsafe character by a marker,
// drawn here in the theme's Marker style. Widths are measured on the
// result, so the layout counts the markers' cells.

// safe returns outside text s for display, unstyled but for its markers.
// Clean text (nearly all of it) is returned as it is.
func safe(st *theme.Styles, s string) string {
	if safetext.Clean(s) {
		return s
	}
	open, close := stylePair(st.Marker) // a marker is one word: Render adds just these
	var b strings.Builder
	for p, marker := range safetext.Pieces(s, false) {
		if marker {
			b.WriteString(open)
			b.WriteString(p)
			b.WriteString(close)
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}

// safeIn returns outside text s for display in style.
func safeIn(st *theme.Styles, style lipgloss.Style, s string) string {
	return within(style, safe(st, s))
}

// safeDoc returns a multi-line outside document (a frame payload) for
// display: as safe, but newlines stay line breaks, and so do CRLF line
// ends (HTTP exchanges are written with them); a lone CR is a marker.
func safeDoc(st *theme.Styles, b []byte) []byte {
	if bytes.Contains(b, []byte("\r\n")) {
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	s := string(b)
	if safetext.Text(s) == s {
		return b
	}
	open, close := stylePair(st.Marker)
	var out []byte
	for p, marker := range safetext.Pieces(s, true) {
		if marker {
			out = append(out, open...)
			out = append(out, p...)
			out = append(out, close...)
		} else {
			out = append(out, p...)
		}
	}
	return out
}

// reopenAfterMarkers repairs highlighted text (pretty JSON) whose strings
// hold markers: each marker ends with a full reset, so the style of the
// token around it (a key's, a string's) is opened again after it. open
// and close are the Marker style's sequences (stylePair).
func reopenAfterMarkers(s, open, close string) string {
	if open == "" || !strings.Contains(s, open) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	cur := "" // the style opened last and not reset since
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, open):
			end := strings.Index(s[len(open):], close)
			if end < 0 {
				b.WriteString(s)
				return b.String()
			}
			n := len(open) + end + len(close)
			b.WriteString(s[:n])
			b.WriteString(cur)
			s = s[n:]
		case strings.HasPrefix(s, "\x1b["):
			n := strings.IndexByte(s, 'm') + 1
			if n == 0 {
				n = len(s)
			}
			if seq := s[:n]; seq == reset {
				cur = ""
			} else {
				cur = seq
			}
			b.WriteString(s[:n])
			s = s[n:]
		default:
			n := strings.IndexByte(s[1:], 0x1b) + 1
			if n == 0 {
				n = len(s)
			}
			b.WriteString(s[:n])
			s = s[n:]
		}
	}
	return b.String()
}

// reset is how lipgloss ends every styled run.
const reset = "\x1b[m"

// within renders s in style when s may already hold styled runs (markers,
// arrows, NULL): each run ends with a full reset, after which style's own
// attributes are opened again, so the rest of s keeps the style (a
// selected row keeps its background after a marker).
//
// s is not handed to style.Render as it is: for an underlined or struck
// style lipgloss styles each grapheme on its own (open, grapheme, reset),
// and that reset would end an inner run after its first letter (a NULL
// in an underlined row lost its italics after the N). So style renders a
// one-letter probe, which gives the shell (padding included) with the
// probe between the style's opener and its reset, and s, reopened after
// each of its resets, takes the probe's place. Lines are composed one by
// one; callers pass lines already fitted to their width.
func within(style lipgloss.Style, s string) string {
	if !strings.Contains(s, reset) {
		return style.Render(s)
	}
	open, _ := stylePair(lipgloss.NewStyle().Inherit(style)) // without padding
	shell := style.Render("x")
	at := strings.IndexByte(shell, 'x') // SGR sequences hold no letter but m
	if open == "" || at < 0 {
		return style.Render(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = shell[:at] + strings.ReplaceAll(l, reset, reset+open) + shell[at+1:]
	}
	return strings.Join(lines, "\n")
}

// stylePair returns the sequences style opens and closes a one-word run
// with. (The probe is a letter: lipgloss leaves some styles off control
// characters.)
func stylePair(s lipgloss.Style) (open, close string) {
	out := s.Render("x")
	i := strings.IndexByte(out, 'x') // SGR sequences hold no letter but m
	if i < 0 {
		return "", ""
	}
	return out[:i], out[i+1:]
}
