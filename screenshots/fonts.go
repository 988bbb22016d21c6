package screenshots

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/gomonobolditalic"
	"golang.org/x/image/font/gofont/gomonoitalic"
	"golang.org/x/image/font/opentype"
)

// fontStyle indexes the four faces of a family.
type fontStyle int

const (
	styleRegular fontStyle = iota
	styleBold
	styleItalic
	styleBoldItalic
	numStyles
)

// fontFiles names the files of one family, by style; an empty name means the
// family has no such style.
type fontFiles struct {
	family string
	files  [numStyles]string
}

// dejaVuMono and dejaVuSans are looked up on disk; DejaVu Sans covers what
// the monospace face lacks (braille, many symbols).
var (
	dejaVuMono = fontFiles{"DejaVu Sans Mono", [numStyles]string{
		"DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
		"DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
	}}
	dejaVuSans = fontFiles{"DejaVu Sans", [numStyles]string{
		"DejaVuSans.ttf", "DejaVuSans-Bold.ttf",
		"DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
	}}
)

// goMonoTTF is the embedded last resort, always available.
var goMonoTTF = [numStyles][]byte{gomono.TTF, gomonobold.TTF, gomonoitalic.TTF, gomonobolditalic.TTF}

// DefaultFontDirs are searched, in order, for the DejaVu font files when
// [Options.FontDirs] is empty. They cover Debian/Ubuntu, Fedora, Arch,
// Alpine, Homebrew and per-user font directories.
func DefaultFontDirs() []string {
	dirs := []string{
		"/usr/share/fonts/truetype/dejavu",
		"/usr/share/fonts/dejavu",
		"/usr/share/fonts/dejavu-sans-mono-fonts",
		"/usr/share/fonts/dejavu-sans-fonts",
		"/usr/share/fonts/TTF",
		"/usr/share/fonts/ttf-dejavu",
		"/usr/local/share/fonts",
		"/opt/homebrew/share/fonts",
		"/Library/Fonts",
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs,
			filepath.Join(home, ".local/share/fonts"),
			filepath.Join(home, ".fonts"),
			filepath.Join(home, "Library/Fonts"))
	}
	return dirs
}

// parsedFonts caches parsed font files by path (or "gomono/N" for the
// embedded ones): parsing is the slow part, and *opentype.Font is safe for
// concurrent use, unlike the faces made from it.
var parsedFonts sync.Map // string → *opentype.Font

func parseFont(key string, data func() ([]byte, error)) (*opentype.Font, error) {
	if f, ok := parsedFonts.Load(key); ok {
		return f.(*opentype.Font), nil
	}
	b, err := data()
	if err != nil {
		return nil, err
	}
	f, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("screenshots: parse font %s: %w", key, err)
	}
	actual, _ := parsedFonts.LoadOrStore(key, f)
	return actual.(*opentype.Font), nil
}

// findFile returns the first dirs/name that exists, or "".
func findFile(dirs []string, name string) string {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// loadFamily parses the styles of fam found in dirs. It returns nil fonts
// for styles it cannot find, and the path of the regular face ("" if the
// family is absent).
func loadFamily(dirs []string, fam fontFiles) (fonts [numStyles]*opentype.Font, regular string) {
	for s, name := range fam.files {
		p := findFile(dirs, name)
		if p == "" {
			continue
		}
		f, err := parseFont(p, func() ([]byte, error) { return os.ReadFile(p) })
		if err != nil {
			continue // a broken file is treated as a missing one
		}
		fonts[s] = f
		if fontStyle(s) == styleRegular {
			regular = p
		}
	}
	return fonts, regular
}

// faceSet is the fallback chain of faces for each style; chain[s][0] is the
// primary face, which sets the cell size.
type faceSet struct {
	chain [numStyles][]font.Face
	name  string
}

// loadFaces builds the face chains for opts. The monospace DejaVu face is
// used only if its regular style exists; otherwise Go Mono is primary.
func loadFaces(opts *Options) (*faceSet, error) {
	var fonts [][numStyles]*opentype.Font
	fs := &faceSet{}
	if !opts.EmbeddedFontOnly {
		dirs := opts.FontDirs
		if len(dirs) == 0 {
			dirs = DefaultFontDirs()
		}
		mono, monoPath := loadFamily(dirs, dejaVuMono)
		if monoPath != "" {
			fonts = append(fonts, mono)
			fs.name = dejaVuMono.family + " (" + monoPath + ")"
			if sans, sansPath := loadFamily(dirs, dejaVuSans); sansPath != "" {
				fonts = append(fonts, sans)
			}
		}
	}
	var goMono [numStyles]*opentype.Font
	for s := range numStyles {
		f, err := parseFont(fmt.Sprintf("gomono/%d", s), func() ([]byte, error) { return goMonoTTF[s], nil })
		if err != nil {
			return nil, err
		}
		goMono[s] = f
	}
	fonts = append(fonts, goMono)
	if fs.name == "" {
		fs.name = "Go Mono (embedded)"
	}

	for s := range numStyles {
		for _, fam := range fonts {
			f := fam[s]
			if f == nil {
				f = fam[styleRegular] // e.g. no oblique file: upright beats a foreign face
			}
			if f == nil {
				continue
			}
			face, err := opentype.NewFace(f, &opentype.FaceOptions{
				Size:    opts.FontSize,
				DPI:     72,
				Hinting: font.HintingFull,
			})
			if err != nil {
				return nil, fmt.Errorf("screenshots: font face at size %v: %w", opts.FontSize, err)
			}
			fs.chain[s] = append(fs.chain[s], face)
		}
	}
	return fs, nil
}

// pick returns the first face of style s that has a glyph for r, and
// whether it is the primary one. ok is false when no face has it.
func (fs *faceSet) pick(s fontStyle, r rune) (face font.Face, primary, ok bool) {
	for i, f := range fs.chain[s] {
		if _, has := f.GlyphAdvance(r); has {
			return f, i == 0, true
		}
	}
	return nil, false, false
}
