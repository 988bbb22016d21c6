package kalamtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// firehoseReader reads one subscriber's firehose changes and checks that
// they are the stream the firehose promises: ids 1 apart (nothing lost in
// between) and a growing _seq.
type firehoseReader struct {
	w        *wsc
	got      int
	lastID   int64
	lastSeq  int64
	firstID  int64
	problems []string
}

func (r *firehoseReader) take(f frame) {
	rows, _ := f.msg["rows"].([]any)
	if f.msg["type"] != "change" || f.msg["change_type"] != "insert" || len(rows) != 1 {
		r.problems = append(r.problems, fmt.Sprintf("not a one-row insert: %.200s", f.text))
		return
	}
	row, _ := rows[0].(map[string]any)
	id, err1 := strconv.ParseInt(fmt.Sprint(row["id"]), 10, 64)
	seq, err2 := strconv.ParseInt(fmt.Sprint(row["_seq"]), 10, 64)
	if err1 != nil || err2 != nil {
		r.problems = append(r.problems, fmt.Sprintf("id %v / _seq %v not integers", row["id"], row["_seq"]))
		return
	}
	if r.got == 0 {
		r.firstID = id
	} else {
		if id != r.lastID+1 {
			r.problems = append(r.problems, fmt.Sprintf("id %d after %d", id, r.lastID))
		}
		if seq <= r.lastSeq {
			r.problems = append(r.problems, fmt.Sprintf("_seq %d after %d", seq, r.lastSeq))
		}
	}
	r.got++
	r.lastID, r.lastSeq = id, seq
}

// readFirehose subscribes w as id, reads n changes, then unsubscribes and
// reads the changes already on their way until the sentinel's reply, so
// r.got is everything the server wrote for the subscription.
func readFirehose(w *wsc, id string, n int) *firehoseReader {
	r := &firehoseReader{w: w}
	for r.got < n {
		r.take(w.read())
	}
	w.send(fmt.Sprintf(`{"type":"unsubscribe","subscription_id":%q}`, id))
	w.send(`{"type":"subscribe","subscription":{"id":" ","sql":"SELECT 1"}}`)
	for {
		f := w.read()
		if f.msg["type"] == "error" {
			return r
		}
		r.take(f)
	}
}

// firehoseTwo subscribes two sockets of alice to the firehose (both in the
// same frame group: same id, query and compression) and reads n changes
// on each at once.
func firehoseTwo(t *testing.T, s *ktServer, n int) [2]*firehoseReader {
	t.Helper()
	tok := s.login(t, "alice", alicePW).access
	var ws [2]*wsc
	for i := range ws {
		ws[i] = s.dialAuthed(t, tok, "")
		ws[i].send(subscribeMsg("fh", kalamtest.FirehoseSQL, ""))
		ws[i].readType("subscription_ack")
	}
	var out [2]*firehoseReader
	var wg sync.WaitGroup
	for i := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = readFirehose(ws[i], "fh", n)
		}()
	}
	wg.Wait()
	for i, r := range out {
		if len(r.problems) > 0 {
			t.Fatalf("subscriber %d: %s", i, strings.Join(r.problems[:min(5, len(r.problems))], "; "))
		}
	}
	return out
}

// checkCounts requires the report to list both subscribers, ended, with
// exactly what they received as sent and nothing dropped.
func checkCounts(t *testing.T, rep kalamtest.FirehoseReport, got [2]*firehoseReader) {
	t.Helper()
	if len(rep.Subscribers) != 2 {
		t.Fatalf("want 2 subscribers in the report, got %+v", rep.Subscribers)
	}
	for i, sub := range rep.Subscribers {
		if sub.Active || sub.Dropped != 0 || sub.Sent != uint64(got[i].got) || sub.User != "alice" || sub.SubscriptionID != "fh" {
			t.Errorf("subscriber %d: report %+v, received %d", i, sub, got[i].got)
		}
	}
	// Both sockets are one frame group: each change that reached either
	// was encoded once, though most reached both. (Changes generated
	// after both unsubscribed reached nobody and were not encoded.)
	reached := max(got[0].lastID, got[1].lastID) - min(got[0].firstID, got[1].firstID) + 1
	if rep.Encodes != uint64(reached) {
		t.Errorf("encodes %d for %d changes that reached a subscriber (%d frames sent): want one encode per change",
			rep.Encodes, reached, rep.Subscribers[0].Sent+rep.Subscribers[1].Sent)
	}
}

