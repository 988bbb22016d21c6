package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
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

// losslessRates is the ramp of BenchmarkFirehoseLossless.
func losslessRates() []int {
	if smoke {
		return []int{2_000, 5_000}
	}
	return []int{10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 85_000, 100_000, 120_000, 150_000, 200_000}
}

// BenchmarkFirehoseLossless ramps the firehose's rate (160-byte rows,
// compression on, KalamDB's 128-deep socket queue) for each reader — the
// bare loop, the dashboard pipeline and `kalamdash record --subscribe` in
// its own process — and reports the highest rate it read for 2 s with
// nothing dropped: not by the source (the reader fell behind its socket
// queue) and not by the dashboard's frame tap. A fresh source runs each
// step. The ramp stops at the first loss, or where the source itself
// could not generate the rate (src-limited 1: the reader's limit is
// higher than the value). record's CPU per event comes from its rusage.
func BenchmarkFirehoseLossless(b *testing.B) {
	for _, r := range []string{"bare", "pipe", "record"} {
		b.Run("160B/"+r, func(b *testing.B) {
			for range b.N {
				best, srcLimited, cpu := 0, 0.0, 0.0
				for _, rate := range losslessRates() {
					st, err := losslessStep(b.Context(), r, rate, 160)
					if err != nil {
						b.Fatalf("%s at %d/s: %v", r, rate, err)
					}
					if st.srcLimited {
						srcLimited = 1
						break
					}
					if st.lost > 0 {
						break
					}
					best, cpu = rate, st.cpuPerEvent
				}
				b.ReportMetric(float64(best), "lossless-events/s")
				b.ReportMetric(srcLimited, "src-limited")
				if r == "record" {
					b.ReportMetric(cpu, "cpu-µs/event")
				}
			}
		})
	}
}

type stepResult struct {
	lost        uint64 // dropped by the source plus by the tap
	srcLimited  bool
	cpuPerEvent float64 // record only
}

// losslessStep runs one reader on a source at rate until the source has
// sent it 2 s worth of events (0.5 s in smoke mode), and reads the loss
// at that moment, while the reader is still reading: a reader that
// stopped would make the source drop what follows, and that is no loss.
func losslessStep(ctx context.Context, r string, rate, rowBytes int) (stepResult, error) {
	secs := 2.0
	if smoke {
		secs = 0.5
	}
	n := uint64(float64(rate) * secs)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs*10)*time.Second+time.Minute)
	defer cancel()
	src, err := StartFirehose(ctx, rate, rowBytes)
	if err != nil {
		return stepResult{}, err
	}
	defer src.Close()
	var res stepResult
	var tapDrops func() uint64
	var stop func() (time.Duration, error) // stops the reader; record's CPU
	switch r {
	case "bare":
		bare, err := DialFirehoseBare(ctx, src, true, false)
		if err != nil {
			return res, err
		}
		rctx, rcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = bare.ReadN(rctx, math.MaxInt)
		}()
		stop = func() (time.Duration, error) {
			rcancel()
			bare.Close()
			<-done
			return 0, nil
		}
	case "pipe":
		p, err := OpenFirehosePipeline(ctx, src, true, false, 0)
		if err != nil {
			return res, err
		}
		_, drops0 := p.Changes()
		tapDrops = func() uint64 { _, d := p.Changes(); return d - drops0 }
		stop = func() (time.Duration, error) { p.Close(); return 0, nil }
	case "record":
		if stop, err = startRecord(ctx, src, time.Duration(secs*10)*time.Second); err != nil {
			return res, err
		}
	}
	sub, paced, err := waitSent(ctx, src, n)
	if err != nil {
		_, _ = stop()
		return res, err
	}
	res.lost = sub.Dropped
	if tapDrops != nil {
		res.lost += tapDrops()
	}
	cpu, err := stop()
	if err != nil {
		return res, err
	}
	if r == "record" {
		res.cpuPerEvent = float64(cpu.Microseconds()) / float64(sub.Sent)
	}
	// Without loss the source paced the whole run; if it generated well
	// under the rate meanwhile, the rate was the source's limit.
	res.srcLimited = res.lost == 0 && paced < 0.9*float64(rate)
	return res, nil
}

// waitSent polls the source until its one subscriber has been sent n
// events, or has lost one. paced is the rate the source generated at
// from the first poll that saw the subscriber to the last.
func waitSent(ctx context.Context, src *Firehose, n uint64) (sub kalamtest.FirehoseSubscriber, paced float64, err error) {
	var t0 time.Time
	var gen0 uint64
	for {
		rep, err := src.Report(ctx)
		if err != nil {
			return sub, 0, err
		}
		if len(rep.Subscribers) > 1 {
			return sub, 0, fmt.Errorf("%d subscribers, want 1", len(rep.Subscribers))
		}
		if len(rep.Subscribers) == 1 {
			if t0.IsZero() {
				t0, gen0 = time.Now(), rep.Generated
			}
			if s := rep.Subscribers[0]; s.Sent >= n || s.Dropped > 0 || !s.Active {
				if d := time.Since(t0).Seconds(); d > 0 {
					paced = float64(rep.Generated-gen0) / d
				}
				return s, paced, nil
			}
		}
		select {
		case <-ctx.Done():
			return sub, 0, fmt.Errorf("waiting for %d events sent: %w", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startRecord starts `kalamdash record --subscribe` on the firehose in its
// own process for at most d; stop interrupts it and returns its CPU time.
func startRecord(ctx context.Context, src *Firehose, d time.Duration) (stop func() (time.Duration, error), err error) {
	bin, err := kalamdashBin()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "record", "--url", src.URL, "--user", User, "--password-stdin",
		"--subscribe", kalamtest.FirehoseSQL, "--duration", d.String(), "--out", os.DevNull)
	cmd.Stdin = strings.NewReader(Password + "\n")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kalamdash record: %w", err)
	}
	return func() (time.Duration, error) {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			return 0, fmt.Errorf("kalamdash record: %v: %.300s", err, out.String())
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0, fmt.Errorf("kalamdash record: no rusage")
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
	}, nil
}
