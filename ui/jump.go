package ui

// This file finds frames for the composer's workflow: the frame just sent
// and the server's answer to the selected frame.

// jumpScan bounds how many frames a jump looks through.
const jumpScan = 5000

// jumpPage is how many frames a jump reads at a time.
const jumpPage = 256

// find returns the index (in the filtered view) of the first frame after
// from (forward) or before from (backward) that match accepts, looking at
// no more than jumpScan frames.
func (m *inspector) find(src FrameSource, from int, forward bool, match func(Frame) bool) (int, bool) {
	total := src.Len(m.filter)
	for scanned := 0; scanned < jumpScan; {
		var off, n int
		if forward {
			off = from + 1 + scanned
			n = min(jumpPage, total-off)
		} else {
			end := from - scanned // exclusive
			off = max(end-jumpPage, 0)
			n = end - off
		}
		if n <= 0 || off < 0 || off >= total {
			return 0, false
		}
		page := src.Page(m.filter, off, n)
		if forward {
			for i, f := range page {
				if match(f) {
					return off + i, true
				}
			}
		} else {
			for i := len(page) - 1; i >= 0; i-- {
				if match(page[i]) {
					return off + i, true
				}
			}
		}
		scanned += n
	}
	return 0, false
}

// selectIndex selects the frame at index i of the filtered view and stops
// following, so new frames do not move the selection away.
func (m *inspector) selectIndex(src FrameSource, i int) {
	m.follow, m.paused, m.pausedNew = false, false, 0
	m.cursor = i
	m.sync(src, 0)
}

// selectNewestComposed selects the newest composed frame with an ID above
// after among the last jumpScan frames, reporting whether there is one.
func (m *inspector) selectNewestComposed(src FrameSource, after uint64) (Frame, bool) {
	i, ok := m.find(src, src.Len(m.filter), false, func(f Frame) bool { return f.Composed && f.ID > after })
	if !ok {
		return Frame{}, false
	}
	m.selectIndex(src, i)
	f, _ := m.selected()
	return f, true
}

// answers reports whether f can be the server's answer to sent: an
// inbound data or close frame on the same socket or a later one, skipping
// keepalive and the rows other subscriptions keep receiving.
func answers(sent, f Frame) bool {
	if f.Dir != "in" || (f.Opcode != "text" && f.Opcode != "binary" && f.Opcode != "close") {
		return false
	}
	if f.ConnID < sent.ConnID {
		return false
	}
	if f.Type == "change" || f.Type == "initial_data_batch" {
		return sent.Sub != "" && f.Sub == sent.Sub
	}
	return true
}

// jumpAnswer selects the answer to the selected frame (see answers).
func (m *inspector) jumpAnswer(src FrameSource) (Frame, bool) {
	sent, ok := m.selected()
	if !ok {
		return Frame{}, false
	}
	i, ok := m.find(src, m.cursor, true, func(f Frame) bool { return answers(sent, f) })
	if !ok {
		return Frame{}, false
	}
	m.selectIndex(src, i)
	f, _ := m.selected()
	return f, true
}

// lastFrameID returns the ID of the newest frame in src (0 when empty).
func lastFrameID(src FrameSource) uint64 {
	n := src.Len(FrameFilter{})
	if n == 0 {
		return 0
	}
	if p := src.Page(FrameFilter{}, n-1, 1); len(p) == 1 {
		return p[0].ID
	}
	return 0
}
