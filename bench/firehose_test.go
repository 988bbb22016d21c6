package bench

import (
	"context"
	"testing"
)

// TestFirehoseSourceFeedsBothReaders checks the firehose benchmarks'
// machinery: a `kalamdash serve --firehose` process, paused and resumed,
// streams to the bare reader and to the dashboard pipeline (both on
// MessagePack, the bare one gzip too), and reports nothing dropped at
// rate 0.
func TestFirehoseSourceFeedsBothReaders(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), hangDeadline)
	defer cancel()
	src, err := StartFirehose(ctx, 0, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bare, err := DialFirehoseBare(ctx, src, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	p, err := OpenFirehosePipeline(ctx, src, false, true, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := src.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := src.Resume(); err != nil {
		t.Fatal(err)
	}
	const n = 500
	if wire, err := bare.ReadN(ctx, n); err != nil || wire < n*160 {
		t.Fatalf("bare read %d bytes for %d events: %v", wire, n, err)
	}
	if err := p.WaitDrained(ctx, 0, n); err != nil {
		t.Fatal(err)
	}
	rep, err := src.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Subscribers) != 2 {
		t.Fatalf("want 2 subscribers, got %+v", rep.Subscribers)
	}
	for _, s := range rep.Subscribers {
		if s.Dropped != 0 || s.Sent < n {
			t.Errorf("subscriber %+v: want ≥ %d sent, none dropped", s, n)
		}
	}
}
