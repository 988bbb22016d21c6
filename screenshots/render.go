package screenshots

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"unicode/utf8"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/vt"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// Limits on the arguments, so a typo cannot allocate gigabytes.
const (
	maxCells    = 1000
	minFontSize = 4
	maxFontSize = 200
)

// Options tune a [Renderer]. The zero value is usable: dark palette,
// 16-pixel text, 16 pixels of padding, DejaVu fonts if installed.
type Options struct {
	// Palette supplies default and ANSI colours; nil means DarkPalette.
	Palette *Palette
	// FontSize is the text size in pixels (points at 72 dpi); 0 means 16.
	FontSize float64
	// Padding is the border around the cell grid in pixels, painted with
	// the palette background; 0 means FontSize, negative means none.
	Padding int
	// FontDirs are searched for the DejaVu font files; empty means
	// DefaultFontDirs().
	FontDirs []string
	// EmbeddedFontOnly skips installed fonts and uses the embedded Go Mono,
	// which gives the same pixels on every machine (useful in tests).
	EmbeddedFontOnly bool
}

// Renderer turns ANSI text into images with fixed options and fonts. A
// Renderer caches glyphs; it is not safe for concurrent use.
type Renderer struct {
	pal      Palette
	pad      int
	faces    *faceSet
	cellW    int
	cellH    int
	ascent   int
	thin     int
	strong   int
	gap      int
	glyphs   map[glyphKey]*glyph
	fontSize float64
}

// glyphKey identifies a cached glyph mask.
type glyphKey struct {
	style fontStyle
	r     rune
}

// glyph is a rasterised rune, positioned relative to the cell origin.
type glyph struct {
	mask *image.Alpha // nil when the rune draws nothing (space)
	off  image.Point  // top-left of mask relative to the cell's top-left
}

// NewRenderer loads the fonts and measures the cell.
func NewRenderer(opts Options) (*Renderer, error) {
	if opts.FontSize == 0 {
		opts.FontSize = 16
	}
	if math.IsNaN(opts.FontSize) || opts.FontSize < minFontSize || opts.FontSize > maxFontSize {
		return nil, fmt.Errorf("screenshots: font size %v is outside %d–%d pixels", opts.FontSize, minFontSize, maxFontSize)
	}
	r := &Renderer{
		pal:      DarkPalette,
		fontSize: opts.FontSize,
		glyphs:   make(map[glyphKey]*glyph),
	}
	if opts.Palette != nil {
		r.pal = *opts.Palette
	}
	switch {
	case opts.Padding == 0:
		r.pad = int(math.Round(opts.FontSize))
	case opts.Padding > 0:
		r.pad = min(opts.Padding, 10*maxFontSize)
	}
	faces, err := loadFaces(&opts)
	if err != nil {
		return nil, err
	}
	r.faces = faces
	primary := faces.chain[styleRegular][0]
	m := primary.Metrics()
	r.ascent = m.Ascent.Ceil()
	r.cellH = r.ascent + m.Descent.Ceil()
	adv, ok := primary.GlyphAdvance('M')
	if !ok || adv <= 0 {
		return nil, errors.New("screenshots: the primary font has no 'M'; it is not a usable monospace font")
	}
	r.cellW = adv.Round()
	r.thin = max(1, int(math.Round(opts.FontSize/14)))
	r.strong = r.thin*2 + 1
	r.gap = max(r.thin+1, (r.cellW+2)/6)
	return r, nil
}

// FontName names the primary font and where it came from, for example
// "DejaVu Sans Mono (/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf)"
// or "Go Mono (embedded)".
func (r *Renderer) FontName() string { return r.faces.name }

// CellSize returns the size of one terminal cell in pixels.
func (r *Renderer) CellSize() (width, height int) { return r.cellW, r.cellH }

// Padding returns the border around the cell grid in pixels.
func (r *Renderer) Padding() int { return r.pad }

// CellRect returns the pixel rectangle of the cell at column x, row y.
func (r *Renderer) CellRect(x, y int) image.Rectangle {
	x0, y0 := r.pad+x*r.cellW, r.pad+y*r.cellH
	return image.Rect(x0, y0, x0+r.cellW, y0+r.cellH)
}

