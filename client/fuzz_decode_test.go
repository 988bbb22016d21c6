package client

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// FuzzDecodeFrame feeds arbitrary server frames through the socket's frame
// decoder (text, gzip JSON, MessagePack, gzip MessagePack) and the message
// parser. Whatever arrives, decoding must not panic, must respect the
// inflate cap, and must turn MessagePack into valid JSON.
//
// Seeds live in testdata/fuzz/FuzzDecodeFrame (every server fixture as
// text, gzip, msgpack and gzip+msgpack).
func FuzzDecodeFrame(f *testing.F) {
	f.Add(false, false, []byte(`{"type":"auth_success","user":"alice","role":"user","protocol":{"serialization":"json","compression":"gzip"}}`))
	f.Add(true, false, fuzzGzip([]byte(`{"type":"change","subscription_id":"s","change_type":"insert","rows":[{"_seq":"1"}]}`)))
	f.Add(true, true, []byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa6, 'c', 'h', 'a', 'n', 'g', 'e'})
	f.Add(true, false, []byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, binary, msgpackConn bool, data []byte) {
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		d := &decoder{msgpack: msgpackConn}
		out, enc, err := d.decode(typ, data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("decode error with an empty message")
			}
			return
		}
		switch {
		case !binary:
			if enc != EncJSON || !bytes.Equal(out, data) {
				t.Fatalf("text frame changed by decoding: enc %v", enc)
			}
		case !msgpackConn:
			if enc != EncGzipJSON {
				t.Fatalf("binary frame on a JSON connection decoded as %v", enc)
			}
		default:
			if !json.Valid(out) {
				t.Fatalf("MessagePack decoded to invalid JSON: %q", out)
			}
		}
		if len(out) > inflateLimit {
			t.Fatalf("decoded %d bytes, above the %d cap", len(out), inflateLimit)
		}

		// The decoder is reused by its socket: a second pass must agree.
		again, _, err := d.decode(typ, data)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("decoding the same frame twice differs: %v", err)
		}

		// A text frame and its gzip form must decode alike.
		if !binary && !msgpackConn {
			z, _, err := d.decode(websocket.MessageBinary, fuzzGzip(data))
			if err != nil || !bytes.Equal(z, data) {
				t.Fatalf("gzip of a text frame decodes differently: %v", err)
			}
		}

		m, err := d.parser.Parse(out)
		if err == nil && m.Type == "" {
			t.Fatal("parsed a message without a type")
		}
	})
}

// FuzzParseSeq checks that every encoding of a SeqId the client accepts
// agrees with the others and never silently changes the value.
func FuzzParseSeq(f *testing.F) {
	for _, s := range []string{"0", "309781227110404096", "-1", "9223372036854775807", "9223372036854775808", "1e3", " 1", "+5", "0x10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseSeq(s)
		if m, err := strconv.ParseInt(s, 10, 64); ok != (err == nil) || ok && m != n {
			t.Fatalf("ParseSeq(%q) = %d, %v; the string's value is %d, %v", s, n, ok, m, err)
		}
		jn, jok := ParseSeq(json.Number(s))
		if ok && (!jok || jn != n) {
			t.Fatalf("string %q → %d, json.Number → %d, %v", s, n, jn, jok)
		}
		if ok {
			if r, rok := (Row{"_seq": s}).Seq(); !rok || r != n {
				t.Fatalf("Row.Seq disagrees with ParseSeq for %q", s)
			}
		}
	})
}

// FuzzTokenExpiry reads the exp claim of arbitrary strings as the client
// does for every token it is given: it must never panic, and anything that
// is not three dot-separated parts has no expiry.
func FuzzTokenExpiry(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3NzgwMTEyMDB9.c2ln")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("x.eyJleHAiOiIxZTMwMCJ9.y")
	f.Add("x.eyJleHAiOjFlMzAwfQ.y")
	f.Add("x.eyJleHAiOi0xfQ==.y")
	f.Fuzz(func(t *testing.T, token string) {
		exp := tokenExpiry(token)
		if strings.Count(token, ".") != 2 && !exp.IsZero() {
			t.Fatalf("tokenExpiry(%q) = %v for a non-JWT", token, exp)
		}
	})
}

func fuzzGzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
