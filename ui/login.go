package ui

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/theme"
)

// Login form fields, in tab order.
const (
	fieldProfile = iota
	fieldURL
	fieldAuth
	fieldUser
	fieldPassword
	fieldToken
	fieldSource
	fieldCompress
	fieldSerial
	numFields
)

// authModes are the session's auth modes the form offers; authLabels are
// what the form shows for them.
var (
	authModes  = []string{"password", "jwt", "none", "token-command", "token-file"}
	authLabels = []string{"user/password", "JWT", "none", "command", "file"}
)

// loginForm collects a LoginRequest. Enter submits from any field, so the
// pre-filled demo form is one key away from a live dashboard.
type loginForm struct {
	profiles   []Profile
	profile    int // -1: none
	url        textinput.Model
	user       textinput.Model
	password   textinput.Model
	token      textinput.Model
	source     textinput.Model // token command line or token file path
	auth       int
	noCompress bool
	msgpack    bool
	focus      int
	err        string
	hint       string
	busy       bool
	banner     string
	// pasteNote says what the last paste lost (cleanPaste), until the
	// next key.
	pasteNote string
	// inputW is the width the text inputs were given for the current
	// terminal width (setWidth); 0 until the first WindowSizeMsg.
	inputW int
}

// LoginDefaults pre-fills the login form.
type LoginDefaults struct {
	URL, User, Password, Token string
	Auth                       string // password, jwt, none, token-command, token-file
	TokenCommand, TokenFile    string
	NoCompress, Msgpack        bool
	Profile                    string
	// Banner is shown above the form (the demo-server notice).
	Banner string
}

func newLoginForm(st theme.Styles, profiles []Profile, d LoginDefaults) *loginForm {
	f := &loginForm{profiles: profiles, profile: -1, banner: d.Banner, noCompress: d.NoCompress, msgpack: d.Msgpack}
	// A one-space prompt lines the inputs up with the padded choices.
	f.url = newInput(st, " ", "https://kalamdb.example.com:8080")
	f.user = newInput(st, " ", "user")
	f.password = newInput(st, " ", "password")
	f.password.EchoMode = textinput.EchoPassword
	f.password.EchoCharacter = '•'
	f.token = newInput(st, " ", "paste a JWT")
	f.token.EchoMode = textinput.EchoPassword
	f.token.EchoCharacter = '•'
	f.source = newInput(st, " ", "")
	setOutside(&f.url, d.URL)
	setOutside(&f.user, d.User)
	f.password.SetValue(d.Password)
	f.token.SetValue(d.Token)
	for i, m := range authModes {
		if m == d.Auth {
			f.auth = i
		}
	}
	switch d.Auth {
	case "token-command":
		setOutside(&f.source, d.TokenCommand)
	case "token-file":
		setOutside(&f.source, d.TokenFile)
	}
	if d.Auth == "" && d.Token != "" {
		f.auth = 1
	}
	for i, p := range profiles {
		if p.Name == d.Profile {
			f.applyProfile(i)
		}
	}
	f.placeholders()
	f.focus = fieldURL
	f.focusInputs()
	return f
}

// setOutside fills a visible text input with a value from outside (a
// profile, the environment, flags). The input drops control characters
// itself but would show bidi overrides raw, so an unsafe value goes in as
// its markers: the user sees what is wrong with it, and logging in with it
// fails visibly instead of with a value that reads differently. (Secrets
// are shown masked and go in as they are.)
func setOutside(in *textinput.Model, v string) { in.SetValue(safetext.Line(v)) }

// cachedToken reports that the chosen profile caches its tokens and the
// form logs in with a password: the password may then be left empty.
func (f *loginForm) cachedToken() bool {
	return f.profile >= 0 && f.profile < len(f.profiles) && f.profiles[f.profile].CacheToken &&
		authModes[f.auth] == "password"
}

// cachedTokenHelp is the form's help while cachedToken holds.
const cachedTokenHelp = "this profile caches its tokens: leave the password empty to resume with them " +
	"(an expired access token is renewed with the cached refresh token)"

