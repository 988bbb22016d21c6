package screenshots_test

import (
	"bytes"
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/screenshots"
)

// newRenderer uses the embedded font so pixel tests give the same result on
// every machine.
func newRenderer(t testing.TB, opts screenshots.Options) *screenshots.Renderer {
	t.Helper()
	opts.EmbeddedFontOnly = true
	r, err := screenshots.NewRenderer(opts)
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r
}

func render(t testing.TB, r *screenshots.Renderer, ansi string, cols, rows int) *image.RGBA {
	t.Helper()
	img, err := r.Render(ansi, cols, rows)
	if err != nil {
		t.Fatalf("Render(%q): %v", ansi, err)
	}
	return img
}

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{R: r, G: g, B: b, A: 0xff} }

// centre is the pixel in the middle of cell (x, y).
func centre(r *screenshots.Renderer, x, y int) image.Point {
	c := r.CellRect(x, y)
	return image.Pt((c.Min.X+c.Max.X)/2, (c.Min.Y+c.Max.Y)/2)
}

// lit counts the pixels of cell (x, y) that are not the colour bg.
func lit(img *image.RGBA, r *screenshots.Renderer, x, y int, bg color.RGBA) int {
	n := 0
	c := r.CellRect(x, y)
	for py := c.Min.Y; py < c.Max.Y; py++ {
		for px := c.Min.X; px < c.Max.X; px++ {
			if img.RGBAAt(px, py) != bg {
				n++
			}
		}
	}
	return n
}

func TestRenderBackgroundColours(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	pal := screenshots.DarkPalette
	img := render(t, r,
		"\x1b[41m \x1b[0m"+ // 16-colour red
			"\x1b[48;5;196m \x1b[0m"+ // 256-colour cube red
			"\x1b[48;5;244m \x1b[0m"+ // 256-colour grey ramp
			"\x1b[48;2;10;200;30m \x1b[0m"+ // true colour
			"\x1b[103m \x1b[0m"+ // bright yellow
			" "+ // default
			"\x1b[7m \x1b[0m"+ // reverse: default fg becomes the background
			"\x1b[48;5;4m \x1b[49m ", // indexed 0–15 use the palette; 49 resets
		9, 1)
	want := []color.RGBA{
		pal.ANSI[1], rgb(255, 0, 0), rgb(128, 128, 128), rgb(10, 200, 30),
		pal.ANSI[11], pal.Background, pal.Foreground, pal.ANSI[4], pal.Background,
	}
	for x, w := range want {
		p := centre(r, x, 0)
		if got := img.RGBAAt(p.X, p.Y); got != w {
			t.Errorf("cell %d: background %v, want %v", x, got, w)
		}
	}
}

func TestRenderForegroundAttributes(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	pal := screenshots.DarkPalette
	// Full blocks show the foreground colour in the cell centre.
	img := render(t, r,
		"\x1b[38;2;200;100;50m█\x1b[0m"+
			"\x1b[2;38;2;200;100;50m█\x1b[0m"+ // faint: towards the background
			"\x1b[7;38;2;200;100;50;48;2;0;0;255m█\x1b[0m"+ // reverse: drawn in the bg colour
			"\x1b[8m█\x1b[0m"+ // concealed: nothing drawn
			"\x1b[32m█\x1b[0m", // 16-colour foreground
		5, 1)
	check := func(x int, want color.RGBA) {
		t.Helper()
		p := centre(r, x, 0)
		if got := img.RGBAAt(p.X, p.Y); got != want {
			t.Errorf("cell %d: %v, want %v", x, got, want)
		}
	}
	check(0, rgb(200, 100, 50))
	check(2, rgb(0, 0, 255))
	check(3, pal.Background)
	check(4, pal.ANSI[2])
	p := centre(r, 1, 0)
	faint := img.RGBAAt(p.X, p.Y)
	if faint == rgb(200, 100, 50) || faint == pal.Background || faint.R >= 200 || faint.R <= pal.Background.R {
		t.Errorf("faint block %v is not between the colour and the background", faint)
	}
}

