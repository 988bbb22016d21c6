package screenshots

import (
	"image/color"

	"github.com/charmbracelet/x/ansi"
)

// Palette holds the colours a terminal uses for text that does not choose
// its own: the default foreground and background, and the 16 ANSI colours
// that SGR 30–37, 40–47, 90–97 and 100–107 (and indexes 0–15 of the 256
// colour table) refer to. Indexes 16–255 always follow the xterm table.
type Palette struct {
	Foreground color.RGBA
	Background color.RGBA
	ANSI       [16]color.RGBA
}

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// DarkPalette is the default: light grey text on a near-black background,
// with ANSI colours bright enough to read on it.
var DarkPalette = Palette{
	Foreground: rgb(0xd0d4dc),
	Background: rgb(0x14161b),
	ANSI: [16]color.RGBA{
		rgb(0x1d2026), rgb(0xe0626c), rgb(0x8cc265), rgb(0xd9b16a),
		rgb(0x5ea8ef), rgb(0xc47ede), rgb(0x4fb6c2), rgb(0xb4bac4),
		rgb(0x5c6370), rgb(0xff7b86), rgb(0xa5e075), rgb(0xf0c674),
		rgb(0x7cc0ff), rgb(0xde98f5), rgb(0x6fd3de), rgb(0xeef0f4),
	},
}

// LightPalette is dark text on an off-white background, for screenshots of
// a light theme.
var LightPalette = Palette{
	Foreground: rgb(0x2b2f36),
	Background: rgb(0xfafafa),
	ANSI: [16]color.RGBA{
		rgb(0x2b2f36), rgb(0xc4323d), rgb(0x3f8a1f), rgb(0x9a6d00),
		rgb(0x2f6fd1), rgb(0x9a3fb4), rgb(0x1a8a96), rgb(0xb8bcc4),
		rgb(0x6a7080), rgb(0xe0454f), rgb(0x4fa52a), rgb(0xb88400),
		rgb(0x4a87e6), rgb(0xb556d1), rgb(0x2aa3b0), rgb(0xe6e8ec),
	},
}

// resolve turns a cell colour into RGBA. nil (and "transparent") means the
// given default; palette colours go through p so the screenshot matches the
// chosen palette rather than the emulator's built-in one.
func (p *Palette) resolve(c color.Color, def color.RGBA) color.RGBA {
	switch c := c.(type) {
	case nil:
		return def
	case ansi.BasicColor:
		if c < 16 {
			return p.ANSI[c]
		}
		return def
	case ansi.IndexedColor:
		return p.indexed(int(c))
	case color.RGBA:
		if c.A == 0 {
			return def
		}
		return c
	}
	r, g, b, a := c.RGBA()
	if a == 0 {
		return def
	}
	if a != 0xffff {
		// Un-premultiply: terminal colours have no meaningful alpha.
		r, g, b = r*0xffff/a, g*0xffff/a, b*0xffff/a
	}
	return color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0xff}
}

// cubeLevels are the six channel values of xterm's 6×6×6 colour cube.
var cubeLevels = [6]uint8{0, 95, 135, 175, 215, 255}

// indexed returns colour i of the 256-colour table.
func (p *Palette) indexed(i int) color.RGBA {
	switch {
	case i < 0 || i > 255:
		return p.Foreground
	case i < 16:
		return p.ANSI[i]
	case i < 232:
		i -= 16
		return color.RGBA{R: cubeLevels[i/36], G: cubeLevels[i/6%6], B: cubeLevels[i%6], A: 0xff}
	default:
		v := uint8(8 + 10*(i-232))
		return color.RGBA{R: v, G: v, B: v, A: 0xff}
	}
}

// blend mixes a towards b; t = 0 gives a, t = 1 gives b.
func blend(a, b color.RGBA, t float64) color.RGBA {
	mix := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 0xff}
}
