package bench

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// TestFirehoseSourceFeedsBothReaders checks the firehose benchmarks'
// machinery and `kalamdash serve --firehose`'s promise: the process,
// paused and resumed, streams to two subscribers — the bare reader and
// the dashboard pipeline (both on MessagePack, the bare one gzip too) —
// and reports nothing dropped for either, as fast as they read (rate 0)
// and at a rate both keep up with, with KalamDB's 128-deep queue.
func TestFirehoseSourceFeedsBothReaders(t *testing.T) {
	for _, rate := range []int{0, 2000} {
		t.Run(fireRateName(rate), func(t *testing.T) { feedBothReaders(t, rate) })
	}
}

func fireRateName(rate int) string {
	if rate == 0 {
		return "as-fast-as-read"
	}
	return strconv.Itoa(rate) + "-per-s"
}

func feedBothReaders(t *testing.T, rate int) {
	ctx, cancel := context.WithTimeout(t.Context(), hangDeadline)
	defer cancel()
	src, err := StartFirehose(ctx, rate, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bare, err := DialFirehoseBare(ctx, src, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	const n = 500
	// The bare reader reads from the start: at a rate, the stream does
	// not wait for the pipeline to log in.
	bareRead := make(chan error, 1)
	go func() {
		wire, err := bare.ReadN(ctx, n)
		if err == nil && wire < n*160 {
			err = fmt.Errorf("%d bytes for %d events", wire, n)
		}
		bareRead <- err
	}()
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
	if err := <-bareRead; err != nil {
		t.Fatalf("bare reader: %v", err)
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

// TestFirehoseSkipsWhatItCannotCatchUp: a paced source that did not run
// for a while (stopped with SIGSTOP for 300 ms) catches up at most
// kalamtest.FirehoseCatchUp of its rate and counts the rest as skipped,
// so its stream never runs faster than the rate; its reader loses
// nothing (what was skipped was never generated).
func TestFirehoseSkipsWhatItCannotCatchUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), hangDeadline)
	defer cancel()
	src, err := StartFirehose(ctx, 1000, 160)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bare, err := DialFirehoseBare(ctx, src, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if _, err := bare.ReadN(ctx, 10); err != nil { // the generator is running
		t.Fatal(err)
	}
	if err := src.Pause(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // 300 changes come due: more than 20 ms' worth
	if err := src.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := bare.ReadN(ctx, 10); err != nil { // it has run again
		t.Fatal(err)
	}
	rep, err := src.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped == 0 || len(rep.Subscribers) != 1 || rep.Subscribers[0].Dropped != 0 {
		t.Fatalf("after a 300 ms pause at 1000/s: %+v; want changes skipped, none dropped", rep)
	}
}
