package bench

import (
	"context"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/session"
)

// hangDeadline bounds a test that hangs; it is never reached by a slow
// one (a burst under -race on a loaded 2-core machine took over 20 s).
const hangDeadline = 3 * time.Minute

// TestStreamDelivers checks both readers the benchmarks compare see the
// same burst: every queued row arrives once as a change frame, for small
// and large rows, compressed and not.
func TestStreamDelivers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rowBytes int
		compress bool
	}{{"small/raw", 16, false}, {"2KB/gzip", 2048, true}} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 600
			ctx, cancel := context.WithTimeout(t.Context(), hangDeadline)
			defer cancel()
			src, err := NewSource(tc.rowBytes, n)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			bare, err := DialBare(ctx, src, tc.compress)
			if err != nil {
				t.Fatal(err)
			}
			defer bare.Close()
			p, err := OpenPipeline(ctx, src, tc.compress, 10_000)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			base, _ := p.Changes()
			ins := p.Inserts()
			if err := src.Queue(n); err != nil {
				t.Fatal(err)
			}
			src.Release()
			wire, err := bare.ReadN(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if min := int64(n) * int64(tc.rowBytes) / 3; wire < min {
				t.Errorf("bare read %d wire bytes for %d rows of %d bytes; want ≥ %d", wire, n, tc.rowBytes, min)
			}
			if err := p.WaitDrained(ctx, base+n, ins+int(n)); err != nil {
				t.Fatal(err)
			}
			// Count change frames, not all frames: a late batch or control
			// frame may share the window with the burst.
			changes := session.Filter{Types: []string{"change"}}
			for p.Conn.Log().Len(changes) < n && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			_, drops := p.Changes()
			if got := p.Conn.Log().Len(changes); drops != 0 || got != n {
				t.Errorf("log holds %d change frames after the burst (tap drops %d); want exactly %d", got, drops, n)
			}
			// The newest frame is the last row's change.
			st := p.Conn.Log().Stats()
			e, ok := p.Conn.Log().Get(st.LastID)
			if !ok || e.Type != "change" || e.DecodedSize < tc.rowBytes {
				t.Errorf("newest frame: ok=%v type=%q decoded=%d bytes; want a change carrying the %d-byte row", ok, e.Type, e.DecodedSize, tc.rowBytes)
			}
			if tc.compress && e.Encoding.String() != "gzip+json" {
				t.Errorf("2 KB row with compression on arrived as %s; want gzip+json", e.Encoding)
			}
		})
	}
}

// TestReplayDelivers checks the replay source: the bare loop and the
// pipeline each get every frame of a burst, and the log holds the
// replayed change.
func TestReplayDelivers(t *testing.T) {
	const n = 500
	ctx, cancel := context.WithTimeout(t.Context(), hangDeadline)
	defer cancel()
	r, err := NewReplay(2048, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bare, err := DialBareURL(ctx, r.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if err := r.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := OpenReplayPipeline(ctx, r, true, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := r.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	base, _ := p.Changes()
	ins := p.Inserts()
	r.Burst(n)
	if _, err := bare.ReadN(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitDrained(ctx, base+n, ins+n); err != nil {
		t.Fatal(err)
	}
	if got, drops := p.Changes(); got != base+n || drops != 0 {
		t.Errorf("log appended %d frames (tap drops %d); want %d", got-base, drops, n)
	}
	e, ok := p.Conn.Log().Get(p.Conn.Log().Stats().LastID)
	if !ok || e.Type != "change" || e.Encoding.String() != "gzip+json" || e.DecodedSize < 2048 {
		t.Errorf("newest frame: ok=%v type=%q enc=%s decoded=%d; want a gzip change with a 2 KB row", ok, e.Type, e.Encoding, e.DecodedSize)
	}
}
