package ui

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/tidwall/pretty"

	"github.com/kalamdash/kalamdash/theme"
)

// This file lays out a frame's detail text lazily.
//
// Rendering a large frame's detail whole (highlighting every line of its
// pretty JSON and measuring every line for wrapping) costs tens of
// milliseconds per megabyte, and selecting a frame, or following a stream
// of large ones, would pay it on every selection. So a selection only lays
// the text out: it pretty-prints the JSON (uncoloured), indexes where its
// lines start, measures them on the plain text (colour does not change
// widths) and wraps the few lines wider than the pane. The pane then
// highlights only the lines it shows. Highlighting a line needs the
// highlighter's state at its start (the stack of open objects and arrays,
// and whether a key comes next), which is recorded every markEvery lines:
// a window is highlighted from the mark before it, with the recorded stack
// rebuilt by a prefix of brackets that is cut from the result.
//
// The lines are byte-for-byte those of highlighting the whole text and
// wrapping every line (TestDetailLazyMatchesEagerRender).

// markEvery is how many source lines apart the highlighter state is
// recorded: a window is highlighted from at most this many lines before
// it.
const markEvery = 64

// maxHex is how much of a frame the hex view dumps: a hex dump of more is
// not readable anyway.
const maxHex = 64 << 10

// detailDoc is one frame's detail text laid out for one mode, width,
// reveal state and style: a few eager head lines, then body lines rendered
// on demand.
type detailDoc struct {
	head []string // the frame's problem, close code: rendered eagerly

	width int
	// src is the body: pretty JSON (uncoloured) or plain text, split at
	// starts; or, when hex is set, the wire bytes to dump.
	src    []byte
	starts []int
	hex    bool
	// js highlights JSON bodies (nil: shown as they are); marks[k] is the
	// highlighter's stack at the start of line k*markEvery.
	js    *pretty.Style
	marks [][]jsonLevel
	// mark is the Marker style's open and close sequences: highlighting
	// reopens a token's style after each marker (reopenAfterMarkers).
	mark [2]string
	// wraps are the source lines wider than width, wrapped, in order.
	wraps []wrappedLine
	body  int // body lines, wrapped
}

// jsonLevel is one open object or array as the highlighter tracks it: in
// an object, whether a key comes next.
type jsonLevel struct{ obj, key bool }

// wrappedLine is a source line wider than the pane, already wrapped; out
// is the body line of its first piece.
type wrappedLine struct {
	src, out int
	pieces   []string
}

// problemLine words a frame's Err: for an inbound WebSocket frame it is a
// decode problem; an outbound frame's (a failed write) and an HTTP
// exchange's say what went wrong themselves.
func problemLine(f Frame) string {
	if f.Dir == "in" && f.Opcode != "http" {
		return "decode problem: " + f.Err
	}
	return f.Err
}

