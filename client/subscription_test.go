package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

func TestSubscribePagesInitialDataThenStreamsChanges(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 25, "hello")
	c := connect(t, srv, client.WithAuthProvider(newCountingProvider(client.Basic("alice", alicePW)).provide))
	s := subscribe(t, c, "SELECT * FROM app.messages", client.WithBatchSize(10))
	ack := nextSub(t, s)
	if ack.Kind != client.SubAck || len(ack.Schema) == 0 || ack.Resumed {
		t.Fatalf("first event %+v", ack)
	}
	var ids []string
	batches := 0
	for {
		ev := nextSub(t, s)
		if ev.Kind != client.SubBatch {
			t.Fatalf("want batch, got %s", ev.Kind)
		}
		batches++
		for _, r := range ev.Rows {
			ids = append(ids, rowID(t, r))
		}
		if ev.Batch.Status == client.StatusReady {
			break
		}
	}
	if batches != 3 || len(ids) != 25 {
		t.Fatalf("batches=%d rows=%d, want 3 and 25 (auto next_batch)", batches, len(ids))
	}
	// BIGINT keeps KalamDB's string encoding.
	if ids[0] != "0" {
		t.Fatalf("first id %q", ids[0])
	}

	testkit.Insert(t, srv, 100, 101, "live")
	ins := nextSub(t, s)
	if ins.Kind != client.SubInsert || len(ins.Rows) != 1 || ins.Rows[0]["id"] != "100" {
		t.Fatalf("insert event %+v", ins)
	}
	srv.MustExec("alice", "UPDATE app.messages SET body = 'edited' WHERE id = 100")
	up := nextSub(t, s)
	if up.Kind != client.SubUpdate || up.Rows[0]["body"] != "edited" || len(up.OldValues) != 1 {
		t.Fatalf("update event %+v", up)
	}
	srv.MustExec("alice", "DELETE FROM app.messages WHERE id = 100")
	del := nextSub(t, s)
	if del.Kind != client.SubDelete || len(del.OldValues) != 1 || del.OldValues[0]["id"] != "100" {
		t.Fatalf("delete event %+v", del)
	}
	if s.LastSeq() == 0 {
		t.Fatal("LastSeq not tracked")
	}
	if err := s.Unsubscribe(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-s.Events(); ok {
		t.Fatal("Events should be closed after Unsubscribe")
	}
}

func TestSubscribeErrorsAreTyped(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	_, err := c.Subscribe(ctxT(t), "SELECT * FROM messages")
	var e *client.Error
	if !asError(err, &e) || e.Kind != client.KindSubscription || e.Code != "INVALID_SQL" {
		t.Fatalf("want INVALID_SQL subscription error, got %v", err)
	}
	_, err = c.Subscribe(ctxT(t), "SELECT * FROM app.nope")
	if !asError(err, &e) || e.Code != "NOT_FOUND" {
		t.Fatalf("want NOT_FOUND, got %v", err)
	}
	// The socket survived both.
	if _, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Fatal(err)
	}
}

func TestCompressionOnSendsBinaryGzipFrames(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 40, "a fairly long message body to make the batch big enough")
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	s := subscribe(t, c, "SELECT * FROM app.messages")
	nextSub(t, s) // ack
	nextSub(t, s) // batch
	f := waitFrame(t, c, func(f client.Frame) bool { return f.Type == client.TypeInitialDataBatch })
	if f.Opcode != client.OpBinary || f.Encoding != client.EncGzipJSON {
		t.Fatalf("initial batch frame: opcode=%s encoding=%s, want binary gzip+json", f.Opcode, f.Encoding)
	}
	if f.Wire[0] != 0x1f || f.Wire[1] != 0x8b || f.DecodedSize < 512 || f.WireSize >= f.DecodedSize || !json.Valid(f.Decoded) {
		t.Fatalf("gzip frame: wire=%d decoded=%d valid=%v", f.WireSize, f.DecodedSize, json.Valid(f.Decoded))
	}
}