// placeholders say what the password and source fields want in the current
// profile and mode.
func (f *loginForm) placeholders() {
	f.password.Placeholder = "password"
	if f.cachedToken() {
		f.password.Placeholder = "empty: resume with the cached token"
	}
	switch authModes[f.auth] {
	case "token-command":
		f.source.Placeholder = "command printing a token (run before every connect)"
	case "token-file":
		f.source.Placeholder = "path of a token file (re-read before every connect)"
	}
}

func (f *loginForm) applyProfile(i int) {
	f.profile = i
	if i < 0 || i >= len(f.profiles) {
		f.placeholders()
		return
	}
	p := f.profiles[i]
	setOutside(&f.url, p.URL)
	setOutside(&f.user, p.User)
	for j, m := range authModes {
		if m == p.Auth {
			f.auth = j
		}
	}
	f.noCompress = p.NoCompress
	f.msgpack = p.Serialization == "msgpack"
	switch p.Auth {
	case "token-command":
		setOutside(&f.source, p.TokenCommand)
	case "token-file":
		setOutside(&f.source, p.TokenFile)
	}
	f.placeholders()
}

// visible reports whether a field applies to the current auth mode.
func (f *loginForm) visible(field int) bool {
	switch field {
	case fieldUser, fieldPassword:
		return authModes[f.auth] == "password"
	case fieldToken:
		return authModes[f.auth] == "jwt"
	case fieldSource:
		return authModes[f.auth] == "token-command" || authModes[f.auth] == "token-file"
	case fieldProfile:
		return len(f.profiles) > 0
	}
	return true
}

func (f *loginForm) move(dir int) {
	for i := 0; i < numFields; i++ {
		f.focus = (f.focus + dir + numFields) % numFields
		if f.visible(f.focus) {
			break
		}
	}
	f.focusInputs()
}

func (f *loginForm) focusInputs() {
	for i, in := range f.inputs() {
		if i == f.focus {
			in.Focus()
		} else {
			in.Blur()
		}
	}
}

// validateURL checks the server URL, or a cluster's node URLs separated
// by commas, and says in plain words what is wrong.
func validateURL(raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return errors.New("enter the server URL, for example http://localhost:8080")
	}
	nodes := strings.Split(raw, ",")
	if len(nodes) == 1 {
		return validateNodeURL(raw)
	}
	for i, n := range nodes {
		n = strings.TrimSpace(n)
		err := validateNodeURL(n)
		if n == "" {
			err = errors.New("empty: separate the nodes' URLs with single commas")
		}
		if err != nil {
			return fmt.Errorf("node %d of %d: %w", i+1, len(nodes), err)
		}
	}
	return nil
}

// validateNodeURL checks one server URL.
func validateNodeURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("the URL does not parse: %v", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("the URL must start with http://, https://, ws:// or wss:// (got %q)", u.Scheme+"://")
	}
	if u.Host == "" {
		return errors.New("the URL has no host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s is out of range (1–65535)", port)
		}
	}
	return nil
}

// request builds the LoginRequest, or an error to show in place.
func (f *loginForm) request() (LoginRequest, error) {
	if err := validateURL(f.url.Value()); err != nil {
		return LoginRequest{}, err
	}
	r := LoginRequest{
		URL:        strings.TrimSpace(f.url.Value()),
		Auth:       authModes[f.auth],
		NoCompress: f.noCompress,
	}
	r.Serialization = "json"
	if f.msgpack {
		r.Serialization = "msgpack"
	}
	if f.profile >= 0 && f.profile < len(f.profiles) {
		r.Profile = f.profiles[f.profile].Name
		r.Name = r.Profile
	}
	switch r.Auth {
	case "password":
		r.User, r.Password = strings.TrimSpace(f.user.Value()), f.password.Value()
		if r.User == "" {
			return r, errors.New("enter a user name (or switch auth to jwt or none)")
		}
	case "jwt":
		r.Token = strings.TrimSpace(f.token.Value())
		if r.Token == "" {
			return r, errors.New("paste a JWT access token (or switch auth to password or none)")
		}
	case "token-command":
		r.TokenCommand = strings.TrimSpace(f.source.Value())
		if r.TokenCommand == "" {
			return r, errors.New("enter a command that prints a token, e.g. gcloud auth print-identity-token")
		}
	case "token-file":
		r.TokenFile = strings.TrimSpace(f.source.Value())
		if r.TokenFile == "" {
			return r, errors.New("enter the path of a file holding the token")
		}
	}
	if r.Name == "" {
		// Named after the (first) node: the URL is valid by now.
		first, _, _ := strings.Cut(r.URL, ",")
		u, _ := url.Parse(strings.TrimSpace(first))
		r.Name = u.Host
		if r.User != "" {
			r.Name = r.User + "@" + u.Host
		}
	}
	return r, nil
}

