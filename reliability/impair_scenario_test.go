package reliability_test

import (
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// TestLatencyDuringSnapshot: a paged initial load (10 batches, each asked
// for with next_batch) crosses a slow, jittery network while rows keep
// being written. Snapshot and live rows arrive once each, in _seq order.
func TestLatencyDuringSnapshot(t *testing.T) {
	e := newEnv(t, envConfig{})
	all := e.insertBulk("messages", 500)
	e.px.SetLatency(15*time.Millisecond, 10*time.Millisecond)

	written := e.insertPaced("messages", 10, 3, 5*time.Millisecond) // overlapping the load
	sub := e.subscribe("messages", client.WithBatchSize(50))
	all = append(all, <-written...)
	e.waitDeliveredOnce("snapshot and live rows", sub, all)
	if n := sub.count(client.SubBatch); n < 10 {
		t.Errorf("%d initial batches for 500 rows at batch size 50, want ≥ 10", n)
	}
}

// TestGradualDegradation: the network gets slower step by step (latency
// up, bandwidth down) until it stops altogether, then recovers. Rows
// written at every stage arrive once.
func TestGradualDegradation(t *testing.T) {
	e := newEnv(t, envConfig{})
	sub := e.subscribe("messages")
	var all []int64
	stages := []struct {
		latency time.Duration
		rate    int64
	}{
		{2 * time.Millisecond, 1 << 20},
		{10 * time.Millisecond, 256 << 10},
		{30 * time.Millisecond, 64 << 10},
		{60 * time.Millisecond, 16 << 10},
	}
	for _, st := range stages {
		e.px.SetLatency(st.latency, st.latency/2)
		e.px.SetBandwidth(st.rate)
		all = append(all, e.insert("messages", 10)...)
		e.waitRows("rows at latency "+st.latency.String(), sub, all)
	}
	e.px.SetBlackhole(true)
	all = append(all, e.insert("messages", 10)...)
	e.waitFor("the client to notice the dead socket", func() bool { return e.log.count(kindDisconnected) >= 1 }, nil)
	if err := e.px.Heal(); err != nil {
		t.Fatal(err)
	}
	e.waitConnected(2)
	all = append(all, e.insert("messages", 10)...)
	e.waitDeliveredOnce("rows after recovery", sub, all)
}

// TestTransportImpairments: jitter, a bandwidth cap and connections cut
// after a few kilobytes, all at once, while a snapshot loads and rows are
// written. Each cut forces a resume mid-stream; the result is still
// exactly once.
func TestTransportImpairments(t *testing.T) {
	e := newEnv(t, envConfig{clientOpts: []client.Option{client.WithDisableCompression(true)}})
	all := e.insertBulk("messages", 300)
	sub := e.subscribe("messages", client.WithBatchSize(50))

	e.px.SetLatency(3*time.Millisecond, 3*time.Millisecond)
	e.px.SetBandwidth(512 << 10)
	e.px.SetDropAfter(6 << 10)
	for range 6 {
		all = append(all, e.insert("messages", 10)...)
		time.Sleep(20 * time.Millisecond) // pacing, so cuts land between writes
	}
	e.waitRows("every row through the impaired network", sub, all)
	if n := e.log.count(kindConnected); n < 3 {
		t.Errorf("only %d connections: the drop-after fault did not cut the stream", n)
	}
	if err := e.px.Heal(); err != nil {
		t.Fatal(err)
	}
	all = append(all, e.insert("messages", 10)...)
	e.waitDeliveredOnce("rows after healing", sub, all)
}
