package session

import (
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/kalamdash/kalamdash/client"
)

func testFrame(i int, dir client.Direction, typ, sub string) client.Frame {
	body := []byte(fmt.Sprintf(`{"type":%q,"subscription_id":%q,"n":%d}`, typ, sub, i))
	return client.Frame{Seq: uint64(i), Time: time.Unix(1000, int64(i)), Direction: dir, Opcode: client.OpText, Encoding: client.EncJSON,
		Type: typ, SubscriptionID: sub, Wire: body, Decoded: body, WireSize: len(body), DecodedSize: len(body)}
}

func TestFrameLogRoundTripsFrames(t *testing.T) {
	l := NewFrameLog(10, 0)
	gz := client.Frame{Time: time.Unix(5, 6), Direction: client.Inbound, Opcode: client.OpBinary, Encoding: client.EncGzipJSON, Type: "change",
		SubscriptionID: "s1", Wire: []byte{0x1f, 0x8b, 1, 2}, Decoded: []byte(`{"x":1}`), WireSize: 4, DecodedSize: 7, ConnID: 3}
	cl := client.Frame{Direction: client.Inbound, Opcode: client.OpClose, CloseCode: 1008, CloseReason: "Authentication failed"}
	http := client.Frame{Direction: client.Outbound, Opcode: client.OpHTTP, Type: "POST /v1/api/sql", Status: 401, Duration: time.Millisecond,
		Wire: []byte("req"), Err: "boom"}
	last := l.Append(gz, cl, http)
	if last != 3 {
		t.Fatalf("last id %d", last)
	}
	for id, want := range map[uint64]client.Frame{1: gz, 2: cl, 3: http} {
		e, ok := l.Get(id)
		if !ok || e.ID != id {
			t.Fatalf("get %d: %v", id, ok)
		}
		g := e.Frame
		if !g.Time.Equal(want.Time) || g.Direction != want.Direction || g.Opcode != want.Opcode || g.Encoding != want.Encoding ||
			g.Type != want.Type || g.SubscriptionID != want.SubscriptionID || string(g.Wire) != string(want.Wire) ||
			string(g.Decoded) != string(want.Decoded) || (g.Decoded == nil) != (want.Decoded == nil) ||
			g.WireSize != want.WireSize || g.DecodedSize != want.DecodedSize || g.CloseCode != want.CloseCode ||
			g.CloseReason != want.CloseReason || g.Status != want.Status || g.Duration != want.Duration ||
			g.Err != want.Err || g.ConnID != want.ConnID {
			t.Errorf("id %d:\n got %+v\nwant %+v", id, g, want)
		}
	}
}

func TestFrameLogCountCapEvictsOldest(t *testing.T) {
	l := NewFrameLog(1000, 1<<40)
	for i := 1; i <= 2500; i++ {
		l.Append(testFrame(i, client.Inbound, "change", "s"))
	}
	st := l.Stats()
	if st.Len != 1000 || st.Evicted != 1500 || st.FirstID != 1501 || st.LastID != 2500 || st.Appended != 2500 {
		t.Fatalf("stats %+v", st)
	}
	if _, ok := l.Get(1500); ok {
		t.Error("evicted frame still resolves")
	}
	p := l.Page(Filter{}, 0, 2)
	if len(p) != 2 || p[0].ID != 1501 || p[0].Seq != 1501 || p[1].ID != 1502 {
		t.Errorf("page %+v", p)
	}
	tail := l.Page(Filter{}, l.Len(Filter{})-3, 10)
	if len(tail) != 3 || tail[2].ID != 2500 {
		t.Errorf("tail %+v", tail)
	}
}

func TestFrameLogByteCap(t *testing.T) {
	big := make([]byte, 1000)
	l := NewFrameLog(1_000_000, 10*(1000+recOverhead))
	for i := 0; i < 25; i++ {
		l.Append(client.Frame{Direction: client.Inbound, Wire: big, Decoded: big})
	}
	st := l.Stats()
	if st.Len != 10 || st.Bytes > st.MaxBytes || st.Evicted != 15 || st.EvictedBytes != 15*(1000+recOverhead) {
		t.Errorf("stats %+v", st)
	}
	// A frame larger than the cap is still kept alone (never an empty log
	// after an append).
	l.Append(client.Frame{Wire: make([]byte, 1<<20)})
	if st := l.Stats(); st.Len != 1 {
		t.Errorf("oversize: %+v", st)
	}
}