func TestCompressFalseSendsOnlyRawJSONText(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 40, "a fairly long message body to make the batch big enough")
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithDisableCompression(true))
	s := subscribe(t, c, "SELECT * FROM app.messages")
	nextSub(t, s)
	nextSub(t, s)
	testkit.Insert(t, srv, 100, 101, "live")
	nextSub(t, s)
	sawBig := false
	for _, f := range takeFrames(c) {
		if f.Direction != client.Inbound || (f.Opcode != client.OpText && f.Opcode != client.OpBinary) {
			continue
		}
		if f.Opcode != client.OpText || f.Encoding != client.EncJSON || !json.Valid(f.Wire) {
			t.Fatalf("compress=false: got %s/%s frame %q", f.Opcode, f.Encoding, f.Wire)
		}
		if f.WireSize >= 512 {
			sawBig = true
		}
	}
	if !sawBig {
		t.Fatal("expected at least one ≥512-byte text frame")
	}
	// Switching compression at run time reconnects and resumes.
	if err := c.SetCompression(false); err != nil {
		t.Fatal(err)
	}
	waitEvent[client.ConnectedEvent](t, c, func(e client.ConnectedEvent) bool { return e.ConnID == 2 })
	if ack := nextSub(t, s); ack.Kind != client.SubAck || !ack.Resumed {
		t.Fatalf("after SetCompression want resumed ack, got %+v", ack)
	}
}

func TestMsgpackModeDecodes(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 30, "msgpack row with some padding to pass the gzip threshold")
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithSerialization("msgpack"))
	s := subscribe(t, c, "SELECT * FROM app.messages")
	ack := nextSub(t, s)
	if len(ack.Schema) == 0 {
		t.Fatal("msgpack ack without schema")
	}
	b := nextSub(t, s)
	if len(b.Rows) != 30 {
		t.Fatalf("msgpack batch rows = %d", len(b.Rows))
	}
	if seq, ok := b.Rows[0].Seq(); !ok || seq <= 0 {
		t.Fatalf("msgpack row _seq %v", b.Rows[0]["_seq"])
	}
	testkit.Insert(t, srv, 100, 101, "x")
	ins := nextSub(t, s)
	if ins.Kind != client.SubInsert || fmt.Sprint(ins.Rows[0]["id"]) != "100" {
		t.Fatalf("msgpack insert %+v", ins)
	}
	sawMsgpack := false
	for _, f := range takeFrames(c) {
		if f.Encoding == client.EncMsgpack || f.Encoding == client.EncGzipMsgpack {
			sawMsgpack = true
			if !json.Valid(f.Decoded) {
				t.Fatalf("msgpack frame decoded to invalid JSON: %q", f.Decoded)
			}
		}
	}
	if !sawMsgpack {
		t.Fatal("no msgpack frames in the tap")
	}
}