func TestRenderBoldIsHeavier(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	img := render(t, r, "M\x1b[1mM\x1b[0m", 2, 1)
	bg := screenshots.DarkPalette.Background
	regular, bold := lit(img, r, 0, 0, bg), lit(img, r, 1, 0, bg)
	if regular == 0 || bold <= regular {
		t.Errorf("lit pixels: regular M %d, bold M %d; want bold > regular > 0", regular, bold)
	}
}

func TestRenderUnderlineAndStrikethrough(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	bg := screenshots.DarkPalette.Background
	img := render(t, r, "\x1b[4;31m \x1b[24m \x1b[9m \x1b[0m", 3, 1)
	if n := lit(img, r, 0, 0, bg); n == 0 {
		t.Error("underlined space: nothing drawn")
	}
	if n := lit(img, r, 1, 0, bg); n != 0 {
		t.Errorf("plain space: %d pixels drawn", n)
	}
	if n := lit(img, r, 2, 0, bg); n == 0 {
		t.Error("struck-through space: nothing drawn")
	}
	// The underline takes its colour from the text (red) when SGR 58 is unset.
	c := r.CellRect(0, 0)
	found := false
	for y := c.Min.Y; y < c.Max.Y; y++ {
		if img.RGBAAt(c.Min.X+1, y) == screenshots.DarkPalette.ANSI[1] {
			found = true
		}
	}
	if !found {
		t.Error("underline is not drawn in the text colour")
	}
}

func TestRenderBoxDrawingJoins(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	img := render(t, r, "┌──┐\n│  │\n╰──╯", 4, 3)
	fg := screenshots.DarkPalette.Foreground
	// The horizontal line of row 0 is unbroken from the corner to the corner.
	c0, c3 := r.CellRect(0, 0), r.CellRect(3, 0)
	y := -1
	for py := c0.Min.Y; py < c0.Max.Y; py++ {
		if img.RGBAAt(c0.Min.X+c0.Dx()-1, py) == fg {
			y = py
			break
		}
	}
	if y < 0 {
		t.Fatal("no horizontal stroke at the right edge of ┌")
	}
	for px := (c0.Min.X + c0.Max.X) / 2; px < (c3.Min.X+c3.Max.X)/2; px++ {
		if img.RGBAAt(px, y) != fg {
			t.Fatalf("gap in the top border at x=%d", px)
		}
	}
	// The left border runs unbroken from row 0's centre into row 2.
	col := -1
	for px := c0.Min.X; px < c0.Max.X; px++ {
		if img.RGBAAt(px, c0.Max.Y-1) == fg {
			col = px
			break
		}
	}
	if col < 0 {
		t.Fatal("no vertical stroke at the bottom of ┌")
	}
	for py := y; py < r.CellRect(0, 2).Min.Y+2; py++ {
		if img.RGBAAt(col, py) != fg {
			t.Fatalf("gap in the left border at y=%d", py)
		}
	}
}

func TestRenderBlocksAndBraille(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	bg := screenshots.DarkPalette.Background
	img := render(t, r, "▁▄█⠀⠁⣿▌", 7, 1)
	area := r.CellRect(0, 0).Dx() * r.CellRect(0, 0).Dy()
	low, half, full := lit(img, r, 0, 0, bg), lit(img, r, 1, 0, bg), lit(img, r, 2, 0, bg)
	if !(0 < low && low < half && half < full && full == area) {
		t.Errorf("lit pixels ▁ %d, ▄ %d, █ %d (cell %d); want increasing, █ full", low, half, full, area)
	}
	if n := lit(img, r, 6, 0, bg); n != area/2 {
		t.Errorf("▌ lit %d pixels, want half the cell (%d)", n, area/2)
	}
	blank, one, all := lit(img, r, 3, 0, bg), lit(img, r, 4, 0, bg), lit(img, r, 5, 0, bg)
	if blank != 0 || one == 0 || all < 6*one {
		t.Errorf("braille lit pixels: ⠀ %d, ⠁ %d, ⣿ %d; want 0, >0, about 8×", blank, one, all)
	}
}