// layoutDetail lays out a frame's detail text; js is jsonStyle(st). It does
// the work that does not depend on which lines are shown.
func layoutDetail(st theme.Styles, js *pretty.Style, f Frame, mode, width int, hide secrets) *detailDoc {
	d := &detailDoc{width: width}
	d.mark[0], d.mark[1] = stylePair(st.Marker)
	if f.Err != "" {
		d.head = append(d.head, safeIn(&st, st.Err, problemLine(f)))
	}
	if f.Opcode == "close" {
		d.head = append(d.head, safe(&st, fmt.Sprintf("close code %d %s", f.CloseCode, f.CloseReason)))
		if h := closeHint(f.CloseCode); h != "" {
			d.head = append(d.head, closeHintLines(st, h, width)...)
		}
	}
	switch mode {
	case modePretty:
		body := hide.mask(f.Decoded)
		if len(body) == 0 {
			body = hide.mask(f.Wire)
		}
		if len(body) == 0 {
			d.head = append(d.head, st.Muted.Render("(empty payload)"))
			return d
		}
		if json.Valid(body) {
			p := pretty.PrettyOptions(body, &pretty.Options{Width: max(width-2, 20), Indent: "  ", SortKeys: false})
			var hl *pretty.Style
			if st.Colour {
				hl = js
			}
			d.index(safeDoc(&st, bytes.TrimRight(p, "\n")), hl)
		} else {
			d.index(safeDoc(&st, body), nil)
		}
	case modeRaw:
		w := hide.mask(f.Wire)
		if !utf8.Valid(w) || f.Opcode == "binary" {
			d.head = append(d.head,
				safeIn(&st, st.Warn, fmt.Sprintf("binary frame (%s, %s on the wire): press v for hex", f.Encoding, humanBytes(int64(f.WireSize)))),
				st.Muted.Render("press c to reconnect with compress=false and read frames as text"))
			return d
		}
		d.index(safeDoc(&st, w), nil)
	case modeHex:
		w := f.Wire
		if utf8.Valid(w) {
			w = hide.mask(w)
		}
		if len(w) > maxHex {
			w = w[:maxHex]
		}
		d.src, d.hex = w, true
		d.body = max((len(w)+15)/16, 1) // an empty dump is one empty line
	}
	return d
}

