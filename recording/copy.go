package recording

import (
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// flushEvery is how often Copy flushes, so a recording streamed to stdout
// or tailed with `tail -f` is never more than a moment behind.
const flushEvery = 200 * time.Millisecond

// Copy writes every frame of c's tap and every lifecycle event of c to w,
// in arrival order, until both channels are closed (c.Close) — or, when
// maxFrames > 0, until maxFrames frames were written; it then returns
// full=true and stops reading (the caller closes c; later frames are
// dropped by the tap, never blocking the client). Copy must be the only
// reader of c.Frames() and c.Events().
//
// Frames and events travel on separate channels, so an event can land a
// few frames away from where it happened; every line carries its time.
func Copy(c *client.Client, w *Writer, maxFrames uint64) (full bool, err error) {
	frames, events := c.Frames(), c.Events()
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var n uint64
	for frames != nil || events != nil {
		select {
		case f, ok := <-frames:
			if !ok {
				frames = nil
				continue
			}
			if err := w.WriteFrame(f); err != nil {
				return false, err
			}
			n++
			if maxFrames > 0 && n >= maxFrames {
				return true, w.Flush()
			}
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if e, known := FromClientEvent(ev); known {
				if err := w.WriteEvent(e); err != nil {
					return false, err
				}
			}
		case <-tick.C:
			if err := w.Flush(); err != nil {
				return false, err
			}
		}
	}
	return false, w.Flush()
}
