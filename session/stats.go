package session

import "time"

// StatsWindow is the number of one-second samples kept for rates and
// sparklines.
const StatsWindow = 60

// Counters are cumulative traffic counters of a connection, as the client
// reports them.
type Counters struct {
	FramesIn, FramesOut uint64
	WireBytesIn         uint64 // as received (gzip/msgpack)
	DecodedBytesIn      uint64 // after decompression/conversion
	WireBytesOut        uint64
	Reconnects          uint64
	TapDrops            uint64
	KeepaliveRTT        time.Duration
	LastKeepalive       time.Time
}

// Sample is the traffic of one second.
type Sample struct {
	Time                time.Time
	FramesIn, FramesOut float64 // per second
	BytesIn, BytesOut   float64 // wire bytes per second
}

// Stats is a connection's traffic summary: cumulative counters, current
// rates over the last few seconds, and a per-second history for sparklines
// (oldest first, at most StatsWindow samples).
type Stats struct {
	Counters
	FramesInRate, FramesOutRate float64 // per second, averaged over RateWindow
	BytesInRate, BytesOutRate   float64
	// CompressionRatio is decoded/wire bytes received (1 = no gain; 0 when
	// nothing was received yet).
	CompressionRatio float64
	History          []Sample
}

// RateWindow is how many recent samples the rates average over.
const RateWindow = 3

// statsSampler turns cumulative counters into per-second samples.
type statsSampler struct {
	last     Counters
	lastTime time.Time
	hist     ring[Sample]
}

func newStatsSampler() *statsSampler {
	return &statsSampler{hist: ring[Sample]{max: StatsWindow}}
}

// sample records the delta since the previous call.
func (s *statsSampler) sample(now time.Time, c Counters) {
	if s.lastTime.IsZero() {
		s.last, s.lastTime = c, now
		return
	}
	dt := now.Sub(s.lastTime).Seconds()
	if dt <= 0 {
		return
	}
	rate := func(a, b uint64) float64 {
		if a < b { // counters reset (new client): treat as no traffic
			return 0
		}
		return float64(a-b) / dt
	}
	s.hist.add(Sample{
		Time:      now,
		FramesIn:  rate(c.FramesIn, s.last.FramesIn),
		FramesOut: rate(c.FramesOut, s.last.FramesOut),
		BytesIn:   rate(c.WireBytesIn, s.last.WireBytesIn),
		BytesOut:  rate(c.WireBytesOut, s.last.WireBytesOut),
	})
	s.last, s.lastTime = c, now
}

// stats builds the summary from the latest counters.
func (s *statsSampler) stats(c Counters) Stats {
	st := Stats{Counters: c, History: s.hist.snapshot()}
	if c.WireBytesIn > 0 {
		st.CompressionRatio = float64(c.DecodedBytesIn) / float64(c.WireBytesIn)
	}
	h := st.History
	n := min(RateWindow, len(h))
	for _, x := range h[len(h)-n:] {
		st.FramesInRate += x.FramesIn / float64(n)
		st.FramesOutRate += x.FramesOut / float64(n)
		st.BytesInRate += x.BytesIn / float64(n)
		st.BytesOutRate += x.BytesOut / float64(n)
	}
	return st
}
