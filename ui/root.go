// Package ui is kalamdash's Bubble Tea v2 dashboard: a login form, one tab
// per connection, and three views per connection (frames inspector with
// detail pane, token panel, subscriptions and SQL console), with a status
// bar, full help and a command palette.
//
// The root Model routes: it handles resizes, global keys and backend events,
// forwards other keys to the focused panel, and runs every blocking call in a
// command. Backend events arrive through one re-armed command that coalesces
// everything that arrived within 50 ms, and a 1 s tick drives countdowns.
package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// Views of a connection.
const (
	viewFrames = iota
	viewToken
	viewData
	viewCluster
	numViews
)

var viewNames = [numViews]string{"Frames", "Token", "Data/SQL", "Cluster"}

// Minimum usable size; smaller terminals get a notice instead of a broken
// layout.
const (
	minWidth  = 60
	minHeight = 16
)

// tab is one connection and the UI state that belongs to it.
type tab struct {
	conn Conn
	can  capabilities // what conn can do beyond being looked at
	snap Snapshot
	insp inspector
	det  detail
	data dataPanel
	comp composer
	swap swapper
	cl   clusterPanel
	// awaitSent: a composed frame was sent but not yet selected; the next
	// frames select the first composed one after sentAfter (a frame ID).
	awaitSent bool
	sentAfter uint64
	reveal    bool
	view      int
	focus     int // frames view: 0 list, 1 detail
}

// notice is a one-off message shown in the footer until it expires.
type notice struct {
	text  string
	err   bool
	until time.Time
}

// Model is the root model of the dashboard.
type Model struct {
	be         Backend
	st         *theme.Styles // shared by copies: a Styles is never changed, only replaced
	stID       uint64        // identifies st in render cache keys; new on every change
	rc         *renderCache
	fixedStyle bool
	now        func() time.Time
	ticks      bool
	exportDir  string

	keys        KeyMap
	tokenKeys   TokenKeyMap
	steerKeys   SteerKeyMap
	clusterKeys ClusterKeyMap
	help        help.Model
	showHelp    bool

	width, height int

	loggingIn  bool       // the login screen is shown
	login      *loginForm // shared by copies, like the tabs (keeps the model small to copy)
	loginDefs  LoginDefaults
	waiting    string // shown while there is no tab and no login form (WithoutLogin)
	tabs       []*tab
	active     int
	palette    textinput.Model
	paletteOn  bool
	notice     notice
	quitting   bool
	lastAction string
}

// Option configures New.
type Option func(*Model)

// WithStyles sets the styles. When fixed is true the background-colour
// answer from the terminal does not replace them (NO_COLOR, tests).
func WithStyles(st theme.Styles, fixed bool) Option {
	return func(m *Model) { m.st, m.fixedStyle = &st, fixed }
}

// WithClock injects the clock used for countdowns and highlights, so tests
// and screenshots are deterministic.
func WithClock(now func() time.Time) Option { return func(m *Model) { m.now = now } }

// WithLogin pre-fills the login form.
func WithLogin(d LoginDefaults) Option { return func(m *Model) { m.loginDefs = d } }

// WithoutLogin opens the dashboard on its tabs instead of the login form,
// for a backend that opens connections by itself (kalamdash proxy):
// waiting is shown until the first one arrives (EventOpened). n still
// opens the login form.
func WithoutLogin(waiting string) Option {
	return func(m *Model) { m.loggingIn, m.waiting = false, waiting }
}

// WithoutTicks disables the 1 s countdown tick (tests drive time directly).
func WithoutTicks() Option { return func(m *Model) { m.ticks = false } }

// WithExportDir sets where e writes JSONL exports (default: current dir).
func WithExportDir(dir string) Option { return func(m *Model) { m.exportDir = dir } }

// New returns the root model over a backend.
func New(b Backend, opts ...Option) Model {
	m := Model{
		be:          b,
		st:          new(theme.New(true)),
		now:         time.Now,
		ticks:       true,
		keys:        DefaultKeyMap(),
		tokenKeys:   DefaultTokenKeyMap(),
		steerKeys:   DefaultSteerKeyMap(),
		clusterKeys: DefaultClusterKeyMap(),
		help:        help.New(),
		loggingIn:   true,
		width:       80,
		height:      24,
	}
	for _, o := range opts {
		o(&m)
	}
	m.stID, m.rc = nextRenderID(), newRenderCache()
	m.applyStyles()
	var profiles []Profile
	if b != nil {
		profiles = b.Profiles()
	}
	m.login = newLoginForm(*m.st, profiles, m.loginDefs)
	m.palette = newInput(*m.st, ":", "refresh · policy every 30s · compress off · sql SELECT 1 · export · quit")
	m.palette.ShowSuggestions = true
	m.palette.SetSuggestions(paletteCommands)
	return m
}

