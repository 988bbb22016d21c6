package client

import "testing"

// TestPeekMessageIsLenient: the tap names a composed frame by whatever
// type and subscription id it states, and names nothing it cannot read.
func TestPeekMessageIsLenient(t *testing.T) {
	cases := []struct{ text, typ, sid string }{
		{`{"type":"subscribe","subscription":{"id":"s1","sql":"x"}}`, "subscribe", "s1"},
		{`{"type":"next_batch","subscription_id":"s2","last_seq_id":"7"}`, "next_batch", "s2"},
		{`{"type":"hello"}`, "hello", ""},
		{`{"type":5,"subscription":"not an object"}`, "", ""},
		{`{"type":"ping"`, "", ""},
		{`not json`, "", ""},
		{`[1,2]`, "", ""},
	}
	for _, c := range cases {
		if typ, sid := peekMessage([]byte(c.text)); typ != c.typ || sid != c.sid {
			t.Errorf("%s: %q %q, want %q %q", c.text, typ, sid, c.typ, c.sid)
		}
	}
}