// Render draws ansi on a cols×rows terminal and returns the image. Text
// beyond the last row scrolls the screen, as in a terminal.
func (r *Renderer) Render(ansi string, cols, rows int) (*image.RGBA, error) {
	if cols < 1 || rows < 1 || cols > maxCells || rows > maxCells {
		return nil, fmt.Errorf("screenshots: terminal size %d×%d is outside 1×1–%d×%d", cols, rows, maxCells, maxCells)
	}
	emu := vt.NewEmulator(cols, rows)
	// The emulator answers queries on a pipe, and blocks until someone
	// reads the answer. sanitize drops the queries it recognises; draining
	// the pipe covers the ones it misses (a parser corner case must not
	// hang a screenshot). Closing the pipe's writer, not the emulator, ends
	// the drain: Emulator.Close races with a concurrent Read.
	if pw, ok := emu.InputPipe().(io.Closer); ok {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(io.Discard, emu)
		}()
		defer func() {
			_ = pw.Close()
			<-done
		}()
	}
	if _, err := emu.WriteString(sanitize(ansi)); err != nil {
		return nil, fmt.Errorf("screenshots: emulate terminal: %w", err)
	}

	img := image.NewRGBA(image.Rect(0, 0, 2*r.pad+cols*r.cellW, 2*r.pad+rows*r.cellH))
	draw.Draw(img, img.Bounds(), image.NewUniform(r.pal.Background), image.Point{}, draw.Src)

	// Backgrounds first, then contents: a glyph that overhangs its cell
	// (italics, wide fallback glyphs) is not cut off by the next cell's fill.
	for pass := range 2 {
		for y := range rows {
			for x := range cols {
				c := emu.CellAt(x, y)
				if c == nil || c.Width == 0 {
					continue // the right half of a wide rune
				}
				w := max(c.Width, 1)
				if x+w > cols {
					w = cols - x
				}
				rect := r.CellRect(x, y)
				rect.Max.X = rect.Min.X + w*r.cellW
				fg, bg := r.colours(&c.Style)
				if pass == 0 {
					draw.Draw(img, rect, image.NewUniform(bg), image.Point{}, draw.Src)
					continue
				}
				r.drawContent(img, rect, c, fg)
				r.decorate(img, rect, &c.Style, fg)
			}
		}
	}
	return img, nil
}

// colours resolves a cell's foreground and background, applying reverse,
// faint and conceal.
func (r *Renderer) colours(s *uv.Style) (fg, bg color.RGBA) {
	fg = r.pal.resolve(s.Fg, r.pal.Foreground)
	bg = r.pal.resolve(s.Bg, r.pal.Background)
	if s.Attrs&uv.AttrReverse != 0 {
		fg, bg = bg, fg
	}
	if s.Attrs&uv.AttrFaint != 0 {
		fg = blend(fg, bg, 0.45)
	}
	if s.Attrs&uv.AttrConceal != 0 {
		fg = bg
	}
	return fg, bg
}

func styleOf(s *uv.Style) fontStyle {
	st := styleRegular
	if s.Attrs&uv.AttrBold != 0 {
		st |= styleBold
	}
	if s.Attrs&uv.AttrItalic != 0 {
		st |= styleItalic
	}
	return st
}

// drawContent paints the grapheme of cell c into rect.
func (r *Renderer) drawContent(img *image.RGBA, rect image.Rectangle, c *uv.Cell, fg color.RGBA) {
	content := c.Content
	if content == "" || content == " " || c.Style.Attrs&uv.AttrConceal != 0 {
		return
	}
	first, size := utf8.DecodeRuneInString(content)
	if size == len(content) {
		p := cellPainter{dst: img, r: rect, fg: fg, thin: r.thin, strong: r.strong, gap: r.gap}
		if p.drawShape(first) {
			return
		}
	}
	st := styleOf(&c.Style)
	// Clip to the row, allowing half a cell of overhang on each side.
	clip := image.Rect(rect.Min.X-r.cellW/2, rect.Min.Y, rect.Max.X+r.cellW/2, rect.Max.Y).Intersect(img.Rect)
	if size == len(content) {
		g := r.glyph(st, first, rect.Dx())
		if g.mask == nil {
			return
		}
		dr := g.mask.Rect.Add(rect.Min.Add(g.off)).Intersect(clip)
		draw.DrawMask(img, dr, image.NewUniform(fg), image.Point{}, g.mask, dr.Min.Sub(rect.Min.Add(g.off)), draw.Over)
		return
	}
	r.drawCluster(img, rect, clip, st, content, fg)
}

// glyph returns the cached mask for r drawn in a cell span of width pixels.
func (r *Renderer) glyph(st fontStyle, ru rune, width int) *glyph {
	key := glyphKey{st, ru}
	if width != r.cellW {
		key.style += numStyles * fontStyle(width/r.cellW) // wide cells centre differently
	}
	if g, ok := r.glyphs[key]; ok {
		return g
	}
	g := &glyph{}
	face, _, ok := r.faces.pick(st, ru)
	if !ok {
		g.mask, g.off = r.tofu(width)
	} else if dr, mask, maskp, adv, ok := face.Glyph(fixed.P(0, r.ascent), ru); ok && !dr.Empty() {
		// Centre glyphs whose advance is not the cell span (fallback
		// faces, wide runes) horizontally.
		dx := (width - adv.Round()) / 2
		a := image.NewAlpha(image.Rect(0, 0, dr.Dx(), dr.Dy()))
		draw.Draw(a, a.Rect, mask, maskp, draw.Src)
		g.mask, g.off = a, dr.Min.Add(image.Pt(dx, 0))
	}
	r.glyphs[key] = g
	return g
}