// TestResumeAfterDropsLosesAndDuplicatesNothing streams ≥1000 inserts while
// the server cuts the socket several times; every id must arrive exactly
// once and in _seq order.
func TestResumeAfterDropsLosesAndDuplicatesNothing(t *testing.T) {
	srv := newServer(t, kalamtest.WithNotifyQueue(1<<16))
	const total = 1200
	testkit.Insert(t, srv, 0, 50, "before")
	p := newCountingProvider(client.Basic("alice", alicePW))
	c := connect(t, srv, client.WithAuthProvider(p.provide))
	s := subscribe(t, c, "SELECT * FROM app.messages", client.WithBatchSize(100))

	done := make(chan error, 1)
	go func() {
		for i := 50; i < total; i++ {
			if _, err := srv.Exec("alice", "INSERT INTO app.messages (id, body) VALUES ($1, 'x')", i); err != nil {
				done <- err
				return
			}
			if i%300 == 0 {
				// Cut only a socket that carries the subscription, so
				// every drop really interrupts the stream.
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					if cs := srv.Conns(); len(cs) == 1 && len(cs[0].Subs) == 1 {
						break
					}
				}
				srv.DropAll()
			}
		}
		done <- nil
	}()

	seen := make(map[int]int, total)
	var lastSeq int64
	resumes := 0
	for len(seen) < total {
		ev := nextSub(t, s)
		switch ev.Kind {
		case client.SubAck:
			if ev.Resumed {
				resumes++
			}
		case client.SubBatch, client.SubInsert:
			for _, r := range ev.Rows {
				id, _ := strconv.Atoi(rowID(t, r))
				seen[id]++
				if seen[id] > 1 {
					t.Fatalf("id %d delivered twice", id)
				}
				seq, ok := r.Seq()
				if !ok || seq <= lastSeq {
					t.Fatalf("id %d: _seq %d not after %d", id, seq, lastSeq)
				}
				lastSeq = seq
			}
		case client.SubError, client.SubGap:
			t.Fatalf("unexpected %s: %v", ev.Kind, ev.Err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i := range total {
		if seen[i] != 1 {
			t.Fatalf("id %d seen %d times", i, seen[i])
		}
	}
	// A drop can land between the server registering a resumed subscribe
	// and its ack reaching us, so count reconnects, not acks.
	if resumes < 1 || c.Stats().Reconnects < 3 {
		t.Fatalf("resumed acks = %d, reconnects = %d; want ≥ 1 and ≥ 3", resumes, c.Stats().Reconnects)
	}
	if p.calls.Load() < 4 {
		t.Fatalf("provider calls = %d, want ≥ 4", p.calls.Load())
	}
	if srv.NotificationDrops() != 0 {
		t.Fatalf("server dropped notifications: %d", srv.NotificationDrops())
	}
}

func asError(err error, target **client.Error) bool {
	e, ok := err.(*client.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestSubscriptionOptions(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 10, "row")
	c := connect(t, srv, client.WithAuthProvider(newCountingProvider(client.Basic("alice", alicePW)).provide))
	ctx := ctxT(t)

	last, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithLastRows(3), client.WithBatchSize(5))
	if err != nil {
		t.Fatal(err)
	}
	nextSub(t, last)
	b := nextSub(t, last)
	if len(b.Rows) != 3 || b.Rows[2]["id"] != "9" || b.Batch.Status != client.StatusReady {
		t.Fatalf("last_rows=3 batch: %d rows, status %s", len(b.Rows), b.Batch.Status)
	}
	seq5, _ := b.Rows[0].Seq() // _seq of id 7

	from, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithFrom(seq5))
	if err != nil {
		t.Fatal(err)
	}
	nextSub(t, from)
	if b := nextSub(t, from); len(b.Rows) != 2 || b.Rows[0]["id"] != "8" {
		t.Fatalf("from=_seq(7) batch: %+v", b.Rows)
	}

	live, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithoutInitialData())
	if err != nil {
		t.Fatal(err)
	}
	if ack := nextSub(t, live); ack.Kind != client.SubAck || ack.Batch.Status != client.StatusReady {
		t.Fatalf("no-initial-data ack %+v", ack)
	}
	// No _seq seen yet: a resume cannot know what it missed, and says so.
	srv.DropAll()
	if gap := nextSub(t, live); gap.Kind != client.SubGap || gap.Err == nil {
		t.Fatalf("want SubGap on resume without _seq, got %+v", gap)
	}
	if ack := nextSub(t, live); ack.Kind != client.SubAck || !ack.Resumed {
		t.Fatalf("resumed ack %+v", ack)
	}
	testkit.Insert(t, srv, 20, 21, "live")
	if ins := nextSub(t, live); ins.Kind != client.SubInsert || ins.Rows[0]["id"] != "20" {
		t.Fatalf("live insert %+v", ins)
	}
	// With a _seq, the resume asks for what happened while away.
	srv.DropAll()
	testkit.Insert(t, srv, 21, 23, "while away")
	ack := nextSub(t, live)
	if ack.Kind != client.SubAck || !ack.Resumed {
		t.Fatalf("second resumed ack %+v", ack)
	}
	got := nextRowIDs(t, live, 2)
	if got[0] != "21" || got[1] != "22" {
		t.Fatalf("rows written while away: %v", got)
	}
}

