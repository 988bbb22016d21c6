package client

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestCheckMsgpack(t *testing.T) {
	good, err := msgpack.Marshal(map[string]any{"type": "change", "rows": []any{map[string]any{"_seq": "1", "n": int64(-5), "f": 1.5, "b": []byte{1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMsgpack(good); err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	bad := map[string][]byte{
		"map32 declaring 808M entries": []byte("\xdf0000"),
		"array32 declaring 4G entries": {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0},
		"nesting bomb":                 append(bytes.Repeat([]byte{0x91}, 100000), 0xc0),
		"str32 longer than the frame":  {0xdb, 0, 0x10, 0, 0, 'a'},
		"reserved byte":                {0xc1},
		"trailing bytes":               {0xc0, 0xc0},
		"empty":                        {},
		"truncated map":                {0x82, 0xa1, 'a'},
	}
	for name, b := range bad {
		if err := checkMsgpack(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := msgpackToJSON(b); err == nil {
			t.Errorf("%s: converted", name)
		}
	}
}
