package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// renderCounter is a tea.Program's output: it counts the writes (one per
// rendered frame) and the bytes, and throws them away.
type renderCounter struct {
	writes, bytes atomic.Int64
	keep          *bytes.Buffer // when set, what was written (tests)
}

func (c *renderCounter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		c.writes.Add(1)
		c.bytes.Add(int64(len(p)))
		if c.keep != nil {
			c.keep.Write(p)
		}
	}
	return len(p), nil
}

// BenchmarkRenderRate runs the dashboard — ui.New with its ticks, in a
// real tea.Program (no terminal: output to a counter, no input) — on a
// session log that a stream fills at 10 000 frames/s, telling the UI as
// the adapter does (coalescable frame events), and counts the renders
// the program writes over 10 s (1 s in smoke mode) after a 1 s warm-up.
// renders/s must stay under the terminal's 60 and well above zero: the
// screen follows the stream without redrawing per frame.
func BenchmarkRenderRate(b *testing.B) {
	const rate = 10_000
	window := 10 * time.Second
	if smoke {
		window = time.Second
	}
	for range b.N {
		renders, frames, err := renderUnderStream(b.Context(), rate, time.Second, window, &renderCounter{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(renders, "renders/s")
		b.ReportMetric(frames, "frames/s")
	}
}

// renderUnderStream runs the dashboard in a tea.Program writing to out
// under a stream of rate frames/s, and returns the renders and frames per
// second over window, after warm.
func renderUnderStream(ctx context.Context, rate int, warm, window time.Duration, out *renderCounter) (renders, frames float64, err error) {
	log := session.NewFrameLog(200_000, 128<<20)
	be := NewUIBackend(log)
	m := ui.New(be, ui.WithLogin(ui.LoginDefaults{URL: "http://127.0.0.1:1", User: "bench", Password: "x"}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(nil), tea.WithOutput(out),
		tea.WithWindowSize(120, 36), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	p.Send(tea.KeyPressMsg{Code: tea.KeyEnter}) // the login form's Connect

	var appended atomic.Int64
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		stream(ctx, log, be, rate, &appended)
	}()
	select {
	case <-time.After(warm):
	case err := <-done:
		cancel()
		<-streamDone
		return 0, 0, fmt.Errorf("the program ended during warm-up: %v", err)
	}
	w0, f0, t0 := out.writes.Load(), appended.Load(), time.Now()
	time.Sleep(window)
	w1, f1, el := out.writes.Load(), appended.Load(), time.Since(t0)
	cancel()
	<-streamDone
	<-done
	if w1 == w0 {
		return 0, 0, fmt.Errorf("no renders in %s under the stream (%d bytes written in all)", el, out.bytes.Load())
	}
	return float64(w1-w0) / el.Seconds(), float64(f1-f0) / el.Seconds(), nil
}

// TestRenderUnderStreamShowsFrames checks the render benchmark's program
// is the dashboard's inspector following the stream: what it wrote holds
// change frames, and it rendered.
func TestRenderUnderStreamShowsFrames(t *testing.T) {
	out := &renderCounter{keep: &bytes.Buffer{}}
	if _, _, err := renderUnderStream(t.Context(), 1000, 2*time.Second, time.Second, out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ansi.Strip(out.keep.String()), "change") {
		t.Fatalf("the dashboard never drew a change frame; it wrote:\n%.2000s", ansi.Strip(out.keep.String()))
	}
}

// stream appends change frames to log at rate frames/s (paced by the
// clock, in 10 ms steps) and tells the UI of each step, as the adapter's
// coalescing event does: a step whose event finds the channel full is
// counted by the next.
func stream(ctx context.Context, log *session.FrameLog, be *UIBackend, rate int, appended *atomic.Int64) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	var next, told int
	batch := make([]client.Frame, 0, rate/10)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due := int(time.Since(start).Seconds() * float64(rate))
		batch = batch[:0]
		for ; next < due && len(batch) < cap(batch); next++ {
			batch = append(batch, changeFrame(next))
		}
		log.Append(batch...)
		appended.Add(int64(len(batch)))
		select {
		case be.events <- ui.Event{ConnID: ConnID, Kind: ui.EventFrames, Count: next - told}:
			told = next
		default:
		}
	}
}
