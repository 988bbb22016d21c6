package theme

import (
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
)

// TestNoColorEmitsNoColourCodes checks that the NO_COLOR variant renders
// without any SGR colour parameters (38;… / 48;…), while the dark theme
// does colour text.
func TestNoColorEmitsNoColourCodes(t *testing.T) {
	nc := NoColor()
	for name, st := range map[string]lipgloss.Style{"ok": nc.OK, "badge": nc.BadgeErr, "sel": nc.Selected, "in": nc.In} {
		out := st.Render("x")
		if strings.Contains(out, "38;") || strings.Contains(out, "48;") {
			t.Errorf("NoColor %s style renders colour codes: %q", name, out)
		}
	}
	if out := New(true).OK.Render("x"); !strings.Contains(out, "38;") {
		t.Errorf("dark OK style renders no foreground colour: %q", out)
	}
	if nc.Colour || !New(false).Colour {
		t.Error("Colour flag wrong")
	}
}

// TestFromEnvHonoursNoColor checks NO_COLOR selects the no-colour variant.
func TestFromEnvHonoursNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	if FromEnv(true).Colour {
		t.Error("NO_COLOR=1 still gave a colour theme")
	}
	t.Setenv("NO_COLOR", "")
	if !FromEnv(true).Colour {
		t.Error("empty NO_COLOR gave the no-colour theme")
	}
}

// TestPalettesDiffer makes sure light and dark are distinct palettes.
func TestPalettesDiffer(t *testing.T) {
	if DarkPalette().Fg == LightPalette().Fg {
		t.Error("dark and light foregrounds are equal")
	}
}