// index splits src into lines, measures them for width, wraps those wider
// and, with js set, records the highlighter's state every markEvery lines.
func (d *detailDoc) index(src []byte, js *pretty.Style) {
	if d.width <= 0 {
		return // no room: no body lines
	}
	d.src, d.js = src, js
	d.starts = make([]int, 1, bytes.Count(src, []byte{'\n'})+1)
	var stack []jsonLevel
	if js != nil {
		d.marks = append(d.marks, nil)
	}
	var long []int       // source lines wider than width
	var longPlain []bool // … and whether they are printable ASCII
	start, plain := 0, true
	endLine := func(end int) {
		l := src[start:end]
		fits := len(l) <= d.width
		if !plain {
			fits = cellWidth(string(l)) <= d.width && !bytes.ContainsAny(l, "\t\r")
		}
		if !fits {
			long, longPlain = append(long, len(d.starts)-1), append(longPlain, plain)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			endLine(i)
			start, plain = i+1, true
			d.starts = append(d.starts, start)
			if js != nil && (len(d.starts)-1)%markEvery == 0 {
				d.marks = append(d.marks, append([]jsonLevel(nil), stack...))
			}
			continue
		}
		if c < 0x20 || c >= 0x7f {
			plain = false
		}
		if js == nil {
			continue
		}
		// Track what pretty.Color tracks: strings, brackets, and whether
		// a key or a value comes next in an object.
		switch c {
		case '"':
			for i++; i < len(src); i++ {
				c := src[i]
				if c == '\n' {
					i-- // not valid JSON; keep the line count right anyway
					break
				}
				if c < 0x20 || c >= 0x7f {
					plain = false
				}
				if c == '\\' {
					i++
					continue
				}
				if c == '"' {
					break
				}
			}
		case '{', '[':
			stack = append(stack, jsonLevel{obj: c == '{', key: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ':', ',':
			if n := len(stack); n > 0 && stack[n-1].obj {
				stack[n-1].key = !stack[n-1].key
			}
		}
	}
	endLine(len(src))
	d.body = len(d.starts)
	// Wide lines are highlighted a mark block at a time: a frame whose
	// lines are mostly wide highlights each line once, not once per line
	// since its mark.
	block, blockLines := -1, []string(nil)
	for i, s := range long {
		var l string
		switch k := s / markEvery; {
		case js == nil:
			l = d.srcLines(s, s+1)[0]
		case k != block:
			block, blockLines = k, d.srcLines(k*markEvery, min(k*markEvery+markEvery, len(d.starts)))
			fallthrough
		default:
			l = blockLines[s%markEvery]
		}
		var w string
		if longPlain[i] && js == nil {
			// Printable ASCII holds no escape sequence, so lipgloss.Wrap's
			// style-carrying pass would copy ansi.Wrap's output unchanged
			// (and take three times as long doing it).
			w = ansi.Wrap(l, d.width, "")
		} else {
			w = lipgloss.Wrap(l, d.width, "")
		}
		pieces := strings.Split(w, "\n")
		d.wraps = append(d.wraps, wrappedLine{src: s, out: s + d.body - len(d.starts), pieces: pieces})
		d.body += len(pieces) - 1
	}
}

// len is the number of lines, head and body.
func (d *detailDoc) len() int {
	if d == nil {
		return 0
	}
	return len(d.head) + d.body
}

// lines renders lines [from, to) (head lines first, then the body's).
func (d *detailDoc) lines(from, to int) []string {
	from, to = max(from, 0), min(to, d.len())
	if from >= to {
		return nil
	}
	out := make([]string, 0, to-from)
	for ; from < to && from < len(d.head); from++ {
		out = append(out, d.head[from])
	}
	if from >= to {
		return out
	}
	a, b := from-len(d.head), to-len(d.head)
	if d.hex {
		for i := a; i < b; i++ {
			out = append(out, truncate(d.hexLine(i), d.width))
		}
		return out
	}
	// The source lines the window covers, rendered together; wrapped
	// lines take their pieces instead.
	sa, _, _ := d.locate(a)
	sb, _, _ := d.locate(b - 1)
	src := d.srcLines(sa, sb+1)
	for o := a; o < b; o++ {
		s, piece, w := d.locate(o)
		if w != nil {
			out = append(out, w.pieces[piece])
		} else {
			out = append(out, src[s-sa])
		}
	}
	return out
}

// locate finds body line o's source line and, when that line is wrapped,
// its wrapping and which piece o is.
func (d *detailDoc) locate(o int) (src, piece int, w *wrappedLine) {
	j := sort.Search(len(d.wraps), func(j int) bool { return d.wraps[j].out > o }) - 1
	if j < 0 {
		return o, 0, nil
	}
	w = &d.wraps[j]
	if o < w.out+len(w.pieces) {
		return w.src, o - w.out, w
	}
	return w.src + 1 + (o - w.out - len(w.pieces)), 0, nil
}

// srcLines renders source lines [a, b): highlighted when js is set.
func (d *detailDoc) srcLines(a, b int) []string {
	end := func(i int) int { // end of line i, before its newline
		if i+1 < len(d.starts) {
			return d.starts[i+1] - 1
		}
		return len(d.src)
	}
	if d.js == nil {
		out := make([]string, 0, b-a)
		for i := a; i < b; i++ {
			out = append(out, string(d.src[d.starts[i]:end(i)]))
		}
		return out
	}
	k := a / markEvery
	m := k * markEvery
	// Rebuild the stack at line m: open each level, and flip an object's
	// key flag with ':' when a value comes next.
	var prefix []byte
	for _, l := range d.marks[k] {
		switch {
		case !l.obj:
			prefix = append(prefix, '[')
		case l.key:
			prefix = append(prefix, '{')
		default:
			prefix = append(prefix, '{', ':')
		}
	}
	cut := len(pretty.Color(prefix, d.js))
	text := append(prefix, d.src[d.starts[m]:end(b-1)]...)
	col := reopenAfterMarkers(string(pretty.Color(text, d.js)[cut:]), d.mark[0], d.mark[1])
	lines := strings.Split(col, "\n")
	return lines[a-m : b-m]
}

// hexLine is line i of hex.Dump(d.src).
func (d *detailDoc) hexLine(i int) string {
	if len(d.src) == 0 {
		return ""
	}
	chunk := d.src[16*i : min(16*i+16, len(d.src))]
	l := strings.TrimRight(hex.Dump(chunk), "\n")
	return fmt.Sprintf("%08x", 16*i) + l[8:]
}