// tofu is the hollow box drawn for runes no font has.
func (r *Renderer) tofu(width int) (*image.Alpha, image.Point) {
	inset := max(1, r.cellW/6)
	w, h := width-2*inset, r.cellH-2*inset-r.cellH/8
	if w < 2 || h < 2 {
		return nil, image.Point{}
	}
	a := image.NewAlpha(image.Rect(0, 0, w, h))
	for x := range w {
		a.SetAlpha(x, 0, color.Alpha{A: 0xff})
		a.SetAlpha(x, h-1, color.Alpha{A: 0xff})
	}
	for y := range h {
		a.SetAlpha(0, y, color.Alpha{A: 0xff})
		a.SetAlpha(w-1, y, color.Alpha{A: 0xff})
	}
	return a, image.Pt(inset, inset)
}

// drawCluster draws a multi-rune grapheme (a letter with combining marks,
// an emoji sequence) with the face of its first rune, uncached.
func (r *Renderer) drawCluster(img *image.RGBA, rect, clip image.Rectangle, st fontStyle, s string, fg color.RGBA) {
	first, _ := utf8.DecodeRuneInString(s)
	face, _, ok := r.faces.pick(st, first)
	if !ok {
		g := r.glyph(st, first, rect.Dx()) // tofu
		if g.mask != nil {
			dr := g.mask.Rect.Add(rect.Min.Add(g.off)).Intersect(clip)
			draw.DrawMask(img, dr, image.NewUniform(fg), image.Point{}, g.mask, dr.Min.Sub(rect.Min.Add(g.off)), draw.Over)
		}
		return
	}
	adv := font.MeasureString(face, s).Round()
	sub := img.SubImage(clip).(*image.RGBA)
	d := font.Drawer{
		Dst:  sub,
		Src:  image.NewUniform(fg),
		Face: face,
		Dot:  fixed.P(rect.Min.X+(rect.Dx()-adv)/2, rect.Min.Y+r.ascent),
	}
	d.DrawString(s)
}

// decorate draws underline and strikethrough across rect.
func (r *Renderer) decorate(img *image.RGBA, rect image.Rectangle, s *uv.Style, fg color.RGBA) {
	if s.Underline != uv.UnderlineNone {
		uc := fg
		if s.UnderlineColor != nil {
			uc = r.pal.resolve(s.UnderlineColor, fg)
		}
		y := rect.Min.Y + r.ascent + max(1, r.cellH/12)
		t := r.thin
		switch s.Underline {
		case uv.UnderlineDouble:
			hline(img, rect.Min.X, rect.Max.X, y, t, uc, 1)
			hline(img, rect.Min.X, rect.Max.X, y+2*t, t, uc, 1)
		case uv.UnderlineCurly:
			amp := float64(max(1, r.cellH/10))
			for x := rect.Min.X; x < rect.Max.X; x++ {
				phase := 2 * math.Pi * float64(x-rect.Min.X) / float64(r.cellW)
				yy := y + int(math.Round(amp/2+amp*math.Sin(phase)))
				hline(img, x, x+1, yy, t, uc, 1)
			}
		case uv.UnderlineDotted:
			for x := rect.Min.X; x < rect.Max.X; x += 2 * t {
				hline(img, x, x+t, y, t, uc, 1)
			}
		case uv.UnderlineDashed:
			dash := max(2, r.cellW/2)
			for x := rect.Min.X; x < rect.Max.X; x += 2 * dash {
				hline(img, x, x+dash, y, t, uc, 1)
			}
		default:
			hline(img, rect.Min.X, rect.Max.X, y, t, uc, 1)
		}
	}
	if s.Attrs&uv.AttrStrikethrough != 0 {
		hline(img, rect.Min.X, rect.Max.X, rect.Min.Y+r.ascent*2/3, r.thin, fg, 1)
	}
}

// hline fills [x0,x1)×[y,y+t) with c.
func hline(img *image.RGBA, x0, x1, y, t int, c color.RGBA, a float64) {
	for yy := y; yy < y+t; yy++ {
		for x := x0; x < x1; x++ {
			blendPixel(img, x, yy, c, a)
		}
	}
}

// Render draws ansi on a cols×rows terminal with a fresh [Renderer].
func Render(ansi string, cols, rows int, opts Options) (image.Image, error) {
	r, err := NewRenderer(opts)
	if err != nil {
		return nil, err
	}
	return r.Render(ansi, cols, rows)
}

// EncodePNG writes img as a PNG. The output depends only on the pixels.
func EncodePNG(w io.Writer, img image.Image) error {
	// Default compression: BestCompression saves under 2% at 7× the time.
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(w, img); err != nil {
		return fmt.Errorf("screenshots: encode png: %w", err)
	}
	return nil
}

// WritePNG renders ansi on a cols×rows terminal into the PNG file path,
// replacing it.
func (r *Renderer) WritePNG(path, ansi string, cols, rows int) error {
	img, err := r.Render(ansi, cols, rows)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := EncodePNG(&buf, img); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("screenshots: %w", err)
	}
	return nil
}

// WritePNG renders ansi on a cols×rows terminal with default options into
// the PNG file path, replacing it.
func WritePNG(path, ansi string, cols, rows int) error {
	r, err := NewRenderer(Options{})
	if err != nil {
		return err
	}
	return r.WritePNG(path, ansi, cols, rows)
}
