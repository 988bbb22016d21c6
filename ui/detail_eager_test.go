package ui

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/tidwall/pretty"

	"github.com/kalamdash/kalamdash/theme"
)

// This file keeps the detail pane's eager render, as it was before the
// pane rendered lazily (detaildoc.go): the reference the lazy lines must
// equal byte for byte. (Since then the close hint wraps, and outside text
// is made safe before it is measured: safeIn, safeDoc.)

// renderDetail renders a frame's lines; js is jsonStyle(st).
func renderDetail(st theme.Styles, js *pretty.Style, f Frame, mode, width int, hide secrets) []string {
	var out []string
	if f.Err != "" {
		out = append(out, safeIn(&st, st.Err, problemLine(f)))
	}
	if f.Opcode == "close" {
		out = append(out, safe(&st, fmt.Sprintf("close code %d %s", f.CloseCode, f.CloseReason)))
		if h := closeHint(f.CloseCode); h != "" {
			out = append(out, closeHintLines(st, h, width)...)
		}
	}
	switch mode {
	case modePretty:
		body := hide.mask(f.Decoded)
		if len(body) == 0 {
			body = hide.mask(f.Wire)
		}
		if len(body) == 0 {
			return append(out, st.Muted.Render("(empty payload)"))
		}
		if json.Valid(body) {
			p := pretty.PrettyOptions(body, &pretty.Options{Width: max(width-2, 20), Indent: "  ", SortKeys: false})
			p = safeDoc(&st, p)
			if st.Colour {
				open, close := stylePair(st.Marker)
				p = []byte(reopenAfterMarkers(string(pretty.Color(p, js)), open, close))
			}
			out = append(out, wrapLines(strings.TrimRight(string(p), "\n"), width)...)
		} else {
			out = append(out, wrapLines(string(safeDoc(&st, body)), width)...)
		}
	case modeRaw:
		w := hide.mask(f.Wire)
		if !utf8.Valid(w) || f.Opcode == "binary" {
			out = append(out, safeIn(&st, st.Warn, fmt.Sprintf("binary frame (%s, %s on the wire): press v for hex", f.Encoding, humanBytes(int64(f.WireSize)))),
				st.Muted.Render("press c to reconnect with compress=false and read frames as text"))
			return out
		}
		out = append(out, wrapLines(string(safeDoc(&st, w)), width)...)
	case modeHex:
		w := f.Wire
		if utf8.Valid(w) {
			w = hide.mask(w)
		}

		if len(w) > maxHex {
			w = w[:maxHex]
		}
		for _, l := range strings.Split(strings.TrimRight(hex.Dump(w), "\n"), "\n") {
			out = append(out, truncate(l, width))
		}
	}
	return out
}

// wrapLines hard-wraps text at width cells, keeping ANSI sequences intact.
// Lines that fit are kept as they are (most lines of pretty JSON): the
// wrapper is the costly part of rendering a large frame.
func wrapLines(s string, width int) []string {
	if width <= 0 {
		return nil
	}
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if cellWidth(l) <= width && !strings.ContainsAny(l, "\t\r") {
			out = append(out, l)
			continue
		}
		w := lipgloss.Wrap(l, width, "")
		out = append(out, strings.Split(w, "\n")...)
	}
	return out
}
