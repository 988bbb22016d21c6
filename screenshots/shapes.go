package screenshots

import (
	"image"
	"image/color"
	"math"
)

// Box drawing, block elements and braille are drawn as shapes, not taken
// from a font: font glyphs for them rarely fill the cell exactly, which
// leaves gaps in borders and bars, and the embedded Go Mono lacks some
// (╭╮╰╯, braille) altogether.

// Line weights of one arm of a box-drawing character.
const (
	none  = 0
	light = 1
	heavy = 2
)

// arms gives, for U+2500–U+257F, the weight of the up, right, down and left
// arms. Diagonals are left to the font; double lines are in doubleArms.
var arms = func() map[rune][4]uint8 {
	m := map[rune][4]uint8{
		'─': {0, 1, 0, 1}, '━': {0, 2, 0, 2}, '│': {1, 0, 1, 0}, '┃': {2, 0, 2, 0},
		'┌': {0, 1, 1, 0}, '┍': {0, 2, 1, 0}, '┎': {0, 1, 2, 0}, '┏': {0, 2, 2, 0},
		'┐': {0, 0, 1, 1}, '┑': {0, 0, 1, 2}, '┒': {0, 0, 2, 1}, '┓': {0, 0, 2, 2},
		'└': {1, 1, 0, 0}, '┕': {1, 2, 0, 0}, '┖': {2, 1, 0, 0}, '┗': {2, 2, 0, 0},
		'┘': {1, 0, 0, 1}, '┙': {1, 0, 0, 2}, '┚': {2, 0, 0, 1}, '┛': {2, 0, 0, 2},
		'├': {1, 1, 1, 0}, '┝': {1, 2, 1, 0}, '┞': {2, 1, 1, 0}, '┟': {1, 1, 2, 0},
		'┠': {2, 1, 2, 0}, '┡': {2, 2, 1, 0}, '┢': {1, 2, 2, 0}, '┣': {2, 2, 2, 0},
		'┤': {1, 0, 1, 1}, '┥': {1, 0, 1, 2}, '┦': {2, 0, 1, 1}, '┧': {1, 0, 2, 1},
		'┨': {2, 0, 2, 1}, '┩': {2, 0, 1, 2}, '┪': {1, 0, 2, 2}, '┫': {2, 0, 2, 2},
		'┬': {0, 1, 1, 1}, '┭': {0, 1, 1, 2}, '┮': {0, 2, 1, 1}, '┯': {0, 2, 1, 2},
		'┰': {0, 1, 2, 1}, '┱': {0, 1, 2, 2}, '┲': {0, 2, 2, 1}, '┳': {0, 2, 2, 2},
		'┴': {1, 1, 0, 1}, '┵': {1, 1, 0, 2}, '┶': {1, 2, 0, 1}, '┷': {1, 2, 0, 2},
		'┸': {2, 1, 0, 1}, '┹': {2, 1, 0, 2}, '┺': {2, 2, 0, 1}, '┻': {2, 2, 0, 2},
		'┼': {1, 1, 1, 1}, '┽': {1, 1, 1, 2}, '┾': {1, 2, 1, 1}, '┿': {1, 2, 1, 2},
		'╀': {2, 1, 1, 1}, '╁': {1, 1, 2, 1}, '╂': {2, 1, 2, 1}, '╃': {2, 1, 1, 2},
		'╄': {2, 2, 1, 1}, '╅': {1, 1, 2, 2}, '╆': {1, 2, 2, 1}, '╇': {2, 2, 1, 2},
		'╈': {1, 2, 2, 2}, '╉': {2, 1, 2, 2}, '╊': {2, 2, 2, 1}, '╋': {2, 2, 2, 2},
		'╴': {0, 0, 0, 1}, '╵': {1, 0, 0, 0}, '╶': {0, 1, 0, 0}, '╷': {0, 0, 1, 0},
		'╸': {0, 0, 0, 2}, '╹': {2, 0, 0, 0}, '╺': {0, 2, 0, 0}, '╻': {0, 0, 2, 0},
		'╼': {0, 2, 0, 1}, '╽': {1, 0, 2, 0}, '╾': {0, 1, 0, 2}, '╿': {2, 0, 1, 0},
	}
	return m
}()