func TestRenderWideRunes(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	blue := screenshots.DarkPalette.ANSI[4]
	img := render(t, r, "\x1b[44m日\x1b[0mx", 4, 1)
	for x := range 2 {
		// Sample near the cell's top edge, above any glyph ink.
		c := r.CellRect(x, 0)
		if got := img.RGBAAt((c.Min.X+c.Max.X)/2, c.Min.Y); got != blue {
			t.Errorf("cell %d of the wide rune: background %v, want %v", x, got, blue)
		}
	}
	bg := screenshots.DarkPalette.Background
	if lit(img, r, 2, 0, bg) == 0 {
		t.Error("the x after a wide rune is not in column 2")
	}
	if lit(img, r, 3, 0, bg) != 0 {
		t.Error("column 3 should be empty")
	}
}

func TestRenderNewlinesAndTrailingNewline(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	bg := screenshots.DarkPalette.Background
	// A capture ends every line with \n, the last one too; that must not
	// scroll the first row off a full-height screen. Bare \n returns to
	// column 0 (no staircase).
	img := render(t, r, "ab\ncd\n", 2, 2)
	for y := range 2 {
		for x := range 2 {
			if lit(img, r, x, y, bg) == 0 {
				t.Errorf("cell (%d,%d) is empty", x, y)
			}
		}
	}
}

func TestRenderIgnoresQueries(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	// Each of these makes a terminal answer; nothing reads the emulator's
	// replies, so they must be dropped rather than block. The test itself
	// would hang (and time out) if they were not.
	in := "\x1b[c\x1b[>c\x1b[5n\x1b[6n\x1b[?2048h\x1b[?25$p\x1bZ\x1b]11;?\x07\x1b]0;title\x07\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"
	img := render(t, r, in, 4, 1)
	bg := screenshots.DarkPalette.Background
	for x := range 4 {
		if lit(img, r, x, 0, bg) == 0 {
			t.Errorf("column %d of the hyperlink text is empty", x)
		}
	}
}

func TestRenderSizeAndPadding(t *testing.T) {
	r := newRenderer(t, screenshots.Options{Padding: 7, Palette: &screenshots.LightPalette})
	img := render(t, r, "\x1b[41m  \x1b[0m", 3, 2)
	w, h := r.CellSize()
	if got, want := img.Bounds().Size(), image.Pt(2*7+3*w, 2*7+2*h); got != want {
		t.Fatalf("image size %v, want %v", got, want)
	}
	if got := img.RGBAAt(0, 0); got != screenshots.LightPalette.Background {
		t.Errorf("padding colour %v, want the light background", got)
	}
	if c := r.CellRect(0, 0); c.Min != image.Pt(7, 7) {
		t.Errorf("first cell at %v, want (7,7)", c.Min)
	}
	none := newRenderer(t, screenshots.Options{Padding: -1})
	if none.Padding() != 0 {
		t.Errorf("negative padding gave %d, want 0", none.Padding())
	}
}

