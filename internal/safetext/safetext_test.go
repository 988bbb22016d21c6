package safetext_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/internal/safetext"
)

func TestLineMarkers(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"héllo wörld ✓ 日本", "héllo wörld ✓ 日本"},
		{"A\x1b]0;PWNED-TITLE\x07B\x1b[2J\x1b[31mRED", `A␛]0;PWNED-TITLE\x07B␛[2J␛[31mRED`},
		{"line1\nline2\rCR", "line1⏎line2␍CR"},
		{"a\tb", "a⇥b"},
		{"nul\x00 del\x7f", `nul\x00 del\x7f`},
		{"c1 \u009b31m nel\u0085", "c1 <U+009B>31m nel<U+0085>"},
		{"abc\u202edcba\u2066x\u2069", "abc<U+202E>dcba<U+2066>x<U+2069>"},
		{"lrm\u200e rlm\u200f alm\u061c", "lrm<U+200E> rlm<U+200F> alm<U+061C>"},
		{"ls\u2028ps\u2029", "ls<U+2028>ps<U+2029>"},
		{"bad \xff\xfe utf8 \xe2\x82", `bad \xff\xfe utf8 \xe2\x82`},
		{"", ""},
	} {
		if got := safetext.Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
		if got, want := safetext.Clean(c.in), c.in == c.want; got != want {
			t.Errorf("Clean(%q) = %v, want %v", c.in, got, want)
		}
	}
}

func TestTextKeepsNewlines(t *testing.T) {
	if got, want := safetext.Text("a\nb\r\n\x1b[1m"), "a\nb␍\n␛[1m"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got := safetext.Text("a\nb"); got != "a\nb" {
		t.Errorf("Text changed clean multi-line text: %q", got)
	}
}

func TestPiecesMarkMarkers(t *testing.T) {
	var text, marks []string
	for p, m := range safetext.Pieces("a\x1b[31mb\u202e", false) {
		if m {
			marks = append(marks, p)
		} else {
			text = append(text, p)
		}
	}
	if strings.Join(text, "|") != "a|[31mb" || strings.Join(marks, "|") != "␛|<U+202E>" {
		t.Errorf("text %q, markers %q", text, marks)
	}
	n := 0
	for range safetext.Pieces("a\x1bb\x1bc", false) {
		n++
		break // the iterator must stop when asked
	}
	if n != 1 {
		t.Errorf("Pieces kept yielding after break")
	}
}

func TestMarkersAreSingleWidthPrintable(t *testing.T) {
	for c := 0; c < 0x100; c++ {
		in := string([]byte{byte(c)})
		out := safetext.Line(in)
		if !safetext.Clean(out) {
			t.Errorf("marker of %#x is not clean: %q", c, out)
		}
		if w := ansi.StringWidth(out); w != utf8.RuneCountInString(out) {
			t.Errorf("marker of %#x is %d cells for %d runes", c, w, utf8.RuneCountInString(out))
		}
	}
}

func TestWriterKeepsLines(t *testing.T) {
	var b bytes.Buffer
	w := safetext.NewWriter(&b)
	in := []byte("GET /\x1b]52;c;aGk=\x07 ok\n")
	n, err := w.Write(in)
	if err != nil || n != len(in) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got, want := b.String(), "GET /␛]52;c;aGk=\\x07 ok\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

// FuzzLine checks the sanitiser's promises on any input: the result is
// clean, sanitising is idempotent, clean input is unchanged, nothing is
// lost (every input byte is either kept or stands behind a marker), and
// Text differs from Line only in keeping newlines.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "ok", "A\x1b]0;PWNED-TITLE\x07B\x1b[2J\x1b[31mRED", "line1\nline2\rCR",
		"\xff\u202e\u0085\x7f\t", "日本\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := safetext.Line(s)
		if !safetext.Clean(l) {
			t.Fatalf("Line(%q) = %q is not clean", s, l)
		}
		if safetext.Line(l) != l {
			t.Fatalf("Line is not idempotent on %q", s)
		}
		if safetext.Clean(s) != (l == s) {
			t.Fatalf("Clean(%q) = %v but Line gives %q", s, safetext.Clean(s), l)
		}
		if strings.ContainsAny(l, "\n\r\x1b\x07") {
			t.Fatalf("Line(%q) = %q holds a control", s, l)
		}
		if txt := safetext.Text(s); strings.ReplaceAll(txt, "\n", "⏎") != l {
			t.Fatalf("Text(%q) = %q, Line = %q", s, txt, l)
		}
		var kept int
		for p, m := range safetext.Pieces(s, false) {
			if !m {
				kept += len(p)
				if !strings.Contains(s, p) {
					t.Fatalf("piece %q is not from %q", p, s)
				}
			}
		}
		if kept > len(s) {
			t.Fatalf("pieces hold more than the input")
		}
	})
}

var sink string

// cleanASCII is a typical row cell: printable ASCII only.
const cleanASCII = "1042 click {\"x\":12,\"y\":40} 2026-11-28T12:00:00Z some longer cell text"

// BenchmarkLine is Line on text with nothing to neutralise (ASCII, then
// Unicode) and on hostile text full of controls.
func BenchmarkLine(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"clean-ascii", cleanASCII},
		{"clean-unicode", "héllo wörld ✓ 日本語のテキスト — naïve café"},
		{"hostile", "A\x1b]0;PWNED-TITLE\x07B\x1b[2J\x1b[31mRED line1\nline2\rCR"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = safetext.Line(bc.s)
			}
		})
	}
}

func BenchmarkCleanASCII(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !safetext.Clean(cleanASCII) {
			b.Fatal("not clean")
		}
	}
}

func TestJSONKeepsDocumentsValidAndEqual(t *testing.T) {
	in := "{\n  \"body\": \"x\u0085y\u202e\x7f\",\n  \"ok\": \"plain\"\n}"
	got := safetext.JSON(in)
	if want := "{\n  \"body\": \"x\\u0085y\\u202e\\u007f\",\n  \"ok\": \"plain\"\n}"; got != want {
		t.Fatalf("JSON = %q, want %q", got, want)
	}
	var a, b map[string]string
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(got), &b); err != nil || a["body"] != b["body"] {
		t.Fatalf("escaped document differs: %v %q %q", err, a["body"], b["body"])
	}
	if s := "{\"a\": 1}\n"; safetext.JSON(s) != s {
		t.Fatalf("clean JSON changed")
	}
	if got := safetext.JSON("\xff"); got != `\ufffd` {
		t.Fatalf("invalid byte: %q", got)
	}
}

func TestWriterJoinsCharactersSplitAcrossWrites(t *testing.T) {
	var b bytes.Buffer
	w := safetext.NewJSONWriter(&b)
	in := []byte("{\"a\":\"日\u202e\"}\n")
	for i := range in { // one byte per write: every character is cut
		if _, err := w.Write(in[i : i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "{\"a\":\"日\\u202e\"}\n"; got != want {
		t.Fatalf("wrote %q, want %q", got, want)
	}
	b.Reset()
	w = safetext.NewWriter(&b)
	w.Write([]byte("cut \xe6\x97"))
	w.Flush()
	if got := b.String(); got != `cut \xe6\x97` {
		t.Fatalf("a character never finished: %q", got)
	}
}
