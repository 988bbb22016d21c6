package screenshots_test

import (
	"testing"

	"github.com/kalamdash/kalamdash/screenshots"
)

// BenchmarkRender120x36 measures one full screenshot (emulate, paint) with
// a warm glyph cache, as the generator takes several in a row.
func BenchmarkRender120x36(b *testing.B) {
	r := newRenderer(b, screenshots.Options{})
	in := sampleScreen(120, 36)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(in, 120, 36); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewRenderer measures loading the fonts (parsed once per process)
// and building the faces.
func BenchmarkNewRenderer(b *testing.B) {
	for b.Loop() {
		if _, err := screenshots.NewRenderer(screenshots.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