// TestFirehoseAtRateTwoSubscribersLoseNothing: at a configured rate, two
// subscribers read every change (consecutive ids, growing _seq), and the
// counts on the firehose endpoint say so — sent = received, dropped 0.
// The queue is deep enough that a loaded machine's pauses cost no drops.
func TestFirehoseAtRateTwoSubscribersLoseNothing(t *testing.T) {
	s := newKT(t, kalamtest.WithFirehose(kalamtest.FirehoseConfig{Rate: 3000, RowBytes: 160}),
		kalamtest.WithNotifyQueue(1<<16))
	got := firehoseTwo(t, s, 3000)

	resp := doHTTP(t, "GET", s.URL+kalamtest.FirehosePath, "", nil)
	if resp.status != 200 {
		t.Fatalf("GET %s: %d %s", kalamtest.FirehosePath, resp.status, string(resp.body))
	}
	var rep kalamtest.FirehoseReport
	if err := json.Unmarshal(resp.body, &rep); err != nil {
		t.Fatalf("report: %v: %s", err, string(resp.body))
	}
	if rep.Rate != 3000 || rep.RowBytes != 160 {
		t.Errorf("report says rate %d, row %d", rep.Rate, rep.RowBytes)
	}
	checkCounts(t, rep, got)
}

// TestFirehoseTwoSubscribersKalamDBQueue is `kalamdash serve --firehose`'s
// promise with KalamDB's own 128-deep queue: at a rate both subscribers
// read, neither loses a change, and the counts (endpoint, and the log
// when the server stops) say so.
func TestFirehoseTwoSubscribersKalamDBQueue(t *testing.T) {
	twoSubscribersLoseNothing(t, kalamtest.FirehoseConfig{Rate: 500, RowBytes: 160}, 1000)
}

// twoSubscribersLoseNothing runs a firehose of fc for two subscribers
// reading n changes each, and checks that the report and the log at Close
// count every change they received as sent and none as dropped.
func twoSubscribersLoseNothing(t *testing.T, fc kalamtest.FirehoseConfig, n int) {
	t.Helper()
	var logs testkit.SyncBuffer
	s := newKT(t, kalamtest.WithFirehose(fc), kalamtest.WithLogWriter(&logs))
	got := firehoseTwo(t, s, n)
	rep, ok := s.Firehose()
	if !ok {
		t.Fatal("no firehose report")
	}
	checkCounts(t, rep, got)

	_ = s.Close()
	for i, g := range got {
		want := fmt.Sprintf("subscription_id=fh serialization=json compression=gzip sent=%d dropped=0 dropped_socket_full=0", g.got)
		if !strings.Contains(logs.String(), want) {
			t.Errorf("subscriber %d: no log line with %q in:\n%s", i, want, logs.String())
		}
	}
}