// doubleArms gives the arms of U+2550–U+256C: 1 single, 3 double.
var doubleArms = map[rune][4]uint8{
	'═': {0, 3, 0, 3}, '║': {3, 0, 3, 0},
	'╒': {0, 3, 1, 0}, '╓': {0, 1, 3, 0}, '╔': {0, 3, 3, 0},
	'╕': {0, 0, 1, 3}, '╖': {0, 0, 3, 1}, '╗': {0, 0, 3, 3},
	'╘': {1, 3, 0, 0}, '╙': {3, 1, 0, 0}, '╚': {3, 3, 0, 0},
	'╛': {1, 0, 0, 3}, '╜': {3, 0, 0, 1}, '╝': {3, 0, 0, 3},
	'╞': {1, 3, 1, 0}, '╟': {3, 1, 3, 0}, '╠': {3, 3, 3, 0},
	'╡': {1, 0, 1, 3}, '╢': {3, 0, 3, 1}, '╣': {3, 0, 3, 3},
	'╤': {0, 3, 1, 3}, '╥': {0, 1, 3, 1}, '╦': {0, 3, 3, 3},
	'╧': {1, 3, 0, 3}, '╨': {3, 1, 0, 1}, '╩': {3, 3, 0, 3},
	'╪': {1, 3, 1, 3}, '╫': {3, 1, 3, 1}, '╬': {3, 3, 3, 3},
}

// dashes maps the dashed lines to (weight, vertical, segments).
var dashes = map[rune]struct {
	weight   uint8
	vertical bool
	n        int
}{
	'┄': {light, false, 3}, '┅': {heavy, false, 3}, '┆': {light, true, 3}, '┇': {heavy, true, 3},
	'┈': {light, false, 4}, '┉': {heavy, false, 4}, '┊': {light, true, 4}, '┋': {heavy, true, 4},
	'╌': {light, false, 2}, '╍': {heavy, false, 2}, '╎': {light, true, 2}, '╏': {heavy, true, 2},
}

// cellPainter draws shapes into one cell of dst.
type cellPainter struct {
	dst    *image.RGBA
	r      image.Rectangle // the cell, in image pixels
	fg     color.RGBA
	thin   int // light stroke width in pixels
	strong int // heavy stroke width in pixels
	gap    int // offset of each stroke of a double line from the centre
}

// blendPixel composites fg over the pixel at (x, y) with coverage a in [0,1].
func blendPixel(dst *image.RGBA, x, y int, fg color.RGBA, a float64) {
	if a <= 0 || !(image.Point{x, y}).In(dst.Rect) {
		return
	}
	if a >= 1 {
		dst.SetRGBA(x, y, fg)
		return
	}
	dst.SetRGBA(x, y, blend(dst.RGBAAt(x, y), fg, a))
}

// fill paints the cell-relative rectangle [x0,x1)×[y0,y1), clipped to the cell.
func (p *cellPainter) fill(x0, y0, x1, y1 int, a float64) {
	rr := image.Rect(p.r.Min.X+x0, p.r.Min.Y+y0, p.r.Min.X+x1, p.r.Min.Y+y1).Intersect(p.r)
	for y := rr.Min.Y; y < rr.Max.Y; y++ {
		for x := rr.Min.X; x < rr.Max.X; x++ {
			blendPixel(p.dst, x, y, p.fg, a)
		}
	}
}

func (p *cellPainter) width(w uint8) int {
	if w == heavy {
		return p.strong
	}
	return p.thin
}

// centre returns the first pixel of a stroke of width t centred on a cell
// of size n. Every character uses the same rule, so strokes line up.
func centre(n, t int) int { return (n - t) / 2 }

// drawShape draws r if it is a box-drawing, block or braille rune and
// reports whether it did.
func (p *cellPainter) drawShape(r rune) bool {
	switch {
	case r >= 0x2800 && r <= 0x28ff:
		p.braille(r)
		return true
	case r >= 0x2580 && r <= 0x259f:
		return p.block(r)
	case r >= 0x256d && r <= 0x2570:
		p.arc(r)
		return true
	}
	if a, ok := arms[r]; ok {
		p.lines(a)
		return true
	}
	if a, ok := doubleArms[r]; ok {
		p.doubleLines(a)
		return true
	}
	if d, ok := dashes[r]; ok {
		p.dashed(d.weight, d.vertical, d.n)
		return true
	}
	return false
}