// Update handles a key; it returns a request when the form is submitted.
func (f *loginForm) Update(msg tea.KeyPressMsg) (tea.Cmd, *LoginRequest) {
	if f.busy {
		return nil, nil
	}
	f.pasteNote = ""
	switch msg.String() {
	case "enter", "ctrl+s":
		r, err := f.request()
		if err != nil {
			f.err, f.hint = err.Error(), ""
			return nil, nil
		}
		f.err, f.hint = "", ""
		f.busy = true
		return nil, &r
	case "tab", "down":
		f.move(1)
		return nil, nil
	case "shift+tab", "up":
		f.move(-1)
		return nil, nil
	case "left", "right", "space":
		dir := 1
		if msg.String() == "left" {
			dir = -1
		}
		switch f.focus {
		case fieldProfile:
			n := len(f.profiles) + 1
			f.applyProfile((f.profile+1+dir+n)%n - 1)
			return nil, nil
		case fieldAuth:
			f.auth = (f.auth + dir + len(authModes)) % len(authModes)
			f.placeholders()
			return nil, nil
		case fieldCompress:
			f.noCompress = !f.noCompress
			return nil, nil
		case fieldSerial:
			f.msgpack = !f.msgpack
			return nil, nil
		}
	}
	return f.updateInput(msg), nil
}

// paste forwards a bracketed paste to the focused input.
func (f *loginForm) paste(msg tea.PasteMsg) tea.Cmd { return f.updateInput(msg) }

// updateInput hands msg to the focused text input, if any.
func (f *loginForm) updateInput(msg tea.Msg) tea.Cmd {
	in := f.inputs()[f.focus]
	if in == nil {
		return nil
	}
	var cmd tea.Cmd
	*in, cmd = in.Update(msg)
	return cmd
}

// inputs maps the text-input fields to their models.
func (f *loginForm) inputs() map[int]*textinput.Model {
	return map[int]*textinput.Model{fieldURL: &f.url, fieldUser: &f.user, fieldPassword: &f.password,
		fieldToken: &f.token, fieldSource: &f.source}
}

// loginInputs are the rendered text inputs the form shows (url, user,
// password, token, source; "" when hidden).
type loginInputs [5]string

// inputWidth is the cells a text input shows of its value in a form laid
// out for a terminal width cells wide: the form's inner width less the
// 15-cell label, the prompt and the cursor cell.
func inputWidth(width int) int { return max(clamp(width-8, 30, 72)-17, 8) }

// setWidth sizes the text inputs for a terminal width cells wide (Update
// calls it on every resize). The inputs scroll their value horizontally
// with the cursor within that width; a width change moves their window so
// the cursor stays in view.
func (f *loginForm) setWidth(width int) {
	w := inputWidth(width)
	if w == f.inputW {
		return
	}
	f.inputW = w
	for _, in := range f.inputs() {
		// SetWidth alone keeps the window computed for the old width;
		// moving the cursor to the end and back recomputes it.
		p := in.Position()
		in.SetWidth(w)
		in.CursorEnd()
		in.SetCursor(p)
	}
}

// inputViews renders the text inputs the current auth mode shows (at the
// width setWidth gave them).
func (f *loginForm) inputViews() loginInputs {
	view := func(in textinput.Model) string { return in.View() }
	var v loginInputs
	v[0] = view(f.url)
	switch authModes[f.auth] {
	case "password":
		v[1], v[2] = view(f.user), view(f.password)
	case "jwt":
		v[3] = view(f.token)
	case "token-command", "token-file":
		v[4] = view(f.source)
	}
	return v
}

