// Package theme turns a semantic palette into the one Styles struct the
// dashboard renders with. Colours are named by role (accent, warn, insert…),
// never by hue, and every style derives from them, so a light palette, a
// dark palette and a no-colour variant differ only in New's table.
//
// There are no package-level styles: the UI builds a Styles value with New
// (or NoColor) and passes it down, and rebuilds it when the terminal answers
// the background-colour query.
package theme

import (
	"image/color"
	"os"

	"charm.land/lipgloss/v2"
)

// Palette names colours by their role in the dashboard.
type Palette struct {
	Fg        color.Color // body text
	Muted     color.Color // secondary text: labels, units, help descriptions
	Subtle    color.Color // borders, separators, empty progress
	Bg        color.Color // panel background when one is needed (bars)
	Accent    color.Color // focus, titles, selected tab
	Accent2   color.Color // secondary highlight (keys in help)
	SelFg     color.Color // selected row text
	SelBg     color.Color // selected row background
	OK        color.Color // healthy: connected, fresh token, insert
	Warn      color.Color // attention: expiring, reconnecting, update
	Err       color.Color // failure: dead token, closed, delete
	Info      color.Color // neutral notices
	In        color.Color // server → client frames
	Out       color.Color // client → server frames
	JSONKey   color.Color
	JSONStr   color.Color
	JSONNum   color.Color
	JSONConst color.Color // true, false, null
}

// DarkPalette is the palette for dark terminal backgrounds.
func DarkPalette() Palette {
	return Palette{
		Fg:        lipgloss.Color("#DDE1E6"),
		Muted:     lipgloss.Color("#8D96A0"),
		Subtle:    lipgloss.Color("#4B5260"),
		Bg:        lipgloss.Color("#1F232B"),
		Accent:    lipgloss.Color("#7AA2F7"),
		Accent2:   lipgloss.Color("#BB9AF7"),
		SelFg:     lipgloss.Color("#FFFFFF"),
		SelBg:     lipgloss.Color("#34405A"),
		OK:        lipgloss.Color("#9ECE6A"),
		Warn:      lipgloss.Color("#E0AF68"),
		Err:       lipgloss.Color("#F7768E"),
		Info:      lipgloss.Color("#7DCFFF"),
		In:        lipgloss.Color("#73DACA"),
		Out:       lipgloss.Color("#FF9E64"),
		JSONKey:   lipgloss.Color("#7AA2F7"),
		JSONStr:   lipgloss.Color("#9ECE6A"),
		JSONNum:   lipgloss.Color("#FF9E64"),
		JSONConst: lipgloss.Color("#BB9AF7"),
	}
}

// LightPalette is the palette for light terminal backgrounds.
func LightPalette() Palette {
	return Palette{
		Fg:        lipgloss.Color("#24292F"),
		Muted:     lipgloss.Color("#57606A"),
		Subtle:    lipgloss.Color("#AFB8C1"),
		Bg:        lipgloss.Color("#EAEEF2"),
		Accent:    lipgloss.Color("#0550AE"),
		Accent2:   lipgloss.Color("#8250DF"),
		SelFg:     lipgloss.Color("#000000"),
		SelBg:     lipgloss.Color("#C8DAF5"),
		OK:        lipgloss.Color("#1A7F37"),
		Warn:      lipgloss.Color("#9A6700"),
		Err:       lipgloss.Color("#CF222E"),
		Info:      lipgloss.Color("#0969DA"),
		In:        lipgloss.Color("#0E7C6B"),
		Out:       lipgloss.Color("#BC4C00"),
		JSONKey:   lipgloss.Color("#0550AE"),
		JSONStr:   lipgloss.Color("#116329"),
		JSONNum:   lipgloss.Color("#953800"),
		JSONConst: lipgloss.Color("#8250DF"),
	}
}

// Styles is every style the dashboard uses, derived from one Palette.
type Styles struct {
	Palette Palette
	// Colour is false for the no-colour variant; widgets that would
	// otherwise emit colour codes of their own (JSON highlighting,
	// sparklines) check it.
	Colour bool
	IsDark bool

	App       lipgloss.Style // title in the top bar
	Tab       lipgloss.Style
	TabActive lipgloss.Style
	Banner    lipgloss.Style // demo-server banner

	Title        lipgloss.Style // panel title
	TitleFocused lipgloss.Style
	Border       lipgloss.Style // separators and panel borders (blurred)
	BorderFocus  lipgloss.Style // border of the focused panel

	Text     lipgloss.Style
	Muted    lipgloss.Style
	Label    lipgloss.Style // "exp", "sub", field names
	Value    lipgloss.Style
	Selected lipgloss.Style // selected row
	Header   lipgloss.Style // table header

	OK   lipgloss.Style
	Warn lipgloss.Style
	Err  lipgloss.Style
	Info lipgloss.Style

	BadgeOK   lipgloss.Style // filled badges: phases, states
	BadgeWarn lipgloss.Style
	BadgeErr  lipgloss.Style
	BadgeInfo lipgloss.Style

	In  lipgloss.Style // ↓ inbound frame arrow
	Out lipgloss.Style // ↑ outbound frame arrow

	Insert lipgloss.Style // row just inserted
	Update lipgloss.Style
	Delete lipgloss.Style
	Null   lipgloss.Style // SQL NULL in a table cell

	Input       lipgloss.Style // text input body
	InputFocus  lipgloss.Style // text input prompt when focused
	ErrorBox    lipgloss.Style // login errors in place
	Dialog      lipgloss.Style // login form / palette box
	StatusBar   lipgloss.Style
	HelpKey     lipgloss.Style
	HelpDesc    lipgloss.Style
	HelpSep     lipgloss.Style
	BarFull     lipgloss.Style // progress bar, colour replaced per phase
	BarEmpty    lipgloss.Style
	Sparkline   lipgloss.Style
	JSONKey     lipgloss.Style
	JSONString  lipgloss.Style
	JSONNumber  lipgloss.Style
	JSONConst   lipgloss.Style
	Highlighted lipgloss.Style // filter matches
	// Marker draws what stands for a control character, a bidi control or
	// an invalid byte in text from outside (␛, ⏎, \x07, <U+202E>), so it
	// cannot pass for the text itself.
	Marker lipgloss.Style
}