// lines draws up to four arms meeting in the centre.
func (p *cellPainter) lines(a [4]uint8) {
	w, h := p.r.Dx(), p.r.Dy()
	up, right, down, left := a[0], a[1], a[2], a[3]
	// The junction is as thick as the thickest crossing arm, so a light arm
	// meeting a heavy one does not leave a notch.
	vt := max(p.width(max(up, down)), 0)
	ht := max(p.width(max(left, right)), 0)
	if up == none && down == none {
		vt = 0
	}
	if left == none && right == none {
		ht = 0
	}
	cx, cy := centre(w, vt), centre(h, ht)
	if up != none {
		t := p.width(up)
		x := centre(w, t)
		p.fill(x, 0, x+t, cy+ht, 1)
	}
	if down != none {
		t := p.width(down)
		x := centre(w, t)
		p.fill(x, cy, x+t, h, 1)
	}
	if left != none {
		t := p.width(left)
		y := centre(h, t)
		p.fill(0, y, cx+vt, y+t, 1)
	}
	if right != none {
		t := p.width(right)
		y := centre(h, t)
		p.fill(cx, y, w, y+t, 1)
	}
}

// doubleLines draws U+2550–U+256C. A double arm is two strokes at ±gap
// from the centre line. Where strokes meet, each one stops either at the
// near stroke of the crossing arm (an inner corner) or runs on to the far
// one (an outer corner), so the outlines join up like a drawn frame:
//
//   - no crossing double: stop at the centre (straight lines, single junctions);
//   - a single arm meeting a double one: go through if the arm continues on
//     the other side, stop at the near stroke if the double runs on both
//     sides (╤), else reach the far stroke (╒);
//   - a stroke of a double arm: stop at the near stroke if there is an arm on
//     its side (inner corner), else reach the far one (outer corner).
func (p *cellPainter) doubleLines(a [4]uint8) {
	w, h := p.r.Dx(), p.r.Dy()
	t, g := p.thin, p.gap
	xAt := func(o int) int { return centre(w, t) + o } // left edge of a vertical stroke
	yAt := func(o int) int { return centre(h, t) + o } // top edge of a horizontal stroke
	for d := range 4 {                                 // up, right, down, left
		if a[d] == none {
			continue
		}
		opposite := a[(d+2)%4]
		// For offsets < 0 the neighbour is up (of a horizontal arm) or left
		// (of a vertical one); for offsets > 0, down or right.
		var before, after uint8
		if d == 1 || d == 3 {
			before, after = a[0], a[2]
		} else {
			before, after = a[3], a[1]
		}
		crossDouble := before == 3 || after == 3
		offsets := []int{0}
		if a[d] == 3 {
			offsets = []int{-g, g}
		}
		for _, o := range offsets {
			e := 0 // where the stroke ends, as an offset towards this arm
			switch {
			case !crossDouble:
			case a[d] != 3:
				switch {
				case opposite != none:
				case before != none && after != none:
					e = g
				default:
					e = -g
				}
			default:
				side := after
				if o < 0 {
					side = before
				}
				e = -g
				if side != none {
					e = g
				}
			}
			switch d {
			case 0:
				p.fill(xAt(o), 0, xAt(o)+t, yAt(-e)+t, 1)
			case 1:
				p.fill(xAt(e), yAt(o), w, yAt(o)+t, 1)
			case 2:
				p.fill(xAt(o), yAt(e), xAt(o)+t, h, 1)
			case 3:
				p.fill(0, yAt(o), xAt(-e)+t, yAt(o)+t, 1)
			}
		}
	}
}

// dashed draws a line broken into n dashes.
func (p *cellPainter) dashed(weight uint8, vertical bool, n int) {
	w, h := p.r.Dx(), p.r.Dy()
	t := p.width(weight)
	length := w
	if vertical {
		length = h
	}
	seg := float64(length) / float64(n)
	for i := range n {
		s := int(math.Round(float64(i) * seg))
		e := int(math.Round(float64(i)*seg + seg*0.6))
		if e <= s {
			e = s + 1
		}
		if vertical {
			x := centre(w, t)
			p.fill(x, s, x+t, e, 1)
		} else {
			y := centre(h, t)
			p.fill(s, y, e, y+t, 1)
		}
	}
}

