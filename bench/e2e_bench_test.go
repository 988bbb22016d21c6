package bench

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// streamCases are the end-to-end rows of the table: small rows (text
// frames whatever the compression: they stay under the 512-byte gzip
// threshold) and ~2 KB rows (gzip frames when compression is on).
var streamCases = []struct {
	name     string
	rowBytes int
	burst    int // events per burst
}{
	{"small", 16, 20_000},
	{"2KB", 2048, 5_000},
}

// BenchmarkStream measures draining a queued burst of change events by the
// bare coder/websocket loop (the limit) and by the dashboard pipeline
// (client → tap → pump → FrameLog, plus the live table). One op is one
// burst for each, alternating, each on its own server, so that a machine
// shared with other work slows both alike; ratio is pipeline/bare
// events/s. cpu-µs/event is the process CPU time per event (server
// included, since it runs in this process): less sensitive to other load
// than wall time.
func BenchmarkStream(b *testing.B) {
	for _, sc := range streamCases {
		for _, compress := range []bool{true, false} {
			mode := "gzip"
			if !compress {
				mode = "raw"
			}
			b.Run(fmt.Sprintf("%s/%s", sc.name, mode), func(b *testing.B) {
				benchStream(b, sc.rowBytes, sc.burst, compress)
			})
		}
	}
}

// side accumulates one reader's measurements.
type side struct {
	wall time.Duration
	cpu  time.Duration
	wire int64
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn (which must drain one released burst) and adds its wall
// and CPU time to s.
func (s *side) measure(fn func() error) error {
	c0, t0 := cpuTime(), time.Now()
	err := fn()
	s.wall += time.Since(t0)
	s.cpu += cpuTime() - c0
	return err
}

func benchStream(b *testing.B, rowBytes, burst int, compress bool) {
	ctx, cancel := context.WithTimeout(b.Context(), 4*time.Minute)
	defer cancel()
	bareSrc, err := NewSource(rowBytes, burst)
	if err != nil {
		b.Fatal(err)
	}
	defer bareSrc.Close()
	pipeSrc, err := NewSource(rowBytes, burst)
	if err != nil {
		b.Fatal(err)
	}
	defer pipeSrc.Close()
	bare, err := DialBare(ctx, bareSrc, compress)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	// The log has the dashboard's limits (200 000 frames, 128 MiB);
	// bursts beyond them evict, as they would in the dashboard.
	p, err := OpenPipeline(ctx, pipeSrc, compress, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	cl := p.Conn.Client()
	var bs, ps side
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := bareSrc.Queue(burst); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := bs.measure(func() error {
			bareSrc.Release()
			n, err := bare.ReadN(ctx, burst)
			bs.wire += n
			return err
		}); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		base, drops := p.Changes()
		ins := p.Inserts()
		if err := pipeSrc.Queue(burst); err != nil {
			b.Fatal(err)
		}
		wire0 := cl.Stats().WireBytesIn
		b.StartTimer()
		if err := ps.measure(func() error {
			pipeSrc.Release()
			return p.WaitDrained(ctx, base+drops+uint64(burst), ins+burst)
		}); err != nil {
			b.Fatal(err)
		}
		ps.wire += int64(cl.Stats().WireBytesIn - wire0)
	}
	b.StopTimer()
	_, drops := p.Changes()
	events := float64(burst * b.N)
	bareRate, pipeRate := events/bs.wall.Seconds(), events/ps.wall.Seconds()
	b.ReportMetric(bareRate, "bare-events/s")
	b.ReportMetric(pipeRate, "pipe-events/s")
	b.ReportMetric(float64(bs.wire)/bs.wall.Seconds()/1e6, "bare-MB/s")
	b.ReportMetric(float64(ps.wire)/ps.wall.Seconds()/1e6, "pipe-MB/s")
	b.ReportMetric(pipeRate/bareRate, "ratio")
	b.ReportMetric(float64(bs.cpu.Microseconds())/events, "bare-cpu-µs/event")
	b.ReportMetric(float64(ps.cpu.Microseconds())/events, "pipe-cpu-µs/event")
	b.ReportMetric(float64(drops), "tapdrops")
}

// BenchmarkReplay is BenchmarkStream against a Replay server: frames are
// encoded once up front, so the source costs one Write per frame and the
// ratio shows the reader's own cost. One op is one burst for the bare
// loop and one for the pipeline, alternating.
func BenchmarkReplay(b *testing.B) {
	for _, sc := range streamCases {
		for _, compress := range []bool{true, false} {
			mode := "gzip"
			if !compress {
				mode = "raw"
			}
			b.Run(fmt.Sprintf("%s/%s", sc.name, mode), func(b *testing.B) {
				benchReplay(b, sc.rowBytes, 2*sc.burst, compress)
			})
		}
	}
}

func benchReplay(b *testing.B, rowBytes, burst int, compress bool) {
	ctx, cancel := context.WithTimeout(b.Context(), 4*time.Minute)
	defer cancel()
	r, err := NewReplay(rowBytes, 256)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	bare, err := DialBareURL(ctx, r.URL, compress)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	if err := r.WaitSubscribed(ctx); err != nil {
		b.Fatal(err)
	}
	// Bursts go to every subscribed socket: subscribe the pipeline on a
	// second server so each burst reaches one reader only.
	r2, err := NewReplay(rowBytes, 256)
	if err != nil {
		b.Fatal(err)
	}
	defer r2.Close()
	p, err := OpenReplayPipeline(ctx, r2, compress, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	if err := r2.WaitSubscribed(ctx); err != nil {
		b.Fatal(err)
	}
	cl := p.Conn.Client()
	var bs, ps side
	b.ResetTimer()
	for range b.N {
		if err := bs.measure(func() error {
			r.Burst(burst)
			n, err := bare.ReadN(ctx, burst)
			bs.wire += n
			return err
		}); err != nil {
			b.Fatal(err)
		}
		base, drops := p.Changes()
		ins := p.Inserts()
		wire0 := cl.Stats().WireBytesIn
		if err := ps.measure(func() error {
			r2.Burst(burst)
			return p.WaitDrained(ctx, base+drops+uint64(burst), ins+burst)
		}); err != nil {
			b.Fatal(err)
		}
		ps.wire += int64(cl.Stats().WireBytesIn - wire0)
	}
	b.StopTimer()
	_, drops := p.Changes()
	events := float64(burst * b.N)
	bareRate, pipeRate := events/bs.wall.Seconds(), events/ps.wall.Seconds()
	b.ReportMetric(bareRate, "bare-events/s")
	b.ReportMetric(pipeRate, "pipe-events/s")
	b.ReportMetric(float64(bs.wire)/bs.wall.Seconds()/1e6, "bare-MB/s")
	b.ReportMetric(float64(ps.wire)/ps.wall.Seconds()/1e6, "pipe-MB/s")
	b.ReportMetric(pipeRate/bareRate, "ratio")
	b.ReportMetric(float64(bs.cpu.Microseconds())/events, "bare-cpu-µs/event")
	b.ReportMetric(float64(ps.cpu.Microseconds())/events, "pipe-cpu-µs/event")
	b.ReportMetric(float64(drops), "tapdrops")
}
