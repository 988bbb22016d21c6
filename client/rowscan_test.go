package client

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/internal/fixtures"
)

// referenceParse is how frames were decoded before the scanner: the whole
// document through encoding/json with UseNumber.
func referenceParse(b []byte) (*ServerMessage, error) {
	m := new(ServerMessage)
	if err := decodeJSONDocument(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkScanAgrees fails t if the scanner accepts b but decodes it
// differently from encoding/json (or accepts what encoding/json refuses).
func checkScanAgrees(t *testing.T, b []byte) (scanned bool) {
	t.Helper()
	got, ok := scanRowMessage(b, nil)
	// With a key interner: once filling it, once served from it.
	keys := new(keyIntern)
	first, ok1 := scanRowMessage(b, keys)
	again, ok2 := scanRowMessage(b, keys)
	if ok1 != ok || ok2 != ok {
		t.Fatalf("key interning changed whether the scanner takes\n%q", b)
	}
	if !ok {
		return false
	}
	want, err := referenceParse(b)
	if err != nil {
		t.Fatalf("scanner accepted a frame encoding/json refuses (%v):\n%q", err, b)
	}
	for _, m := range []*ServerMessage{got, first, again} {
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("scanner and encoding/json disagree on\n%q\nscanner: %#v\njson:    %#v", b, m, want)
		}
	}
	return true
}

// rowFrames take the fast path: the shapes KalamDB sends for every change
// and batch, with the value kinds rows carry.
var rowFrames = []string{
	`{"type":"change","subscription_id":"sub-1","change_type":"insert","rows":[{"id":"1","body":"hello","author":"alice","created_at":1777924795000000,"_seq":"309781227110404096"}]}`,
	`{"type":"change","subscription_id":"sub-1","change_type":"update","rows":[{"id":"1","body":"hello (edited)","_seq":"2"}],"old_values":[{"id":"1","body":"hello","_seq":"1"}]}`,
	`{"type":"change","subscription_id":"sub-1","change_type":"delete","old_values":[{"id":"1","_seq":"3"}]}`,
	`{"type":"initial_data_batch","subscription_id":"s","rows":[],"batch_control":{"batch_num":0,"has_more":false,"status":"ready","last_seq_id":null}}`,
	`{"type":"initial_data_batch","subscription_id":"s","rows":[{"a":1},{"a":2.5e-3}],"batch_control":{"batch_num":1,"has_more":true,"status":"loading_batch","last_seq_id":42}}`,
	"{\n  \"type\" : \"change\" ,\t\"rows\" : [ { \"x\" : [ 1 , { \"y\" : null } , [ ] , { } ] , \"t\" : true , \"f\" : false } ] \r\n}\n",
	`{"type":"change","rows":[{"s":"line\nbreak \"quoted\" \\ back \u00e9\ud83d\ude00 tab\t"}]}`,
	`{"type":"change","rows":[{"s":"héllo wörld — ✓ 日本語","k\u00e9y":"v"}]}`,
	`{"type":"change","rows":[{"bad":"` + "\xff\xfe" + `"}]}`,
	`{"type":"change","rows":[{"lone":"\ud800x"}]}`,
	`{"type":"change","rows":null,"old_values":[null,{"a":-0},{"a":0.5},{"a":-12E+3}]}`,
	`{"type":"change","rows":[{"a":1,"a":2}]}`,
	`{"type":"change","batch_control":null,"rows":[{"long":"` + strings.Repeat("0123456789abcdef", 200) + `"}]}`,
	`{"type":"c\"h"}`,
}

func TestScanRowMessageMatchesEncodingJSON(t *testing.T) {
	for _, f := range rowFrames {
		if !checkScanAgrees(t, []byte(f)) {
			t.Errorf("scanner gave up on a frame it should decode:\n%s", f)
		}
	}
}

// notScanned go to encoding/json: keys the scanner does not own, case
// variants, duplicates, wrong types, syntax errors and trailing data.
var notScanned = []string{
	`{"type":"auth_success","user":"alice","role":"user","protocol":{"serialization":"json","compression":"gzip"}}`,
	`{"type":"error","subscription_id":"s","code":"not_found","message":"x"}`,
	`{"Type":"change"}`,
	`{"type":"change","type":"insert"}`,
	`{"type":"change","rows":[{"a":1}],"rows":[{"b":2}]}`,
	`{"type":null}`,
	`{"type":5}`,
	`{"type":"change","rows":{}}`,
	`{"type":"change","rows":[1]}`,
	`{"type":"change","rows":[{"a":01}]}`,
	`{"type":"change","rows":[{"a":1.}]}`,
	`{"type":"change","rows":[{"a":-}]}`,
	`{"type":"change","rows":[{"a":tru}]}`,
	`{"type":"change","rows":[{"a":"x` + "\x01" + `"}]}`,
	`{"type":"change","rows":[{"a":"\q"}]}`,
	`{"type":"change","rows":[{"a":1,}]}`,
	`{"type":"change"} {}`,
	`{"type":"change"}x`,
	`{"type":"change","batch_control":{"batch_num":"1"}}`,
	`{"type":"change","rows":[{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}]}`,
	`{"type":"change"`,
	`{"type":"ch`,
	``,
	`[]`,
}

func TestScanRowMessageGivesUp(t *testing.T) {
	for _, f := range notScanned {
		if checkScanAgrees(t, []byte(f)) {
			t.Errorf("scanner decoded a frame it should leave to encoding/json:\n%s", f)
		}
	}
}

// TestParseServerMessageRefusesTrailingData: a frame is one message; text
// after it is a corrupt frame, not something to ignore.
func TestParseServerMessageRefusesTrailingData(t *testing.T) {
	for _, f := range []string{`{"type":"change"} {}`, `{"type":"auth_success"}]`, `{"type":"change","rows":[]}garbage`} {
		if _, err := parseServerMessage([]byte(f), nil); err == nil || !strings.Contains(err.Error(), "after the message") {
			t.Errorf("parseServerMessage(%q) error = %v, want trailing data refused", f, err)
		}
	}
	if _, err := parseServerMessage([]byte("{\"type\":\"change\"}\n\t "), nil); err != nil {
		t.Errorf("trailing whitespace refused: %v", err)
	}
}

// TestScanRowMessageFixtures runs every server fixture through both
// decoders; the change and batch fixtures must take the fast path.
func TestScanRowMessageFixtures(t *testing.T) {
	dir := fixtures.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "ws-server-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no server fixtures in %s: %v", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		scanned := checkScanAgrees(t, b)
		rowsFrame := strings.HasPrefix(name, "ws-server-change-") || strings.HasPrefix(name, "ws-server-initial_data_batch-")
		if rowsFrame && !scanned {
			t.Errorf("%s: scanner gave up on a rows frame", name)
		}
	}
}

// FuzzScanRowMessage: whatever the frame, the scanner either gives up or
// decodes exactly what encoding/json decodes.
func FuzzScanRowMessage(f *testing.F) {
	for _, s := range rowFrames {
		f.Add([]byte(s))
	}
	for _, s := range notScanned {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkScanAgrees(t, b)
	})
}
