package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// perWindow is what one 50 ms coalescing window brings at 10 000 frames/s.
const perWindow = 500

// changeFrame is a realistic small change frame as the log stores it.
func changeFrame(i int) client.Frame {
	body := []byte(fmt.Sprintf(`{"type":"change","subscription_id":"metrics","change_type":"update","rows":[{"id":"%d","name":"rps","value":44.9,"_seq":"%d"}]}`, i%100, 385043031729+i))
	return client.Frame{Seq: uint64(i), Time: time.Unix(1795868612, int64(i)*1000), Direction: client.Inbound,
		Opcode: client.OpText, Encoding: client.EncJSON, Type: "change", SubscriptionID: "metrics",
		Wire: body, WireSize: len(body), Decoded: body, DecodedSize: len(body), ConnID: 1}
}

// filledLog returns a log capped at n frames and holding n frames.
func filledLog(n int) *session.FrameLog {
	l := session.NewFrameLog(n, 1<<40)
	batch := make([]client.Frame, 0, 1024)
	for i := range n {
		batch = append(batch, changeFrame(i))
		if len(batch) == cap(batch) {
			l.Append(batch...)
			batch = batch[:0]
		}
	}
	l.Append(batch...)
	return l
}

var uiSizes = []struct {
	name string
	n    int
}{{"1k", 1_000}, {"1M", 1_000_000}}

// BenchmarkUITick is one coalesced tick of the dashboard on the real
// session log at 10 000 frames/s: 500 frames appended (not timed: the
// pipeline benchmark covers it), then Update with the window's events and
// View. A full log evicts 500 frames per tick. The op must stay well under
// the 50 ms window; renders/s is how many such ticks a second the UI could
// take (it is asked for at most 20: one per window).
func BenchmarkUITick(b *testing.B) {
	for _, sz := range uiSizes {
		b.Run(sz.name, func(b *testing.B) {
			l := filledLog(sz.n)
			m, msg, err := NewUIModel(NewUIBackend(l), 120, 36, perWindow)
			if err != nil {
				b.Fatal(err)
			}
			next := sz.n
			batch := make([]client.Frame, perWindow)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for j := range batch {
					batch[j] = changeFrame(next)
					next++
				}
				l.Append(batch...)
				b.StartTimer()
				tm, _ := m.Update(msg)
				m = tm.(ui.Model)
				_ = m.View()
			}
			b.StopTimer()
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(1/perOp, "renders/s")
			b.ReportMetric(perWindow/perOp, "frames/s")
		})
	}
}

// BenchmarkInspectorView is View() of the inspector at 1 k and 1 M
// frames; it must not depend on the log's size. "fresh": one new frame
// arrives before each View (appended untimed, then Update), so the
// frame list is queried and rendered again — what every coalesced window
// costs. "cached": View with nothing changed since the last one (a key
// with no effect, mouse motion), served from the ui's render cache.
func BenchmarkInspectorView(b *testing.B) {
	for _, sz := range uiSizes {
		for _, fresh := range []bool{true, false} {
			mode := map[bool]string{true: "fresh", false: "cached"}[fresh]
			b.Run(sz.name+"/"+mode, func(b *testing.B) {
				l := filledLog(sz.n)
				m, msg, err := NewUIModel(NewUIBackend(l), 120, 36, perWindow)
				if err != nil {
					b.Fatal(err)
				}
				tm, _ := m.Update(msg)
				m = tm.(ui.Model)
				_ = m.View()
				next := sz.n
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if fresh {
						b.StopTimer()
						l.Append(changeFrame(next))
						next++
						b.StartTimer()
						tm, _ := m.Update(msg)
						m = tm.(ui.Model)
					}
					_ = m.View()
				}
			})
		}
	}
}

// TestUIModelShowsLog checks the benchmark's dashboard really is the
// inspector on the session log: after a window of events, the screen
// lists the newest frame's ID.
func TestUIModelShowsLog(t *testing.T) {
	l := filledLog(1_000)
	m, msg, err := NewUIModel(NewUIBackend(l), 120, 36, perWindow)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(changeFrame(1_000))
	tm, _ := m.Update(msg)
	m = tm.(ui.Model)
	screen := ansi.Strip(m.View().Content)
	if !strings.Contains(screen, "1001") || !strings.Contains(screen, "change") {
		t.Fatalf("inspector does not show frame 1001 (a change):\n%s", screen)
	}
}
