package ui

import (
	"image/color"

	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// newInput returns a text input styled from the theme. The cursor does not
// blink: a blinking cursor would wake the program twice a second for
// nothing and make screen captures differ.
func newInput(st theme.Styles, prompt, placeholder string) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.Placeholder = placeholder
	in.SetStyles(inputStyles(st))
	return in
}

func inputStyles(st theme.Styles) textinput.Styles {
	s := textinput.DefaultStyles(st.IsDark)
	s.Focused.Prompt = st.InputFocus
	s.Focused.Text = st.Input
	s.Focused.Placeholder = st.Muted
	s.Focused.Suggestion = st.Muted
	s.Blurred.Prompt = st.Label
	s.Blurred.Text = st.Muted
	s.Blurred.Placeholder = st.Muted
	s.Cursor.Blink = false
	s.Cursor.Color = cursorColour(st)
	return s
}

// cursorColour is the cursor colour of the text inputs and the composer's
// editor: the accent, or none without colour.
func cursorColour(st theme.Styles) color.Color {
	if st.Colour {
		return st.Palette.Accent
	}
	return lipgloss.NoColor{}
}