// arc draws a rounded corner ╭ ╮ ╯ ╰ as a quarter circle joined to the
// straight strokes of the neighbouring cells.
func (p *cellPainter) arc(r rune) {
	w, h := p.r.Dx(), p.r.Dy()
	t := p.thin
	// Stroke centre lines, matching lines().
	xc := float64(centre(w, t)) + float64(t)/2
	yc := float64(centre(h, t)) + float64(t)/2
	hx, vy := 1.0, 1.0 // horizontal arm to the right, vertical arm down
	switch r {
	case '╮':
		hx = -1
	case '╯':
		hx, vy = -1, -1
	case '╰':
		vy = -1
	}
	edgeX := float64(w) - xc
	if hx < 0 {
		edgeX = xc
	}
	edgeY := float64(h) - yc
	if vy < 0 {
		edgeY = yc
	}
	rad := math.Min(edgeX, edgeY)
	ax, ay := xc+hx*rad, yc+vy*rad // centre of the arc
	half := float64(t) / 2
	for y := range h {
		for x := range w {
			px, py := float64(x)+0.5, float64(y)+0.5
			if (px-ax)*hx > 0.5 || (py-ay)*vy > 0.5 {
				continue // not in the arc's quadrant
			}
			d := math.Hypot(px-ax, py-ay)
			cov := half + 0.5 - math.Abs(d-rad)
			if cov > 1 {
				cov = 1
			}
			blendPixel(p.dst, p.r.Min.X+x, p.r.Min.Y+y, p.fg, cov)
		}
	}
	// The vertical stroke from the end of the arc to the cell edge.
	x := centre(w, t)
	yEnd := int(math.Round(ay))
	if vy > 0 {
		p.fill(x, yEnd, x+t, h, 1)
	} else {
		p.fill(x, 0, x+t, yEnd, 1)
	}
}

// block draws U+2580–U+259F: halves, eighths, quadrants and shades.
func (p *cellPainter) block(r rune) bool {
	w, h := p.r.Dx(), p.r.Dy()
	frac := func(n, k int) int { return int(math.Round(float64(n) * float64(k) / 8)) }
	switch {
	case r == '▀':
		p.fill(0, 0, w, frac(h, 4), 1)
	case r >= '▁' && r <= '█': // lower 1/8 … full
		k := int(r-'▁') + 1
		p.fill(0, h-frac(h, k), w, h, 1)
	case r >= '▉' && r <= '▏': // left 7/8 … 1/8
		k := 7 - int(r-'▉')
		p.fill(0, 0, frac(w, k), h, 1)
	case r == '▐':
		p.fill(w-frac(w, 4), 0, w, h, 1)
	case r >= '░' && r <= '▓':
		p.fill(0, 0, w, h, float64(r-'░'+1)*0.25)
	case r == '▔':
		p.fill(0, 0, w, frac(h, 1), 1)
	case r == '▕':
		p.fill(w-frac(w, 1), 0, w, h, 1)
	default: // quadrants ▖▗▘▙▚▛▜▝▞▟
		q, ok := quadrants[r]
		if !ok {
			return false
		}
		mx, my := w/2, h/2
		if q&1 != 0 {
			p.fill(0, 0, mx, my, 1)
		}
		if q&2 != 0 {
			p.fill(mx, 0, w, my, 1)
		}
		if q&4 != 0 {
			p.fill(0, my, mx, h, 1)
		}
		if q&8 != 0 {
			p.fill(mx, my, w, h, 1)
		}
	}
	return true
}

// quadrants: bit 1 upper left, 2 upper right, 4 lower left, 8 lower right.
var quadrants = map[rune]uint8{
	'▖': 4, '▗': 8, '▘': 1, '▙': 1 | 4 | 8, '▚': 1 | 8,
	'▛': 1 | 2 | 4, '▜': 1 | 2 | 8, '▝': 2, '▞': 2 | 4, '▟': 2 | 4 | 8,
}

// brailleDots maps the bits of a braille pattern to (column, row) of its dot.
var brailleDots = [8][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}, {0, 3}, {1, 3}}

// braille draws the raised dots of U+2800–U+28FF on a 2×4 grid.
func (p *cellPainter) braille(r rune) {
	w, h := p.r.Dx(), p.r.Dy()
	bits := int(r - 0x2800)
	rad := math.Min(float64(w)/4, float64(h)/8) * 0.72
	for i, d := range brailleDots {
		if bits&(1<<i) == 0 {
			continue
		}
		cx := float64(w) * float64(1+2*d[0]) / 4
		cy := float64(h) * float64(1+2*d[1]) / 8
		for y := int(cy - rad - 1); y <= int(cy+rad+1); y++ {
			for x := int(cx - rad - 1); x <= int(cx+rad+1); x++ {
				if x < 0 || y < 0 || x >= w || y >= h {
					continue
				}
				cov := rad + 0.5 - math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
				blendPixel(p.dst, p.r.Min.X+x, p.r.Min.Y+y, p.fg, math.Min(cov, 1))
			}
		}
	}
}