func (m *Model) applyStyles() {
	hs := help.DefaultStyles(m.st.IsDark)
	hs.ShortKey, hs.FullKey = m.st.HelpKey, m.st.HelpKey
	hs.ShortDesc, hs.FullDesc = m.st.HelpDesc, m.st.HelpDesc
	hs.ShortSeparator, hs.FullSeparator, hs.Ellipsis = m.st.HelpSep, m.st.HelpSep, m.st.HelpSep
	m.help.Styles = hs
}

// Init asks for the background colour, starts the event pump and the tick.
func (m Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	if m.loggingIn {
		cmds = append(cmds, m.login.url.Focus())
	}
	if !m.fixedStyle {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	if m.be != nil {
		cmds = append(cmds, waitEventsCmd(m.be.Events()))
	}
	if m.ticks {
		cmds = append(cmds, tickCmd())
	}
	return tea.Batch(cmds...)
}

func (m *Model) current() *tab {
	if m.active < 0 || m.active >= len(m.tabs) {
		return nil
	}
	return m.tabs[m.active]
}

func (m *Model) tabByID(id string) *tab {
	for _, t := range m.tabs {
		if t.conn.ID() == id {
			return t
		}
	}
	return nil
}

// Update routes a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.relayout()
		return m, nil
	case tea.BackgroundColorMsg:
		if !m.fixedStyle {
			m.setStyles(theme.New(msg.IsDark()))
		}
		return m, nil
	case tickMsg:
		m.refreshAll()
		poll := m.clusterPoll(false)
		if !m.ticks {
			return m, poll // tests deliver ticks themselves
		}
		return m, tea.Batch(tickCmd(), poll)
	case eventsMsg:
		m.handleEvents(msg)
		return m, waitEventsCmd(m.be.Events())
	case openedMsg:
		return m.handleOpened(msg)
	case liveCheckMsg:
		return m.handleLiveCheck(msg), nil
	case actionMsg:
		return m.handleAction(msg), nil
	case queryMsg:
		return m.handleQuery(msg), nil
	case subscribedMsg:
		m = m.handleSubscribed(msg)
		m.refreshReplicas(nil) // the other side of a comparison may have just subscribed
		return m, nil
	case verifiedMsg:
		return m.handleVerified(msg), nil
	case exportMsg:
		return m.handleExport(msg), nil
	case composedMsg:
		return m.handleComposed(msg), nil
	case clusterPolledMsg:
		return m.handleClusterPolled(msg), nil
	case nodeOpenedMsg:
		return m.handleNodeOpened(msg), nil
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case tea.PasteMsg:
		return m.handlePaste(msg)
	case tea.MouseWheelMsg:
		return m.handleWheel(msg), nil
	case tea.MouseClickMsg:
		return m.handleClick(msg), nil
	}
	return m, nil
}

func (m *Model) setStyles(st theme.Styles) {
	m.st, m.stID = &st, nextRenderID()
	m.applyStyles()
	is := inputStyles(st)
	m.palette.SetStyles(is)
	for _, in := range []*textinput.Model{&m.login.url, &m.login.user, &m.login.password, &m.login.token, &m.login.source} {
		in.SetStyles(is)
	}
	for _, t := range m.tabs {
		t.insp.input.SetStyles(is)
		t.data.input.SetStyles(is)
		t.data.filter.SetStyles(is)
		t.comp.area.SetStyles(areaStyles(st))
		t.swap.input.SetStyles(is)
		t.det.key = detailKey{}
	}
	m.syncDetail()
}

// say sets a footer notice for five seconds.
func (m *Model) say(err bool, format string, args ...any) {
	m.notice = notice{text: fmt.Sprintf(format, args...), err: err, until: m.now().Add(5 * time.Second)}
}

// refreshAll re-reads every tab's snapshot and visible frames (the tick):
// events are hints a busy backend may drop, so the tick bounds staleness to
// one second.
func (m *Model) refreshAll() {
	for _, t := range m.tabs {
		t.snap = t.conn.Snapshot()
		t.insp.sync(t.conn.Frames(), 0)
	}
	m.refreshReplicas(nil)
	m.syncDetail()
}

