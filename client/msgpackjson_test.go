package client

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// msgpackSeeds are documents that exercise every branch of the fast path
// and every reason it gives up.
func msgpackSeeds(tb testing.TB) [][]byte {
	docs := []any{
		map[string]any{"type": "change", "subscription_id": "s1", "change_type": "insert",
			"rows": []any{map[string]any{"id": "42", "_seq": "7", "payload": "plain text", "n": 3.5}}},
		map[string]any{"z": 1, "a": -1, "m": uint64(math.MaxUint64), "i": int64(math.MinInt64), "f32": float32(1.1),
			"tiny": 1e-7, "big": 1e21, "neg0": math.Copysign(0, -1), "t": true, "f": false, "nil": nil},
		map[string]any{"esc": "quote\" back\\ <html> & \b\f\n\r\t \x01 \x7f é \u2028 \u2029 \xff\xfe", "bin": []byte{0, 'a', 0xff}},
		map[string]any{"long": strings.Repeat("plain text,", 30) + "<" + strings.Repeat("x", 13) + "é\u2028\xff" + strings.Repeat("y", 17) + "\"&>"},
		[]any{[]any{}, map[string]any{}, "", []any{1, []any{2, []any{3}}}},
		map[string]any{"nan": math.NaN()},
		map[string]any{"inf": math.Inf(-1)},
		int8(-5), uint16(65535), int32(-70000), "top-level string", 1.5,
	}
	var seeds [][]byte
	for _, d := range docs {
		b, err := msgpack.Marshal(d)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds,
		[]byte{0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02}, // duplicate key
		[]byte{0x81, 0x01, 0x02},                       // integer key
		[]byte{0x81, 0xc0, 0x02},                       // nil key
		[]byte{0x81, 0xc4, 0x01, 'k', 0x02},            // binary key
		[]byte{0xd4, 0x01, 0x02},                       // fixext
		[]byte{0x92, 0xc7, 0x01, 0x05, 0xaa, 0x01},     // ext8 in an array
		[]byte{0x82, 0xa1, 'b', 0x81, 0xa1, 'y', 0x01, 0xa1, 'a', 0x81, 0xa1, 'x', 0x02}, // nested, unsorted
	)
	return seeds
}

// TestMsgpackFastPathMatchesSlowPath: on every seed the fast path either
// gives up or writes exactly what decoding and marshalling writes.
func TestMsgpackFastPathMatchesSlowPath(t *testing.T) {
	fast := 0
	for _, b := range msgpackSeeds(t) {
		if checkMsgpackFastPath(t, b) {
			fast++
		}
	}
	if fast < 8 {
		t.Fatalf("the fast path took only %d seeds", fast)
	}
}

// TestMsgpackFastPathOnDecodeFrameCorpus: every MessagePack frame of
// FuzzDecodeFrame's corpus (each server fixture among them) converts the
// same both ways.
func TestMsgpackFastPathOnDecodeFrameCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzDecodeFrame/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	fast := 0
	for _, name := range files {
		text, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(text)), "\n")
		if len(lines) != 4 || lines[2] != "bool(true)" || !strings.HasPrefix(lines[3], "[]byte(") {
			continue // not a frame on a MessagePack connection
		}
		data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[3], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		payload := []byte(data)
		if len(payload) >= 2 && payload[0] == 0x1f && payload[1] == 0x8b {
			var d decoder
			if payload, err = d.gunzip(payload); err != nil {
				continue
			}
		}
		if checkMsgpackFastPath(t, payload) {
			fast++
		}
	}
	if fast < 20 {
		t.Fatalf("the fast path took only %d corpus frames", fast)
	}
}

// checkMsgpackFastPath compares the two paths on b and reports whether
// the fast one took it.
func checkMsgpackFastPath(t *testing.T, b []byte) bool {
	t.Helper()
	if checkMsgpack(b) != nil {
		return false
	}
	got, ok := appendMsgpackJSON(nil, b)
	want, err := msgpackToJSONSlow(b)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast path converted %x to %s; the slow path fails: %v", b, got, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("msgpack %x:\nfast %s\nslow %s", b, got, want)
	}
	return true
}

// FuzzMsgpackToJSONFastPath: the fast MessagePack → JSON path agrees with
// decoding and marshalling on every input it takes.
func FuzzMsgpackToJSONFastPath(f *testing.F) {
	for _, b := range msgpackSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkMsgpackFastPath(t, b) })
}