func TestFrameLogFiltersAndIndexesFollowAppendsAndEvictions(t *testing.T) {
	l := NewFrameLog(100, 0)
	add := func(from, to int) {
		for i := from; i <= to; i++ {
			dir := client.Inbound
			if i%2 == 0 {
				dir = client.Outbound
			}
			typ := []string{"change", "ping", "subscribe"}[i%3]
			l.Append(testFrame(i, dir, typ, fmt.Sprintf("sub-%d", i%4)))
		}
	}
	add(1, 60)
	out := Filter{Direction: client.Outbound}
	changes := Filter{Types: []string{"change"}}
	sub1 := Filter{Subscription: "sub-1", Direction: client.Inbound}
	if n := l.Len(out); n != 30 {
		t.Errorf("outbound %d", n)
	}
	if n := l.Len(changes); n != 20 {
		t.Errorf("changes %d", n)
	}
	if n := l.Len(sub1); n != 15 {
		t.Errorf("sub-1 inbound %d", n)
	}
	add(61, 150) // evicts 1..50
	if st := l.Stats(); st.FirstID != 51 {
		t.Fatalf("first %d", st.FirstID)
	}
	if n := l.Len(out); n != 50 {
		t.Errorf("outbound after eviction %d", n)
	}
	p := l.Page(changes, 0, 100)
	if len(p) != l.Len(changes) {
		t.Errorf("page %d vs len %d", len(p), l.Len(changes))
	}
	for i, e := range p {
		if e.Type != "change" || e.ID < 51 || (i > 0 && e.ID <= p[i-1].ID) {
			t.Fatalf("bad entry %d: %+v", i, e)
		}
	}
	if idx := l.IndexOf(changes, p[5].ID); idx != 5 {
		t.Errorf("IndexOf %d", idx)
	}
	if idx := l.IndexOf(changes, 10); idx != -1 {
		t.Errorf("IndexOf evicted %d", idx)
	}
	if idx := l.IndexOf(Filter{}, 60); idx != 9 {
		t.Errorf("IndexOf unfiltered %d", idx)
	}
}

func TestFrameLogTextFilter(t *testing.T) {
	l := NewFrameLog(0, 0)
	l.Append(
		client.Frame{Type: "change", Decoded: []byte(`{"author":"Alice"}`), Wire: []byte{1}},
		client.Frame{Type: "change", Decoded: []byte(`{"author":"bob"}`), Wire: []byte(`{"author":"bob"}`)},
		client.Frame{Type: "auth_success", SubscriptionID: "", Wire: []byte(`{}`), Decoded: []byte(`{}`)},
		client.Frame{Type: "ping", Wire: []byte("ALICE in wire only")}, // no decoded: wire is searched
	)
	for _, c := range []struct {
		f    Filter
		want int
	}{
		{Filter{Text: "alice"}, 2}, // smart case: lower-case needle folds
		{Filter{Text: "Alice"}, 1}, // upper case: exact
		{Filter{Text: "auth_"}, 1}, // type matches
		{Filter{Text: `"author":"[ab]`, Regex: true}, 1},
		{Filter{Text: `(?i)alice|bob`, Regex: true}, 3},
		{Filter{Text: "(", Regex: true}, 0},
	} {
		if got := l.Len(c.f); got != c.want {
			t.Errorf("%+v: %d, want %d", c.f, got, c.want)
		}
	}
	if err := (Filter{Text: "(", Regex: true}).Validate(); err == nil {
		t.Error("bad regex validated")
	}
}

func TestFrameLogIndexCacheIsBounded(t *testing.T) {
	l := NewFrameLog(0, 0)
	l.Append(testFrame(1, client.Inbound, "change", "a"))
	for i := 0; i < 3*maxIndexes; i++ {
		l.Len(Filter{Text: fmt.Sprint(i)})
	}
	if n := len(l.idx); n > maxIndexes {
		t.Errorf("%d cached indexes", n)
	}
}

