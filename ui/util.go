package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// fit truncates s to width cells (with an ellipsis) and pads it with spaces
// to exactly width cells. It is ANSI-aware.
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	w := cellWidth(s)
	if w > width {
		s = ansi.Truncate(s, width, "…")
		w = ansi.StringWidth(s)
	}
	if w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// cellWidth is ansi.StringWidth with a fast path for plain ASCII, which
// most cells are (the grapheme walk dominates View's cost otherwise).
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// fitLeft right-aligns s in width cells.
func fitLeft(s string, width int) string {
	if width <= 0 {
		return ""
	}
	w := cellWidth(s)
	if w > width {
		return ansi.Truncate(s, width, "…")
	}
	return strings.Repeat(" ", width-w) + s
}

// truncate cuts s to width cells without padding.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// box lays lines into exactly h lines of exactly w cells.
func box(lines []string, w, h int) string {
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(fit(lines[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", max(w, 0)))
		}
	}
	return b.String()
}

// joinH places blocks of equal height side by side with sep between them.
func joinH(sep string, blocks ...string) string {
	split := make([][]string, len(blocks))
	n := 0
	for i, b := range blocks {
		split[i] = strings.Split(b, "\n")
		n = max(n, len(split[i]))
	}
	var out strings.Builder
	for y := 0; y < n; y++ {
		if y > 0 {
			out.WriteByte('\n')
		}
		for i := range split {
			if i > 0 {
				out.WriteString(sep)
			}
			if y < len(split[i]) {
				out.WriteString(split[i][y])
			}
		}
	}
	return out.String()
}

// humanBytes formats a byte count compactly: 512 B, 1.2 KB, 3.4 MB.
func humanBytes(n int64) string {
	switch {
	case n < 0:
		return "-"
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// countdown formats a remaining duration as m:ss (or h:mm:ss), negative
// durations with a leading minus.
func countdown(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign = "-"
		d = -d
	}
	d = d.Truncate(time.Second)
	h := int(d / time.Hour)
	m := int(d/time.Minute) % 60
	s := int(d/time.Second) % 60
	if h >= 24 { // long-lived tokens (days): "720:00:00" reads as nothing
		return fmt.Sprintf("%s%dd %02d:%02d:%02d", sign, h/24, h%24, m, s)
	}
	if h > 0 {
		return fmt.Sprintf("%s%d:%02d:%02d", sign, h, m, s)
	}
	return fmt.Sprintf("%s%d:%02d", sign, m, s)
}

// shortDur formats a duration for tables: 850ms, 1.2s, 2m0s.
func shortDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Truncate(time.Second).String()
}

// clockTime formats a wall time for tables, or "-" when zero.
func clockTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05")
}

// clockTimeNear formats a wall time like clockTime, with the date when it
// is far enough from now that the time of day alone would name the wrong
// day (a 30-day refresh token "at 09:12:00" looks like today's).
func clockTimeNear(t, now time.Time) string {
	if dayApart(t, now) {
		return t.Format("Jan 2 15:04:05")
	}
	return clockTime(t)
}

// dayApart reports whether t is so far from ref (20 hours or more) that
// its time of day alone could name the wrong day.
func dayApart(t, ref time.Time) bool {
	d := t.Sub(ref)
	return !t.IsZero() && (d >= 20*time.Hour || d <= -20*time.Hour)
}

// sparkline draws values as block characters, scaled to their maximum,
// keeping the last width values.
func sparkline(vals []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	const blocks = "▁▂▃▄▅▆▇█"
	runes := []rune(blocks)
	hi := 0.0
	for _, v := range vals {
		hi = max(hi, v)
	}
	var b strings.Builder
	for i := len(vals); i < width; i++ {
		b.WriteRune(' ')
	}
	for _, v := range vals {
		idx := 0
		if hi > 0 && v > 0 {
			idx = int(v / hi * float64(len(runes)-1))
			if idx == 0 {
				idx = 1 // any activity shows
			}
		}
		b.WriteRune(runes[idx])
	}
	return b.String()
}

// rate formats a per-second value compactly.
func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func last(vals []float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	return vals[len(vals)-1]
}

func clamp(v, lo, hi int) int {
	if hi < lo {
		return lo
	}
	return min(max(v, lo), hi)
}

// wrapParts packs parts, joined by sep, into lines at most width cells
// wide, breaking only between parts: help entries stay whole, and a
// command line is never split inside a flag ("--" then "user" on the next
// line), which word wrapping at hyphens does. A part wider than width on
// its own is cut hard across lines.
func wrapParts(parts []string, sep string, width int) []string {
	width = max(width, 1)
	sepW := cellWidth(sep)
	var lines []string
	var cur strings.Builder
	curW := 0
	flush := func() {
		if curW > 0 {
			lines = append(lines, cur.String())
			cur.Reset()
			curW = 0
		}
	}
	for _, p := range parts {
		pw := cellWidth(p)
		if curW > 0 && curW+sepW+pw > width {
			flush()
		}
		if pw > width {
			flush()
			lines = append(lines, strings.Split(ansi.Hardwrap(p, width, true), "\n")...)
			continue
		}
		if curW > 0 {
			cur.WriteString(sep)
			curW += sepW
		}
		cur.WriteString(p)
		curW += pw
	}
	flush()
	return lines
}