// TestSubscriptionQueueLimitReportsDrops: a consumer that stops reading
// Events costs at most WithQueueLimit events of memory; what was dropped
// is reported as one SubGap before the next event delivered.
func TestSubscriptionQueueLimitReportsDrops(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	ctx := ctxT(t)
	s, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithoutInitialData(), client.WithQueueLimit(5))
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads while 20 inserts arrive: the pump holds what it took
	// (the ack, and the inserts that were already queued with it), the
	// queue takes 5 more events and the rest are dropped. How many the pump
	// took depends on when it ran, so the test checks what holds for every
	// schedule: the events before the gap are inserts 0…k−1 with k ≥ 4 (the
	// queue's 5 slots, one of them the ack's), the gap counts every insert
	// that never arrived, and the first insert after it is the next that
	// found room.
	in0 := c.Stats().FramesIn
	testkit.Insert(t, srv, 0, 20, "unread")
	testkit.Eventually(t, "the client received the 20 change frames", func() bool { return c.Stats().FramesIn >= in0+20 })
	if ack := nextSub(t, s); ack.Kind != client.SubAck {
		t.Fatalf("first event %+v, want the ack", ack)
	}
	var before []string
	dropped, after := -1, -1
	next := 20
	deadline := time.After(60 * time.Second)
	for after < 0 {
		select {
		case ev := <-s.Events():
			switch {
			case ev.Kind == client.SubGap:
				if ev.Err == nil || dropped >= 0 {
					t.Fatalf("unexpected gap %+v after %d inserts", ev, len(before))
				}
				var e *client.Error
				if !asError(ev.Err, &e) {
					t.Fatalf("gap error %v is not a *client.Error", ev.Err)
				}
				if _, err := fmt.Sscanf(e.Message, "%d events dropped", &dropped); err != nil {
					t.Fatalf("gap without a count: %v", ev.Err)
				}
			case ev.Kind != client.SubInsert:
				t.Fatalf("unexpected event %+v", ev)
			case dropped < 0:
				before = append(before, rowID(t, ev.Rows[0]))
			default:
				after, _ = strconv.Atoi(rowID(t, ev.Rows[0]))
			}
		case <-time.After(time.Second):
			// Drained for now: one more insert finds room and brings the gap.
			testkit.Insert(t, srv, next, next+1, "after")
			next++
		case <-deadline:
			t.Fatalf("no gap and insert after it: %d inserts before, dropped %d", len(before), dropped)
		}
	}
	if len(before) < 4 {
		t.Fatalf("only %d inserts delivered before the gap, want at least the queue's 4 free slots", len(before))
	}
	for i, id := range before {
		if id != strconv.Itoa(i) {
			t.Fatalf("inserts before the gap %v, want 0…%d in order", before, len(before)-1)
		}
	}
	if after < 20 || dropped != after-len(before) {
		t.Fatalf("%d delivered, gap counts %d dropped, then insert %d: want the gap to count %d", len(before), dropped, after, after-len(before))
	}
}

// TestMsgpackLargeErrorFrameFailsSubscribe: KalamDB sends error frames as
// JSON on MessagePack sockets too, gzipped into a binary frame at 512 bytes
// or more (send_error → send_json in
// jamals86/KalamDB: backend/crates/kalamdb-api/src/ws/events/mod.rs; the
// 512-byte rule in backend/crates/kalamdb-api/src/ws/compression.rs). A
// long table name makes the NOT_FOUND error that long: the refusal must
// reach Subscribe, not be dropped as undecodable MessagePack.
func TestMsgpackLargeErrorFrameFailsSubscribe(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithSerialization("msgpack"))
	table := "app.missing_" + strings.Repeat("x", 600)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := c.Subscribe(ctx, "SELECT * FROM "+table)
	var e *client.Error
	if !asError(err, &e) || e.Kind != client.KindSubscription || e.Code != "NOT_FOUND" || !strings.Contains(e.Message, "missing_xxx") {
		t.Fatalf("want the NOT_FOUND refusal, got %v", err)
	}
	f := waitFrame(t, c, func(f client.Frame) bool { return f.Type == client.TypeError })
	if f.Opcode != client.OpBinary || f.Encoding != client.EncGzipJSON || f.DecodedSize < 512 || f.Err != "" {
		t.Fatalf("error frame: opcode=%s encoding=%s decoded=%d err=%q, want a binary gzip+json frame of ≥512 bytes", f.Opcode, f.Encoding, f.DecodedSize, f.Err)
	}
	// The socket stays up and still speaks MessagePack.
	if _, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedSubscribeSendsNoUnsubscribe: the official client sends no
// unsubscribe after a refused subscribe (it drops the pending entry when
// the error arrives: jamals86/KalamDB:
// link/link-common/src/connection/shared/routing.rs). KalamDB lowers the
// user's subscription count on every unsubscribe, known id or not
// (backend/crates/kalamdb-api/src/ws/events/unsubscribe.rs), so one sent
// after a refusal would let the user past the limit.
func TestRefusedSubscribeSendsNoUnsubscribe(t *testing.T) {
	srv := newServer(t, kalamtest.WithSubscriptionLimits(1, 100))
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	if _, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", client.WithSubscriptionID("first")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"second", "third"} {
		_, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", client.WithSubscriptionID(id))
		var e *client.Error
		if !asError(err, &e) || e.Code != "SUBSCRIPTION_LIMIT_EXCEEDED" {
			t.Fatalf("subscribe %q over a limit of 1: %v, want SUBSCRIPTION_LIMIT_EXCEEDED", id, err)
		}
	}
	// The limit still holds when a refused id is tried again.
	if _, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", client.WithSubscriptionID("second")); err == nil {
		t.Fatal("a retried refused subscribe was accepted: the count drifted below the live subscriptions")
	}
	for _, f := range takeFrames(c) {
		if f.Direction == client.Outbound && f.Type == client.TypeUnsubscribe {
			t.Errorf("sent an unsubscribe for %q", f.SubscriptionID)
		}
	}
	if n := srv.SubscriptionCount("alice"); n != 1 {
		t.Errorf("server's subscription count = %d, want 1", n)
	}
}

