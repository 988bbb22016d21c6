package session

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestIntKeyIsExactlyDecimalText: a key is kept as a number only when
// formatting the number gives the key back, so no two keys share a slot.
func TestIntKeyIsExactlyDecimalText(t *testing.T) {
	for _, k := range []string{"0", "7", "-7", "42", "9223372036854775807", "-9223372036854775808",
		"", "-", "-0", "00", "007", "+7", " 7", "7 ", "1e3", "9223372036854775808", "-9223372036854775809",
		"12345678901234567890123", "0x10", "٣"} {
		n, ok := intKey(k)
		want := false
		if p, err := strconv.ParseInt(k, 10, 64); err == nil && strconv.FormatInt(p, 10) == k {
			want = true
		}
		if ok != want || ok && strconv.FormatInt(n, 10) != k {
			t.Errorf("intKey(%q) = %d, %v; want ok=%v", k, n, ok, want)
		}
	}
}

// TestEvictedKeysKeepsIntegerAndTextKeysApart: "7" and "007" are two rows.
func TestEvictedKeysKeepsIntegerAndTextKeysApart(t *testing.T) {
	e := newEvictedKeys()
	e.set("7", 1)
	e.set("007", 2)
	e.set("alice", 3)
	for k, want := range map[string]int64{"7": 1, "007": 2, "alice": 3} {
		if got, ok := e.get(k); !ok || got != want {
			t.Errorf("get(%q) = %d, %v; want %d", k, got, ok, want)
		}
	}
	c := e.clone()
	e.remove("7")
	e.remove("alice")
	if _, ok := e.get("7"); ok || e.len() != 1 {
		t.Errorf("after remove: len %d", e.len())
	}
	if c.len() != 3 {
		t.Errorf("clone changed with the original: len %d", c.len())
	}
}

// TestEvictedKeysMatchesAMap: the run and the maps behave as one plain
// map from key to _seq through random sets and removes of growing,
// repeated, negative and non-integer keys.
func TestEvictedKeysMatchesAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e, want := newEvictedKeys(), map[string]int64{}
	keys := func() string {
		switch rng.IntN(6) {
		case 0:
			return "k" + strconv.Itoa(rng.IntN(50))
		case 1:
			return "0" + strconv.Itoa(rng.IntN(50))
		case 2:
			return strconv.Itoa(rng.IntN(100) - 50)
		}
		return strconv.Itoa(1000 + rng.IntN(300)) // mostly a growing run
	}
	next := 1000
	for i := range 20_000 {
		var k string
		if rng.IntN(3) == 0 {
			k, next = strconv.Itoa(next), next+1 // the next key of a stream
		} else {
			k = keys()
		}
		switch rng.IntN(4) {
		case 0:
			e.remove(k)
			delete(want, k)
		default:
			seq := rng.Int64N(1000)
			if rng.IntN(50) == 0 {
				seq = math.MinInt64
			}
			e.set(k, seq)
			want[k] = seq
		}
		if i%1000 == 0 { // a clone does not follow the original
			c, k := e.clone(), keys()
			before, had := c.get(k)
			e.set(k, 12345)
			want[k] = 12345
			if after, has := c.get(k); after != before || has != had {
				t.Fatalf("clone changed with the original at %q", k)
			}
		}
	}
	if e.len() != len(want) {
		t.Fatalf("len %d, want %d", e.len(), len(want))
	}
	for k, seq := range want {
		if got, ok := e.get(k); !ok || got != seq {
			t.Fatalf("get(%q) = %d, %v; want %d", k, got, ok, seq)
		}
	}
	for _, k := range []string{"k999", "-999", "999999", "0999"} {
		if _, ok := e.get(k); ok {
			t.Fatalf("get(%q) found a key never set", k)
		}
	}
	e.clear()
	if e.len() != 0 {
		t.Fatalf("len %d after clear", e.len())
	}
}

func FuzzIntKey(f *testing.F) {
	for _, k := range []string{"0", "-1", "007", "9223372036854775807", "x"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, k string) {
		n, ok := intKey(k)
		p, err := strconv.ParseInt(k, 10, 64)
		want := err == nil && strconv.FormatInt(p, 10) == k
		if ok != want || ok && n != p {
			t.Fatalf("intKey(%q) = %d, %v; want %v", k, n, ok, want)
		}
	})
}
