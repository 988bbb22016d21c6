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

// BenchmarkStream measures draining a queued burst of change events from
// kalamtest by the bare coder/websocket loop (the limit), by the bare loop
// that also inflates (compressed rows only) and by the dashboard pipeline
// (client → tap → pump → FrameLog, and every row into the live table).
// One op is one burst for each reader, alternating, each on its own
// server, so that a machine shared with other work slows all alike; ratio
// is pipeline/bare events/s. cpu-µs/event is the process CPU time per
// event (server included, since it runs in this process): less sensitive
// to other load than wall time.
func BenchmarkStream(b *testing.B) {
	for _, sc := range streamCases {
		for _, compress := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/%s", sc.name, modeName(compress)), func(b *testing.B) {
				benchLanes(b, sc.burst, compress, func(ctx context.Context, r reader) (*lane, error) {
					return kalamtestLane(ctx, r, sc.rowBytes, sc.burst, compress)
				})
			})
		}
	}
}

// BenchmarkReplay is BenchmarkStream against Replay servers: frames are
// encoded once up front, so the source costs one Write per frame and the
// ratio shows the reader's own cost.
func BenchmarkReplay(b *testing.B) {
	for _, sc := range streamCases {
		for _, compress := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/%s", sc.name, modeName(compress)), func(b *testing.B) {
				benchLanes(b, 2*sc.burst, compress, func(ctx context.Context, r reader) (*lane, error) {
					return replayLane(ctx, r, sc.rowBytes, compress)
				})
			})
		}
	}
}

func modeName(compress bool) string {
	if compress {
		return "gzip"
	}
	return "raw"
}

// reader says who reads a lane's stream.
type reader int

const (
	readBare    reader = iota // bare loop, read only
	readInflate               // bare loop that also gunzips
	readPipe                  // the dashboard pipeline
)

func (r reader) String() string { return [...]string{"bare", "inflate", "pipe"}[r] }

// lane is one reader on its own source. prepare readies a burst of n
// events (not timed); drain releases it and returns once the reader has
// all of it, with the wire bytes read (timed).
type lane struct {
	prepare func(n int) error
	drain   func(ctx context.Context, n int) (int64, error)
	close   func()
	pipe    *Pipeline // readPipe lanes only

	wall time.Duration
	cpu  time.Duration
	wire int64
}