func (m *Model) handleEvents(evs eventsMsg) {
	// Coalesce: one snapshot and one frame sync per connection per batch.
	frames := map[string]int{}
	touched := map[string]bool{}
	rows := map[string]bool{}
	for _, e := range evs {
		touched[e.ConnID] = true
		switch e.Kind {
		case EventRows:
			rows[e.ConnID] = true
		case EventFrames:
			frames[e.ConnID] += max(e.Count, 1)
		case EventOpened:
			if e.Conn != nil && m.tabByID(e.ConnID) == nil {
				m.addTab(e.Conn, e.ConnID)
				if len(m.tabs) == 1 || m.loggingIn {
					m.active = len(m.tabs) - 1
				}
				m.relayout()
				m.say(false, "%s connected through the proxy: ] and [ switch tabs", m.tabs[len(m.tabs)-1].snap.Name)
			}
		case EventNotice:
			text := e.Text
			if e.Hint != "" {
				text += " — " + e.Hint
			}
			if len(m.tabs) > 1 && e.ConnID != "" {
				text = e.ConnID + ": " + text
			}
			m.say(e.Err, "%s", text)
		}
	}
	for id := range touched {
		t := m.tabByID(id)
		if t == nil {
			continue
		}
		t.snap = t.conn.Snapshot()
		if n, ok := frames[id]; ok {
			t.insp.sync(t.conn.Frames(), n)
			if t.awaitSent {
				if f, ok := t.insp.selectNewestComposed(t.conn.Frames(), t.sentAfter); ok {
					t.awaitSent = false
					m.say(false, "sent as frame #%d (✎); a jumps to the answer", f.ID)
				}
			}
		}
	}
	if len(rows) > 0 {
		m.refreshReplicas(rows)
	}
	m.syncDetail()
}

func (m Model) handleOpened(msg openedMsg) (tea.Model, tea.Cmd) {
	m.login.busy = false
	if msg.err != nil {
		m.login.err = msg.err.Error()
		m.login.hint = ""
		if h, ok := msg.err.(interface{ Hint() string }); ok {
			m.login.hint = h.Hint()
		}
		return m, nil
	}
	t := m.addTab(msg.conn, msg.req.Name)
	m.active = len(m.tabs) - 1
	m.loggingIn = false
	m.relayout()
	m.say(false, "connected to %s", t.snap.URL)
	return m, nil
}

// addTab adds a tab for c, named name until its snapshot names it.
func (m *Model) addTab(c Conn, name string) *tab {
	t := &tab{conn: c, can: capabilitiesOf(c), insp: newInspector(*m.st), det: newDetail(), data: newDataPanel(*m.st),
		comp: newComposer(*m.st), swap: newSwapper(*m.st)}
	t.data.keys = t.can.dataKeys(t.data.keys)
	t.insp.keys = t.can.inspectorKeys(t.insp.keys)
	t.snap = c.Snapshot()
	if t.snap.Name == "" {
		t.snap.Name = name
	}
	m.tabs = append(m.tabs, t)
	return t
}

func (m Model) handleAction(msg actionMsg) Model {
	t := m.tabByID(msg.connID)
	if t != nil {
		t.snap = t.conn.Snapshot()
		t.insp.sync(t.conn.Frames(), 0)
		m.syncDetail()
	}
	if msg.err != nil {
		m.say(true, "%s failed: %v", msg.what, msg.err)
	} else {
		m.say(false, "%s: done", msg.what)
	}
	return m
}

func (m Model) handleLiveCheck(msg liveCheckMsg) Model {
	if t := m.tabByID(msg.connID); t != nil {
		t.snap = t.conn.Snapshot()
	}
	if msg.err != nil {
		m.say(true, "check of the live queries failed: %v", msg.err)
		return m
	}
	m.say(false, "%s", msg.summary)
	return m
}

func (m Model) handleQuery(msg queryMsg) Model {
	t := m.tabByID(msg.connID)
	if t == nil {
		return m
	}
	t.data.running = false
	if msg.err != nil {
		t.data.result, t.data.resultErr = nil, msg.err.Error()
	} else {
		r := msg.res
		t.data.result, t.data.resultErr = &r, ""
	}
	t.snap = t.conn.Snapshot()
	return m
}

func (m Model) handleSubscribed(msg subscribedMsg) Model {
	t := m.tabByID(msg.connID)
	if t == nil {
		return m
	}
	if msg.err != nil {
		m.say(true, "subscribe failed: %v", msg.err)
		return m
	}
	t.snap = t.conn.Snapshot()
	for i, s := range t.snap.Subs {
		if s.ID == msg.id {
			t.data.sel = i
		}
	}
	if msg.opts.SkipsExisting() {
		m.say(false, "subscribed as %s: existing rows skipped (batch/last=0), only new changes will show", msg.id)
		return m
	}
	m.say(false, "subscribed as %s", msg.id)
	return m
}

