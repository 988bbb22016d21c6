package session

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/kalamdash/kalamdash/client"
)

var benchSizes = []int{1_000, 100_000, 1_000_000}

func filledLog(b *testing.B, n int) *FrameLog {
	b.Helper()
	l := NewFrameLog(n, 1<<40)
	frames := make([]client.Frame, 0, 1024)
	for i := 0; i < n; i++ {
		frames = append(frames, testFrame(i, client.Direction(1+i%2), []string{"change", "ping", "initial_data_batch"}[i%3], fmt.Sprintf("sub-%d", i%5)))
		if len(frames) == cap(frames) {
			l.Append(frames...)
			frames = frames[:0]
		}
	}
	l.Append(frames...)
	return l
}

// BenchmarkFrameLogAppend measures appending into a full log (each append
// evicts one frame).
func BenchmarkFrameLogAppend(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := filledLog(b, n)
			f := testFrame(1, client.Inbound, "change", "sub-1")
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				l.Append(f)
			}
		})
	}
}

// BenchmarkFrameLogFilterPage measures the steady state the inspector
// produces: a frame arrives, then the UI asks Len and the last page of a
// filtered view. Its cost must not depend on the log's size.
func BenchmarkFrameLogFilterPage(b *testing.B) {
	filters := map[string]Filter{
		"all":  {},
		"type": {Types: []string{"change"}, Direction: client.Inbound},
		"text": {Text: "sub-3"},
	}
	for _, name := range []string{"all", "type", "text"} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				l := filledLog(b, n)
				f := filters[name]
				l.Len(f) // build the index once, outside the timing
				fr := testFrame(7, client.Inbound, "change", "sub-3")
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					l.Append(fr)
					total := l.Len(f)
					if p := l.Page(f, max(0, total-50), 50); len(p) == 0 {
						b.Fatal("empty page")
					}
				}
			})
		}
	}
}

// BenchmarkFrameLogPageMiddle pages in the middle of the log.
func BenchmarkFrameLogPageMiddle(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := filledLog(b, n)
			f := Filter{Direction: client.Outbound}
			mid := l.Len(f) / 2
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if p := l.Page(f, mid, 50); len(p) != 50 {
					b.Fatal("short page")
				}
			}
		})
	}
}

// BenchmarkFrameLogMemoryPerFrame reports the heap cost of a held frame
// beyond its payload (target: ≤ 128 B).
func BenchmarkFrameLogMemoryPerFrame(b *testing.B) {
	const n = 200_000
	payload := []byte(`{"type":"change","subscription_id":"sub-1","change_type":"insert","rows":[{"id":"1"}]}`)
	f := client.Frame{Direction: client.Inbound, Opcode: client.OpText, Encoding: client.EncJSON, Type: "change", SubscriptionID: "sub-1",
		Wire: payload, Decoded: payload, WireSize: len(payload), DecodedSize: len(payload)}
	// One measurement, whatever b.N (-benchtime Nx must not multiply it).
	b.ResetTimer()
	{
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		l := NewFrameLog(n, 1<<40)
		for range n {
			l.Append(f)
		}
		l.Len(Filter{Types: []string{"change"}}) // one filter index
		runtime.GC()
		runtime.ReadMemStats(&after)
		perFrame := float64(after.HeapAlloc-before.HeapAlloc)/n - float64(len(payload))
		b.ReportMetric(perFrame, "B-overhead/frame")
		runtime.KeepAlive(l)
	}
	for range b.N {
	}
}

// BenchmarkFrameLogNewFilter measures the one-off scan when a filter is
// used for the first time (grows linearly with the log, by design).
func BenchmarkFrameLogNewFilter(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := filledLog(b, n)
			f := Filter{Text: "sub-3"}
			b.ResetTimer()
			for range b.N {
				clear(l.idx)
				l.Len(f)
			}
		})
	}
}
