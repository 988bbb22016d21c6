package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

// smoke is set by bench/run -smoke (BENCH_SMOKE=1): small bursts, a small
// frame log and a short ramp, to check that the machinery works, not to
// publish numbers.
var smoke = os.Getenv("BENCH_SMOKE") != ""

// firehoseCases are the rows of the firehose table: 160-byte rows (text
// frames whatever the compression: under the 512-byte gzip threshold) and
// 2 KB rows (gzip frames when compression is on).
var firehoseCases = []struct {
	name     string
	rowBytes int
	burst    int // events per timed burst
}{
	{"160B", 160, 20_000},
	{"2KB", 2048, 5_000},
}

// BenchmarkFirehose measures what each reader costs per event, reading
// the firehose of a source in its own process (rate 0: the source keeps
// the reader's socket queue full, so the reader sets the pace). The
// benchmark process holds only the readers, so its CPU time (getrusage,
// user + system) over a lane's burst is that reader's: cpu-µs/event is
// the primary figure, events/s the second. Each reader has its own source;
// the sources of the lanes not being timed are paused (SIGSTOP), and a
// pipeline that is not being timed is let go quiet first. Lanes run in
// alternating order (reversed every other op) with a GC before each.
// cpu-ratio is the pipeline's CPU per event over the bare reader's (the
// bare reader that inflates, for compressed streams). Every case runs
// with JSON frames and with MessagePack frames.
func BenchmarkFirehose(b *testing.B) {
	for _, fc := range firehoseCases {
		for _, compress := range []bool{true, false} {
			for _, msgpack := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/%s", fc.name, modeName(compress), serName(msgpack)), func(b *testing.B) {
					burst := fc.burst
					if smoke {
						burst /= 10
					}
					benchFirehoseLanes(b, fc.rowBytes, burst, compress, msgpack)
				})
			}
		}
	}
}

func serName(msgpack bool) string {
	if msgpack {
		return "msgpack"
	}
	return "json"
}

// firehoseLane is a lane with its own source process.
type firehoseLane struct {
	*lane
	src *Firehose
}

func benchFirehoseLanes(b *testing.B, rowBytes, burst int, compress, msgpack bool) {
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Minute)
	defer cancel()
	readers := []reader{readBare, readPipe}
	if compress {
		readers = []reader{readBare, readInflate, readPipe}
	}
	logFrames := 0 // the dashboard's
	if smoke {
		logFrames = 4 * burst
	}
	lanes := map[reader]*firehoseLane{}
	for _, r := range readers {
		l, err := openFirehoseLane(ctx, r, rowBytes, compress, msgpack, logFrames)
		if err != nil {
			b.Fatal(err)
		}
		defer l.close()
		lanes[r] = l
	}
	plain := map[reader]*lane{}
	for r, l := range lanes {
		plain[r] = l.lane
	}
	warmUp(b, ctx, plain, readers, burst)
	if err := quiet(ctx, lanes[readPipe]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		order := slices.Clone(readers)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, r := range order {
			lanes[r].run(b, ctx, burst)
			if err := quiet(ctx, lanes[r]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	events := float64(burst * b.N)
	for _, r := range readers {
		l := lanes[r]
		b.ReportMetric(events/l.wall.Seconds(), r.String()+"-events/s")
		b.ReportMetric(float64(l.wire)/l.wall.Seconds()/1e6, r.String()+"-MB/s")
		b.ReportMetric(float64(l.cpu.Microseconds())/events, r.String()+"-cpu-µs/event")
	}
	limit := lanes[readBare]
	if compress {
		limit = lanes[readInflate]
	}
	b.ReportMetric(float64(lanes[readPipe].cpu)/float64(limit.cpu), "cpu-ratio")
	_, drops := lanes[readPipe].pipe.Changes()
	b.ReportMetric(float64(drops), "tapdrops")
	var srcDrops uint64
	for _, r := range readers {
		_ = lanes[r].src.Resume()
		n, err := lanes[r].src.Dropped(ctx)
		if err != nil {
			b.Fatal(err)
		}
		srcDrops += n
	}
	// Rate 0 never drops: a drop would mean the source did not wait.
	b.ReportMetric(float64(srcDrops), "srcdrops")
}

// openFirehoseLane starts a source for reader r, opens r on it and
// pauses the source until the lane's turn. A burst resumes the source,
// drains n events, and pauses it again (inside the timed window: two
// signals, a few µs).
func openFirehoseLane(ctx context.Context, r reader, rowBytes int, compress, msgpack bool, logFrames int) (*firehoseLane, error) {
	src, err := StartFirehose(ctx, 0, rowBytes)
	if err != nil {
		return nil, err
	}
	l, err := openLane(ctx, r, compress,
		func() (*Bare, error) { return DialFirehoseBare(ctx, src, compress, msgpack) },
		func() (*Pipeline, error) { return OpenFirehosePipeline(ctx, src, compress, msgpack, logFrames) },
		func() error { return nil })
	if err != nil {
		src.Close()
		return nil, err
	}
	if err := src.Pause(); err != nil {
		l.close()
		src.Close()
		return nil, err
	}
	prepare, drain := l.prepare, l.drain
	l.prepare = func(n int) error {
		runtime.GC()
		return prepare(n)
	}
	l.drain = func(ctx context.Context, n int) (int64, error) {
		if err := src.Resume(); err != nil {
			return 0, err
		}
		wire, err := drain(ctx, n)
		if perr := src.Pause(); err == nil {
			err = perr
		}
		return wire, err
	}
	l.close = chain(l.close, src.Close)
	return &firehoseLane{lane: l, src: src}, nil
}

// quiet waits, untimed, until a pipeline lane has taken in what its
// paused source had already sent: its frame count holds still for 30 ms.
// A bare lane reads only inside a burst, so it is always quiet.
func quiet(ctx context.Context, l *firehoseLane) error {
	if l.pipe == nil {
		return nil
	}
	last, _ := l.pipe.Changes()
	for still := 0; still < 3; {
		select {
		case <-ctx.Done():
			return fmt.Errorf("pipeline never went quiet: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
		got, _ := l.pipe.Changes()
		if got == last {
			still++
		} else {
			still, last = 0, got
		}
	}
	return nil
}