func (m Model) handleExport(msg exportMsg) Model {
	if msg.err != nil {
		m.say(true, "export failed: %v", msg.err)
	} else {
		m.say(false, "exported %d frames to %s (mode 0600)", msg.n, msg.path)
	}
	return m
}

// typing reports whether a text input owns the keyboard.
func (m *Model) typing() bool {
	if m.loggingIn || m.paletteOn {
		return true
	}
	t := m.current()
	if t == nil {
		return false
	}
	return (t.view == viewFrames && (t.insp.editing || t.comp.open)) || (t.view == viewData && t.data.typing()) ||
		(t.view == viewToken && t.swap.open)
}

func (m Model) handleKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if msg.String() == "ctrl+c" {
		m.quitting = true
		return m, tea.Quit
	}
	if m.paletteOn {
		return m.updatePalette(msg)
	}
	if m.loggingIn {
		if msg.String() == "esc" && (len(m.tabs) > 0 || m.waiting != "") {
			m.loggingIn = false
			return m, nil
		}
		cmd, req := m.login.Update(msg)
		if req != nil && m.be != nil {
			return m, openCmd(m.be, *req)
		}
		return m, cmd
	}
	t := m.current()
	if m.showHelp {
		// Any key closes the help; ? toggles it.
		m.showHelp = false
		return m, nil
	}
	if !m.typing() {
		switch {
		case key.Matches(msg, m.keys.Quit):
			m.quitting = true
			return m, tea.Quit
		case key.Matches(msg, m.keys.Help):
			m.showHelp = true
			return m, nil
		case key.Matches(msg, m.keys.Palette):
			m.paletteOn = true
			m.palette.SetValue("")
			return m, m.palette.Focus()
		case key.Matches(msg, m.keys.NewConn):
			m.loggingIn = true
			m.login.err, m.login.busy = "", false
			return m, nil
		case t == nil:
			return m, nil
		case key.Matches(msg, m.keys.ViewFrames):
			t.view = viewFrames
		case key.Matches(msg, m.keys.ViewToken):
			t.view = viewToken
		case key.Matches(msg, m.keys.ViewData):
			t.view = viewData
		case key.Matches(msg, m.keys.ViewCluster):
			t.view = viewCluster
			m.relayout()
			m.refreshReplicas(nil) // hidden panes are not kept current
			return m, m.clusterPoll(false)
		case key.Matches(msg, m.keys.NextTab):
			m.active = (m.active + 1) % len(m.tabs)
			m.refreshReplicas(nil)
		case key.Matches(msg, m.keys.PrevTab):
			m.active = (m.active - 1 + len(m.tabs)) % len(m.tabs)
			m.refreshReplicas(nil)
		case key.Matches(msg, m.keys.NextFocus), key.Matches(msg, m.keys.PrevFocus):
			m.cycleFocus()
		case key.Matches(msg, m.keys.Compression):
			if t.can.controls == nil {
				m.unavailable(m.keys.Compression.Help().Desc, false)
				return m, nil
			}
			return m, m.toggleCompression(t)
		case m.steer(t, msg):
			return m, nil
		case key.Matches(msg, m.keys.Reveal):
			// Display only: frames are captured redacted unless
			// kalamdash runs with --reveal-secrets.
			t.reveal = !t.reveal
			if t.reveal {
				m.say(false, "secrets shown on this tab (ctrl+r hides them); frames are captured redacted unless kalamdash runs with --reveal-secrets")
			} else {
				m.say(false, "secrets hidden")
			}
		default:
			return m.routeKey(t, msg)
		}
		m.relayout()
		m.syncDetail()
		return m, nil
	}
	return m.routeKey(t, msg)
}

