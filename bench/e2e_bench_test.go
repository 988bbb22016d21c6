package bench

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// streamCases are the end-to-end rows of the table: small rows (text
// frames whatever the compression: they stay under the 512-byte gzip
// threshold) and ~2 KB rows (gzip frames when compression is on).
var streamCases = []struct {
	name     string
	rowBytes int
	burst    int // events per op
}{
	{"small", 16, 20_000},
	{"2KB", 2048, 5_000},
}

// BenchmarkStream measures one op = draining one queued burst of change
// events, by the bare coder/websocket loop (the limit) and by the
// dashboard pipeline (client → tap → pump → FrameLog, plus the live
// table). events/s and MB/s (wire bytes) are the table's numbers; the
// ratio pipeline/bare is computed by bench/table.
func BenchmarkStream(b *testing.B) {
	for _, sc := range streamCases {
		for _, compress := range []bool{true, false} {
			mode := "gzip"
			if !compress {
				mode = "raw"
			}
			b.Run(fmt.Sprintf("%s/%s/bare", sc.name, mode), func(b *testing.B) {
				benchBare(b, sc.rowBytes, sc.burst, compress)
			})
			b.Run(fmt.Sprintf("%s/%s/pipeline", sc.name, mode), func(b *testing.B) {
				benchPipeline(b, sc.rowBytes, sc.burst, compress)
			})
		}
	}
}

func benchBare(b *testing.B, rowBytes, burst int, compress bool) {
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	src, err := NewSource(rowBytes, burst)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	bare, err := DialBare(ctx, src, compress)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	var wire int64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := src.Queue(burst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		src.Release()
		n, err := bare.ReadN(ctx, burst)
		if err != nil {
			b.Fatal(err)
		}
		wire += n
	}
	b.StopTimer() // the deferred Close calls are not part of the stream
	report(b, burst, wire, 0)
}

func benchPipeline(b *testing.B, rowBytes, burst int, compress bool) {
	ctx, cancel := context.WithTimeout(b.Context(), 2*time.Minute)
	defer cancel()
	src, err := NewSource(rowBytes, burst)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	// The log holds 200 000 frames (the dashboard's default); bursts
	// beyond that evict, as they would in the dashboard.
	p, err := OpenPipeline(ctx, src, compress, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	cl := p.Conn.Client()
	wire0 := cl.Stats().WireBytesIn
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		base, drops := p.Changes()
		if err := src.Queue(burst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		src.Release()
		if err := p.WaitAppended(ctx, base+drops+uint64(burst)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_, drops := p.Changes()
	report(b, burst, int64(cl.Stats().WireBytesIn-wire0), drops)
}

func report(b *testing.B, burst int, wire int64, drops uint64) {
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(burst*b.N)/sec, "events/s")
	b.ReportMetric(float64(wire)/sec/1e6, "MB/s")
	b.ReportMetric(float64(drops), "tapdrops")
	b.ReportMetric(float64(wire)/float64(burst*b.N), "B/event")
}
