package bench

import (
	"context"
	"testing"
	"time"
)

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
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
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
			if err := p.WaitAppended(ctx, base+n); err != nil {
				t.Fatal(err)
			}
			got, drops := p.Changes()
			if drops != 0 || got != base+n {
				t.Errorf("log appended %d frames after the burst (tap drops %d); want exactly %d", got-base, drops, n)
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