// TestFirehoseDropsSayWhose: a drop is the reader's when its socket was
// full (the kernel buffers toward a subscriber that reads nothing fill
// up, then its queue), and the server's when the socket had room but the
// writer did not run (a stalled server, its subscriber reading along).
func TestFirehoseDropsSayWhose(t *testing.T) {
	sub := func(rep kalamtest.FirehoseReport, id string) kalamtest.FirehoseSubscriber {
		for _, s := range rep.Subscribers {
			if s.SubscriptionID == id {
				return s
			}
		}
		return kalamtest.FirehoseSubscriber{}
	}
	waitDrops := func(t *testing.T, s *ktServer, id string) kalamtest.FirehoseSubscriber {
		return testkit.Poll(t, id+" dropping changes", func() kalamtest.FirehoseSubscriber {
			rep, _ := s.Firehose()
			return sub(rep, id)
		}, func(s kalamtest.FirehoseSubscriber) bool { return s.Dropped >= 20 })
	}

	t.Run("reader behind", func(t *testing.T) {
		// 64 KB rows without compression fill the socket's buffers in
		// well under a second; the subscriber never reads.
		s := newKT(t, kalamtest.WithFirehose(kalamtest.FirehoseConfig{Rate: 200, RowBytes: 64 << 10}))
		w := s.dialAuthed(t, s.login(t, "alice", alicePW).access, "compress=false")
		w.send(subscribeMsg("idle", kalamtest.FirehoseSQL, ""))
		w.readType("subscription_ack")
		got := waitDrops(t, s, "idle")
		if got.DroppedSocketFull != got.Dropped {
			t.Errorf("%+v: every drop happened behind a full socket", got)
		}
	})

	t.Run("server stalled", func(t *testing.T) {
		s := newKT(t, kalamtest.WithFirehose(kalamtest.FirehoseConfig{Rate: 1000, RowBytes: 160}))
		w := s.dialAuthed(t, s.login(t, "alice", alicePW).access, "")
		w.send(subscribeMsg("live", kalamtest.FirehoseSQL, ""))
		w.readType("subscription_ack")
		w.readType("change")
		reading := make(chan struct{})
		go func() { // reads along until the socket closes
			defer close(reading)
			for {
				if _, err := w.readErr(testkit.Deadline); err != nil {
					return
				}
			}
		}()
		s.Stall(testkit.Deadline)
		got := waitDrops(t, s, "live")
		s.Stall(0)
		if got.DroppedSocketFull != 0 {
			t.Errorf("%+v: the socket had room, so no drop is the reader's", got)
		}
		_ = s.Close()
		<-reading
	})
}

// TestFirehoseAsFastAsSocketsTakeThem: rate 0 waits for queue room, so
// even with upstream's 128-deep queue nothing is dropped; the log at
// Close carries each subscriber's counts.
func TestFirehoseAsFastAsSocketsTakeThem(t *testing.T) {
	twoSubscribersLoseNothing(t, kalamtest.FirehoseConfig{RowBytes: 2048}, 2000)
}

// TestFanoutEncodesOncePerGroup: a committed change reaches three sockets
// in two frame groups (two alike, one without compression) and is
// encoded twice, not three times.
func TestFanoutEncodesOncePerGroup(t *testing.T) {
	s := newKT(t)
	ops := s.login(t, "ops", "OpsPass123!").access
	s.mustSQL(t, ops, "CREATE NAMESPACE app")
	s.mustSQL(t, ops, "CREATE TABLE app.t (id BIGINT PRIMARY KEY, v TEXT) WITH (TYPE = 'SHARED', ACCESS_LEVEL = 'PUBLIC')")
	tok := s.login(t, "alice", alicePW).access
	var ws []*wsc
	for _, q := range []string{"", "", "compress=false"} {
		w := s.dialAuthed(t, tok, q)
		w.send(subscribeMsg("t", "SELECT * FROM app.t", ""))
		w.readType("subscription_ack")
		ws = append(ws, w)
	}
	before := s.Encodes()
	const n = 10
	for i := range n {
		s.mustSQL(t, ops, fmt.Sprintf("INSERT INTO app.t (id, v) VALUES (%d, 'x')", i+1))
	}
	for i, w := range ws {
		for j := range n {
			f := w.readType("change")
			if !bytes.Contains(f.text, []byte(fmt.Sprintf(`"id":"%d"`, j+1))) {
				t.Fatalf("socket %d change %d: %s", i, j, f.text)
			}
		}
	}
	if got := s.Encodes() - before; got != 2*n {
		t.Errorf("%d encodes for %d changes to 3 sockets in 2 groups, want %d", got, n, 2*n)
	}
}