// loginHelp is the form's key help, wrapped between entries on narrow
// terminals rather than cut.
var loginHelp = []string{"enter connect", "tab/↑↓ move", "←/→ change", "esc back", "ctrl+c quit"}

// render lays out the form around the rendered inputs iv.
func (f *loginForm) render(st theme.Styles, width, height int, iv loginInputs) string {
	inner := clamp(width-8, 30, 72)
	label := func(i int, s string) string {
		if f.focus == i {
			return st.InputFocus.Render(fit("› "+s, 15))
		}
		return st.Label.Render(fit("  "+s, 15))
	}
	choice := func(opts []string, sel int) string {
		var parts []string
		for i, o := range opts {
			if i == sel {
				parts = append(parts, safeIn(&st, st.TabActive, o))
			} else {
				parts = append(parts, safeIn(&st, st.Tab, o))
			}
		}
		return strings.Join(parts, "")
	}
	var rows []string
	rows = append(rows, st.App.Render("kalamdash")+st.Muted.Render(" · connect to a KalamDB server"), "")
	if len(f.profiles) > 0 {
		names := []string{"(none)"}
		for _, p := range f.profiles {
			names = append(names, p.Name)
		}
		rows = append(rows, label(fieldProfile, "profile")+choice(names, f.profile+1))
	}
	rows = append(rows, label(fieldURL, "server URL")+iv[0])
	rows = append(rows, label(fieldAuth, "auth")+choice(authLabels, f.auth))
	switch authModes[f.auth] {
	case "password":
		rows = append(rows, label(fieldUser, "user")+iv[1])
		rows = append(rows, label(fieldPassword, "password")+iv[2])
	case "jwt":
		rows = append(rows, label(fieldToken, "token")+iv[3])
	case "token-command":
		rows = append(rows, label(fieldSource, "command")+iv[4])
	case "token-file":
		rows = append(rows, label(fieldSource, "token file")+iv[4])
	}
	comp := 0
	if f.noCompress {
		comp = 1
	}
	ser := 0
	if f.msgpack {
		ser = 1
	}
	rows = append(rows, label(fieldCompress, "compression")+choice([]string{"gzip", "off (compress=false)"}, comp))
	rows = append(rows, label(fieldSerial, "serialization")+choice([]string{"json", "msgpack"}, ser))
	rows = append(rows, "")
	switch {
	case f.busy:
		rows = append(rows, st.Warn.Render("connecting…"))
	case f.err != "":
		// The error and hint may quote the server: made safe before
		// wrapping, so a newline in them is a marker, not a line.
		for _, l := range strings.Split(lipgloss.Wrap(safe(&st, f.err), inner, " "), "\n") {
			rows = append(rows, within(st.ErrorBox, l))
		}
		if f.hint != "" {
			for _, l := range strings.Split(lipgloss.Wrap(safe(&st, f.hint), inner, " "), "\n") {
				rows = append(rows, within(st.Muted, l))
			}
		}
	default:
		if f.pasteNote != "" {
			for _, l := range strings.Split(lipgloss.Wrap(f.pasteNote, inner, " "), "\n") {
				rows = append(rows, st.Warn.Render(l))
			}
		}
		if f.cachedToken() {
			for _, l := range strings.Split(lipgloss.Wrap(cachedTokenHelp, inner, " "), "\n") {
				rows = append(rows, st.Muted.Render(l))
			}
		}
		for _, l := range wrapParts(loginHelp, " · ", inner) {
			rows = append(rows, st.Muted.Render(l))
		}
	}
	for i := range rows {
		rows[i] = fit(rows[i], inner)
	}
	form := st.Dialog.Render(strings.Join(rows, "\n"))
	var blocks []string
	if f.banner != "" {
		for _, l := range wrapParts(strings.Fields(f.banner), " ", clamp(width-4, 20, 100)) {
			blocks = append(blocks, st.Banner.Render(l))
		}
		blocks = append(blocks, "")
	}
	blocks = append(blocks, form)
	return lipgloss.Place(width, height, lipgloss.Center, lipgloss.Center, strings.Join(blocks, "\n"))
}