func TestRenderRejectsBadArguments(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	for _, sz := range [][2]int{{0, 1}, {1, 0}, {-5, 3}, {100000, 10}} {
		if _, err := r.Render("x", sz[0], sz[1]); err == nil || !strings.Contains(err.Error(), "terminal size") {
			t.Errorf("Render at %v: err %v, want a terminal size error", sz, err)
		}
	}
	if _, err := screenshots.NewRenderer(screenshots.Options{FontSize: 1e6}); err == nil {
		t.Error("NewRenderer with an absurd font size: no error")
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	in := sampleScreen(60, 12) // small: PNG compression is slow under -race
	encode := func(opts screenshots.Options) []byte {
		r, err := screenshots.NewRenderer(opts)
		if err != nil {
			t.Fatal(err)
		}
		img, err := r.Render(in, 60, 12)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := screenshots.EncodePNG(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, opts := range []screenshots.Options{{EmbeddedFontOnly: true}, {}} {
		a, b := encode(opts), encode(opts)
		if !bytes.Equal(a, b) {
			t.Errorf("options %+v: two renders of the same input differ", opts)
		}
	}
}

func TestRenderFallsBackToEmbeddedFont(t *testing.T) {
	r, err := screenshots.NewRenderer(screenshots.Options{FontDirs: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.FontName(); got != "Go Mono (embedded)" {
		t.Errorf("FontName with no font files: %q", got)
	}
	// Runes no face has are drawn as a box, not skipped and not a panic.
	img := render(t, r, "\ue000", 1, 1)
	if lit(img, r, 0, 0, screenshots.DarkPalette.Background) == 0 {
		t.Error("a rune without a glyph drew nothing")
	}
}

func TestRenderUsesDejaVuWhenInstalled(t *testing.T) {
	dir := "/usr/share/fonts/truetype/dejavu"
	r, err := screenshots.NewRenderer(screenshots.Options{FontDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.FontName(), "DejaVu Sans Mono (") {
		t.Skipf("DejaVu fonts not in %s (apt-get install fonts-dejavu-core); renderer uses %s", dir, r.FontName())
	}
	if !strings.Contains(r.FontName(), filepath.Join(dir, "DejaVuSansMono.ttf")) {
		t.Errorf("FontName %q does not say which file", r.FontName())
	}
}

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.png")
	if err := screenshots.WritePNG(path, "\x1b[1;32mok\x1b[0m", 10, 2); err != nil {
		t.Fatal(err)
	}
	if err := screenshots.WritePNG(filepath.Join(t.TempDir(), "missing", "x.png"), "x", 1, 1); err == nil {
		t.Error("WritePNG into a missing directory: no error")
	}
}

// FuzzRender checks that no input makes the renderer panic or hang.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"", "\x1b", "\x1b[", "\x1b[38;5;300m", "\x1b[38;2;999;-1;3mx", "\x1b[4:9mx", "\xff\xfe",
		"\x1b[\x00cA", "\x1b]8;;", "日本\x1b[2K\r\x1b[1A", "\t\t\t\t\t\t\tx", "e\u0301\u200d\ufe0f", "\x9b31m",
		strings.Repeat("\n", 50), "\x1b[?1049h\x1b[Hx\x1b[?1049l",
	} {
		f.Add(s)
	}
	r := newRenderer(f, screenshots.Options{FontSize: 8})
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := r.Render(s, 12, 4); err != nil {
			t.Fatalf("Render(%q): %v", s, err)
		}
	})
}

func TestRenderDoubleLinesFormFrames(t *testing.T) {
	r := newRenderer(t, screenshots.Options{})
	img := render(t, r, "╔═╗\n╚═╝", 3, 2)
	fg := screenshots.DarkPalette.Foreground
	mid := r.CellRect(1, 0)
	cx := (mid.Min.X + mid.Max.X) / 2
	var ys []int
	for y := mid.Min.Y; y < mid.Max.Y; y++ {
		if img.RGBAAt(cx, y) == fg {
			ys = append(ys, y)
		}
	}
	if len(ys) != 2 {
		t.Fatalf("═ has fg pixels at rows %v, want two strokes", ys)
	}
	outer, inner := ys[0], ys[1]
	left, right := r.CellRect(0, 0), r.CellRect(2, 0)
	// The outer stroke runs unbroken from corner to corner.
	for x := (left.Min.X + left.Max.X) / 2; x <= (right.Min.X+right.Max.X)/2; x++ {
		if img.RGBAAt(x, outer) != fg {
			t.Fatalf("gap in the outer stroke at x=%d", x)
		}
	}
	// The inner stroke turns down before the cell centre of ╔: an inner
	// corner, so the centre column of ╔ is empty on that row.
	if img.RGBAAt((left.Min.X+left.Max.X)/2, inner) == fg {
		t.Error("inner stroke of ╔ reaches the centre: corners do not join as a frame")
	}
	if img.RGBAAt(left.Max.X, inner) != fg {
		t.Error("inner stroke of ╔ does not reach the right edge")
	}
}