// New returns the styles for a dark (isDark) or light terminal background.
func New(isDark bool) Styles {
	p := LightPalette()
	if isDark {
		p = DarkPalette()
	}
	return build(p, isDark, true)
}

// NoColor returns styles that use only bold, faint, underline and reverse,
// for NO_COLOR terminals and for golden files.
func NoColor() Styles {
	none := lipgloss.NoColor{}
	p := Palette{
		Fg: none, Muted: none, Subtle: none, Bg: none, Accent: none, Accent2: none,
		SelFg: none, SelBg: none, OK: none, Warn: none, Err: none, Info: none,
		In: none, Out: none, JSONKey: none, JSONStr: none, JSONNum: none, JSONConst: none,
	}
	return build(p, true, false)
}

// FromEnv returns NoColor when the NO_COLOR environment variable is set
// (https://no-color.org) and New(isDark) otherwise.
func FromEnv(isDark bool) Styles {
	if os.Getenv("NO_COLOR") != "" {
		return NoColor()
	}
	return New(isDark)
}

func build(p Palette, isDark, colour bool) Styles {
	s := lipgloss.NewStyle
	badge := func(c color.Color) lipgloss.Style {
		if !colour {
			return s().Bold(true).Reverse(true).Padding(0, 1)
		}
		return s().Bold(true).Foreground(p.Bg).Background(c).Padding(0, 1)
	}
	st := Styles{
		Palette: p,
		Colour:  colour,
		IsDark:  isDark,

		App:       s().Bold(true).Foreground(p.Accent),
		Tab:       s().Foreground(p.Muted).Padding(0, 1),
		TabActive: s().Bold(true).Foreground(p.Accent).Underline(true).Padding(0, 1),
		Banner:    s().Foreground(p.Info),

		Title:        s().Bold(true).Foreground(p.Muted),
		TitleFocused: s().Bold(true).Foreground(p.Accent),
		Border:       s().Foreground(p.Subtle),
		BorderFocus:  s().Foreground(p.Accent),

		Text:     s().Foreground(p.Fg),
		Muted:    s().Foreground(p.Muted),
		Label:    s().Foreground(p.Muted),
		Value:    s().Foreground(p.Fg).Bold(true),
		Selected: s().Foreground(p.SelFg).Background(p.SelBg).Bold(true),
		Header:   s().Foreground(p.Muted).Bold(true).Underline(true),

		OK:   s().Foreground(p.OK),
		Warn: s().Foreground(p.Warn),
		Err:  s().Foreground(p.Err),
		Info: s().Foreground(p.Info),

		BadgeOK:   badge(p.OK),
		BadgeWarn: badge(p.Warn),
		BadgeErr:  badge(p.Err),
		BadgeInfo: badge(p.Info),

		In:  s().Foreground(p.In).Bold(true),
		Out: s().Foreground(p.Out).Bold(true),

		Insert: s().Foreground(p.OK).Bold(true),
		Update: s().Foreground(p.Warn).Bold(true),
		Delete: s().Foreground(p.Err).Strikethrough(true),
		Null:   s().Foreground(p.Muted).Italic(true),

		Input:      s().Foreground(p.Fg),
		InputFocus: s().Foreground(p.Accent).Bold(true),
		ErrorBox:   s().Foreground(p.Err).Bold(true),
		Dialog:     s().Border(lipgloss.RoundedBorder()).BorderForeground(p.Accent).Padding(0, 1),
		StatusBar:  s().Foreground(p.Fg),
		HelpKey:    s().Foreground(p.Accent2).Bold(true),
		HelpDesc:   s().Foreground(p.Muted),
		HelpSep:    s().Foreground(p.Subtle),
		BarFull:    s().Foreground(p.OK),
		BarEmpty:   s().Foreground(p.Subtle),
		Sparkline:  s().Foreground(p.Info),
		JSONKey:    s().Foreground(p.JSONKey),
		JSONString: s().Foreground(p.JSONStr),
		JSONNumber: s().Foreground(p.JSONNum),
		JSONConst:  s().Foreground(p.JSONConst),

		Highlighted: s().Underline(true).Bold(true),
		Marker:      s().Foreground(p.Bg).Background(p.Warn),
	}
	if !colour {
		// Without colour the selection must still be visible.
		st.Selected = s().Reverse(true)
		st.TabActive = s().Bold(true).Underline(true).Padding(0, 1)
		st.Delete = s().Strikethrough(true)
		st.Insert = s().Bold(true)
		st.Update = s().Underline(true)
		st.Null = s().Faint(true).Italic(true)
		st.Dialog = s().Border(lipgloss.RoundedBorder()).Padding(0, 1)
		// Reverse marks it in plain text, underline inside a selected
		// (reversed) row.
		st.Marker = s().Reverse(true).Underline(true)
	}
	return st
}