// run prepares and drains one burst, adding to the lane's measurements.
func (l *lane) run(b *testing.B, ctx context.Context, n int) {
	b.StopTimer()
	if err := l.prepare(n); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	c0, t0 := cpuTime(), time.Now()
	wire, err := l.drain(ctx, n)
	l.wall += time.Since(t0)
	l.cpu += cpuTime() - c0
	l.wire += wire
	if err != nil {
		b.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLanes runs b.N bursts through a lane per reader and reports each
// reader's events/s, MB/s and CPU per event, and the pipeline's ratios.
func benchLanes(b *testing.B, burst int, compress bool, open func(context.Context, reader) (*lane, error)) {
	ctx, cancel := context.WithTimeout(b.Context(), 4*time.Minute)
	defer cancel()
	readers := []reader{readBare, readPipe}
	if compress {
		readers = []reader{readBare, readInflate, readPipe}
	}
	lanes := map[reader]*lane{}
	for _, r := range readers {
		l, err := open(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		defer l.close()
		lanes[r] = l
	}
	warmUp(b, ctx, lanes, readers, burst)
	b.ResetTimer()
	for range b.N {
		for _, r := range readers {
			lanes[r].run(b, ctx, burst)
		}
	}
	b.StopTimer()
	events := float64(burst * b.N)
	rate := func(r reader) float64 { return events / lanes[r].wall.Seconds() }
	for _, r := range readers {
		l := lanes[r]
		b.ReportMetric(rate(r), r.String()+"-events/s")
		b.ReportMetric(float64(l.wire)/l.wall.Seconds()/1e6, r.String()+"-MB/s")
		b.ReportMetric(float64(l.cpu.Microseconds())/events, r.String()+"-cpu-µs/event")
	}
	b.ReportMetric(rate(readPipe)/rate(readBare), "ratio")
	if compress {
		b.ReportMetric(rate(readPipe)/rate(readInflate), "ratio-inflate")
	}
	_, drops := lanes[readPipe].pipe.Changes()
	b.ReportMetric(float64(drops), "tapdrops")
}

// warmUp runs untimed bursts until the pipeline's frame log is full and a
// quarter of it has turned over: the dashboard's steady state under a
// firehose. Before that, the process is still growing its heap to hold
// the log (128 MiB), and every new page costs a fault — on this VM about
// one fault per 2 KB event, more than all the pipeline's own work. That
// growth happens once per process; the table measures what follows.
// Every other lane drains one burst, to warm its connection.
func warmUp(b *testing.B, ctx context.Context, lanes map[reader]*lane, readers []reader, burst int) {
	for _, r := range readers {
		lanes[r].run(b, ctx, burst)
	}
	log := lanes[readPipe].pipe.Conn.Log()
	for st := log.Stats(); st.Evicted < uint64(max(burst, st.Len/4)); st = log.Stats() {
		lanes[readPipe].run(b, ctx, burst)
	}
	for _, r := range readers {
		l := lanes[r]
		l.wall, l.cpu, l.wire = 0, 0, 0
	}
}

// kalamtestLane is a lane on its own kalamtest Source: a burst is queued
// behind a stall (rows inserted, not timed) and drained from its release.
func kalamtestLane(ctx context.Context, r reader, rowBytes, maxBurst int, compress bool) (*lane, error) {
	src, err := NewSource(rowBytes, maxBurst)
	if err != nil {
		return nil, err
	}
	l, err := openLane(ctx, r, compress,
		func() (*Bare, error) { return DialBare(ctx, src, compress) },
		func() (*Pipeline, error) { return OpenPipeline(ctx, src, compress, 0) },
		func() error { return nil })
	if err != nil {
		src.Close()
		return nil, err
	}
	prepare := l.prepare
	l.prepare = func(n int) error {
		if err := prepare(n); err != nil {
			return err
		}
		return src.Queue(n)
	}
	l.drain = withRelease(l.drain, func(int) { src.Release() })
	l.close = chain(l.close, func() { src.Close() })
	return l, nil
}

// replayLane is a lane on its own Replay server: a burst starts when the
// server is asked for it.
func replayLane(ctx context.Context, r reader, rowBytes int, compress bool) (*lane, error) {
	rp, err := NewReplay(rowBytes, 256)
	if err != nil {
		return nil, err
	}
	l, err := openLane(ctx, r, compress,
		func() (*Bare, error) { return DialBareURL(ctx, rp.URL, compress) },
		func() (*Pipeline, error) { return OpenReplayPipeline(ctx, rp, compress, 0) },
		func() error { return rp.WaitSubscribed(ctx) })
	if err != nil {
		rp.Close()
		return nil, err
	}
	l.drain = withRelease(l.drain, rp.Burst)
	l.close = chain(l.close, func() { rp.Close() })
	return l, nil
}

// openLane opens reader r with the given dialers; subscribed waits until
// the source has seen its subscription.
func openLane(ctx context.Context, r reader, compress bool, dialBare func() (*Bare, error),
	openPipe func() (*Pipeline, error), subscribed func() error) (*lane, error) {
	if r != readPipe {
		bare, err := dialBare()
		if err != nil {
			return nil, err
		}
		bare.Inflate = r == readInflate
		if err := subscribed(); err != nil {
			bare.Close()
			return nil, err
		}
		return &lane{
			prepare: func(int) error { return nil },
			drain:   func(ctx context.Context, n int) (int64, error) { return bare.ReadN(ctx, n) },
			close:   func() { bare.Close() },
		}, nil
	}
	p, err := openPipe()
	if err != nil {
		return nil, err
	}
	if err := subscribed(); err != nil {
		p.Close()
		return nil, err
	}
	// What a burst must reach, taken before it is released.
	var wantFrames, wire0 uint64
	var wantInserts int
	cl := p.Conn.Client()
	return &lane{
		pipe: p,
		prepare: func(n int) error {
			got, drops := p.Changes()
			wantFrames, wantInserts = got+drops+uint64(n), p.Inserts()+n
			wire0 = cl.Stats().WireBytesIn
			return nil
		},
		drain: func(ctx context.Context, n int) (int64, error) {
			err := p.WaitDrained(ctx, wantFrames, wantInserts)
			return int64(cl.Stats().WireBytesIn - wire0), err
		},
		close: p.Close,
	}, nil
}

// withRelease starts the burst (release) before draining it.
func withRelease(drain func(context.Context, int) (int64, error), release func(n int)) func(context.Context, int) (int64, error) {
	return func(ctx context.Context, n int) (int64, error) {
		release(n)
		return drain(ctx, n)
	}
}

func chain(a, b func()) func() {
	return func() { a(); b() }
}