// TestFrameLogMillionAppendsKeepCaps appends 1 M frames into a log capped
// at 100 k: count, bytes and indexes stay bounded.
func TestFrameLogMillionAppendsKeepCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP (short): 1 M appends")
	}
	const capN = 100_000
	l := NewFrameLog(capN, 64<<20)
	f := testFrame(0, client.Inbound, "change", "s")
	ins := Filter{Types: []string{"change"}}
	for i := 0; i < 1_000_000; i++ {
		l.Append(f)
		if i%100_000 == 0 {
			l.Len(ins) // keep an index alive across evictions
		}
	}
	st := l.Stats()
	if st.Len != capN || st.Appended != 1_000_000 || st.Evicted != 1_000_000-capN || st.Bytes > st.MaxBytes {
		t.Fatalf("stats %+v", st)
	}
	if n := l.Len(ins); n != capN {
		t.Errorf("index len %d", n)
	}
	if ix := l.idx[ins.key()]; cap(ix.ids) > 4*capN {
		t.Errorf("index grew to cap %d", cap(ix.ids))
	}
	if len(l.recs) != capN {
		t.Errorf("ring %d", len(l.recs))
	}
}

func TestFrameLogCopiesPayloadsAndFreesChunks(t *testing.T) {
	l := NewFrameLog(1000, 1<<40)
	src := []byte(`{"type":"change","n":1}`)
	l.Append(client.Frame{Wire: src, Decoded: src})
	src[2] = 'X' // the tap's buffer is reused: the log must not see it
	if e, _ := l.Get(1); string(e.Decoded) != `{"type":"change","n":1}` || string(e.Wire) != string(e.Decoded) {
		t.Errorf("stored %q / %q", e.Wire, e.Decoded)
	}
	// Big payloads live outside the chunks and go with their frame.
	big := make([]byte, bigPayload+1)
	big[len(big)-1] = 'z'
	l.Append(client.Frame{Wire: big})
	if e, _ := l.Get(2); len(e.Wire) != len(big) || e.Wire[len(big)-1] != 'z' || e.Decoded != nil {
		t.Errorf("big frame: %d bytes", len(e.Wire))
	}
	// 1 k frames of 10 KiB: far more than one chunk; the count cap keeps
	// the arena at ~10 MiB, old chunks are freed.
	mid := make([]byte, 10<<10)
	for i := 0; i < 20_000; i++ {
		l.Append(client.Frame{Wire: mid, Decoded: mid})
	}
	if n := len(l.arena.chunks); n > 12 {
		t.Errorf("%d chunks held for %d KiB of frames", n, 1000*10)
	}
	if len(l.big) != 0 {
		t.Errorf("big payload not freed")
	}
	if e, ok := l.Get(l.Stats().FirstID); !ok || len(e.Wire) != len(mid) {
		t.Errorf("oldest held frame broken")
	}
}

func TestFrameLogRecordIsSmall(t *testing.T) {
	if s := unsafe.Sizeof(rec{}); s > 64 || s > recOverhead {
		t.Errorf("rec is %d bytes", s)
	}
}

func TestFrameLogOpcodeFilter(t *testing.T) {
	l := NewFrameLog(0, 0)
	l.Append(client.Frame{Opcode: client.OpText, Type: "change"}, client.Frame{Opcode: client.OpPing}, client.Frame{Opcode: client.OpPong},
		client.Frame{Opcode: client.OpClose, CloseCode: 1000}, client.Frame{Opcode: client.OpHTTP, Type: "POST /v1/api/sql"})
	control := Filter{Opcodes: []client.Opcode{client.OpPing, client.OpPong, client.OpClose}}
	if n := l.Len(control); n != 3 {
		t.Errorf("control %d", n)
	}
	if n := l.Len(Filter{Opcodes: []client.Opcode{client.OpClose, client.OpPong, client.OpPing}}); n != 3 || len(l.idx) != 1 {
		t.Errorf("same filter, other order: %d (%d indexes)", n, len(l.idx))
	}
	if n := l.Len(Filter{Opcodes: []client.Opcode{client.OpHTTP}, Direction: client.Outbound}); n != 0 {
		t.Errorf("http out %d", n)
	}
}