// routeKey forwards a key to the focused panel of the current tab.
func (m Model) routeKey(t *tab, msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if t == nil {
		return m, nil
	}
	switch t.view {
	case viewFrames:
		if t.comp.open {
			return m, m.composerKey(t, msg)
		}
		if t.focus == 1 && !t.insp.editing {
			if key.Matches(msg, t.det.keys.Back) {
				t.focus = 0
				return m, nil
			}
			if t.det.Update(msg) {
				m.syncDetail()
				return m, nil
			}
		}
		ok, cmd := t.insp.Update(msg, t.conn.Frames())
		if ok {
			m.syncDetail()
			return m, cmd
		}
		return m, m.frameAction(t, msg)
	case viewToken:
		if t.swap.open {
			return m, m.swapperKey(t, msg)
		}
		if key.Matches(msg, m.clusterKeys.CheckToken) && t.can.cluster != nil {
			m.say(false, "trying this connection's token on every node…")
			return m, m.clusterPoll(true)
		}
		return m, m.tokenAction(t, msg)
	case viewCluster:
		return m, m.clusterKey(t, msg)
	case viewData:
		if what, ok := pressedDisabled(msg, t.data.keys.SQL, t.data.keys.Subscribe, t.data.keys.Unsubscribe, t.data.keys.CheckLive); ok && !t.data.typing() {
			m.unavailable(what, false)
			return m, nil
		}
		if what, ok := pressedDisabled(msg, t.data.keys.Verify, t.data.keys.Repair, t.data.keys.Filter, t.data.keys.Order); ok && !t.data.typing() {
			m.unavailable(what, false)
			return m, nil
		}
		_, cmd, req := t.data.Update(msg, t.snap.Subs)
		if req != nil {
			return m, m.dataRequest(t, req)
		}
		if cmd == nil && !t.data.typing() && key.Matches(msg, t.data.keys.Frames) && len(t.snap.Subs) > 0 {
			// Jump to the frames of the selected subscription.
			t.insp.filter = FrameFilter{Sub: t.snap.Subs[clamp(t.data.sel, 0, len(t.snap.Subs)-1)].ID}
			t.insp.follow, t.insp.paused = true, false
			t.view, t.focus = viewFrames, 0
			t.insp.sync(t.conn.Frames(), 0)
			m.syncDetail()
			return m, nil
		}
		if cmd == nil && !t.data.typing() && key.Matches(msg, t.data.keys.Unsubscribe) && len(t.snap.Subs) > 0 {
			id := t.snap.Subs[clamp(t.data.sel, 0, len(t.snap.Subs)-1)].ID
			return m, actionCmd(t.conn, "unsubscribe "+id, func(ctx context.Context) error { return t.can.sql.Unsubscribe(ctx, id) })
		}
		if cmd == nil && !t.data.typing() && key.Matches(msg, t.data.keys.CheckLive) {
			return m, liveCheckCmd(t.conn.ID(), t.can.sql)
		}
		return m, cmd
	}
	return m, nil
}

func (m *Model) cycleFocus() {
	t := m.current()
	if t == nil {
		return
	}
	switch t.view {
	case viewFrames:
		t.focus = 1 - t.focus
	case viewData:
		// tab opens the SQL console, where the connection has one.
		if !t.data.editing && t.can.sql != nil {
			t.data.edit(false, "")
		}
	}
}

// handlePaste hands a bracketed paste, cleaned (see cleanPaste), to the
// text input being edited, and says what the cleaning removed.
func (m Model) handlePaste(msg tea.PasteMsg) (tea.Model, tea.Cmd) {
	var removed string
	msg.Content, removed = cleanPaste(msg.Content)
	if m.loggingIn {
		m.login.pasteNote = removed
		return m, m.login.paste(msg)
	}
	if removed != "" {
		m.say(false, "%s", removed)
	}
	if m.paletteOn {
		var cmd tea.Cmd
		m.palette, cmd = m.palette.Update(msg)
		return m, cmd
	}
	if t := m.current(); t != nil {
		var cmd tea.Cmd
		switch {
		case t.view == viewData && t.data.editing:
			t.data.input, cmd = t.data.input.Update(msg)
		case t.view == viewData && t.data.filtering:
			t.data.filter, cmd = t.data.filter.Update(msg)
			t.data.query.Filter = t.data.filter.Value()
		case t.view == viewToken && t.swap.open:
			t.swap.input, cmd = t.swap.input.Update(msg)
			t.swap.label = ""
			if t.can.swapper != nil {
				t.swap.decode(t.can.swapper)
			}
		case t.view == viewFrames && t.comp.open && t.comp.confirm == "":
			t.comp.area, cmd = t.comp.area.Update(msg)
		case t.view == viewFrames && t.insp.editing:
			t.insp.input, cmd = t.insp.input.Update(msg)
		}
		return m, cmd
	}
	return m, nil
}

// syncDetail shows the selected frame of the current tab in its detail pane.
func (m *Model) syncDetail() {
	t := m.current()
	if t == nil {
		return
	}
	f, ok := t.insp.selected()
	t.det.show(*m.st, m.stID, f, ok, m.layout().detailW, m.secrets(t))
}

// secrets is how t's frames are masked: by the backend until the user
// reveals secrets on the tab.
func (m *Model) secrets(t *tab) secrets {
	if t.reveal {
		return nil
	}
	return m.be.Redact
}

var _ tea.Model = Model{}

// joinLines joins rendered lines with newlines.
func joinLines(lines []string) string { return strings.Join(lines, "\n") }