// TestBatchSizeZeroSkipsExistingRows: WithBatchSize(0) is sent as
// batch_size 0, which KalamDB takes literally (upstream
// backend/crates/kalamdb-live/src/helpers/initial_data.rs): the ack and an
// empty, ready first batch, then only new changes. A resume after a change
// asks for what was missed with the server's batch size, not 0, and
// negative sizes are refused before anything is sent.
func TestBatchSizeZeroSkipsExistingRows(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 3, "existing")
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	ctx := ctxT(t)
	if _, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithBatchSize(-1)); err == nil || !strings.Contains(err.Error(), "WithBatchSize(-1)") {
		t.Fatalf("negative batch size: %v", err)
	}
	s, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithBatchSize(0))
	if err != nil {
		t.Fatal(err)
	}
	sent := waitFrame(t, c, func(f client.Frame) bool { return f.Direction == client.Outbound && f.Type == client.TypeSubscribe })
	if !strings.Contains(string(sent.Decoded), `"options":{"batch_size":0}`) {
		t.Errorf("subscribe frame %s, want options {\"batch_size\":0}", sent.Decoded)
	}
	if ack := nextSub(t, s); ack.Kind != client.SubAck || ack.Batch.Status != client.StatusReady || ack.Batch.LastSeqID != nil {
		t.Fatalf("ack %+v", ack)
	}
	if b := nextSub(t, s); b.Kind != client.SubBatch || len(b.Rows) != 0 || b.Batch.HasMore || b.Batch.Status != client.StatusReady {
		t.Fatalf("first batch %+v, want empty and ready", b)
	}
	testkit.Insert(t, srv, 10, 11, "new")
	if ins := nextSub(t, s); ins.Kind != client.SubInsert || rowID(t, ins.Rows[0]) != "10" {
		t.Fatalf("event after subscribing %+v, want the insert of row 10", ins)
	}

	srv.DropAll()
	testkit.Insert(t, srv, 11, 13, "while away")
	resent := waitFrame(t, c, func(f client.Frame) bool {
		return f.Direction == client.Outbound && f.Type == client.TypeSubscribe && f.ConnID > sent.ConnID
	})
	if strings.Contains(string(resent.Decoded), "batch_size") {
		t.Errorf("resume frame %s carries a batch size", resent.Decoded)
	}
	if ack := nextSub(t, s); ack.Kind != client.SubAck || !ack.Resumed {
		t.Fatalf("resumed ack %+v", ack)
	}
	got := nextRowIDs(t, s, 2)
	if strings.Join(got, ",") != "11,12" {
		t.Fatalf("rows after the resume %v, want the two written while away", got)
	}
}

// TestSubscriptionEventBuffer: WithSubEventBuffer gives Events its buffer
// (events still arrive in order through it); a negative one is refused.
func TestSubscriptionEventBuffer(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	ctx := ctxT(t)
	if _, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithSubEventBuffer(-1)); err == nil {
		t.Fatal("WithSubEventBuffer(-1) accepted")
	}
	s, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithoutInitialData(), client.WithSubEventBuffer(8))
	if err != nil {
		t.Fatal(err)
	}
	if n := cap(s.Events()); n != 8 {
		t.Fatalf("Events buffer %d, want 8", n)
	}
	if ack := nextSub(t, s); ack.Kind != client.SubAck {
		t.Fatalf("first event %+v, want the ack", ack)
	}
	testkit.Insert(t, srv, 0, 20, "buffered")
	for i := range 20 {
		if ev := nextSub(t, s); ev.Kind != client.SubInsert || rowID(t, ev.Rows[0]) != strconv.Itoa(i) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
}
