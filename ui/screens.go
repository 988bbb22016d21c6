package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// Screen is one named, fully rendered state of the dashboard, for
// screenshots and documentation.
type Screen struct {
	Name  string // file-name friendly, e.g. "dashboard"
	Title string // one-line caption
	ANSI  string // the root model's View().Content at exactly width×height
}

// Screens builds the main screens from a stub backend with a fixed clock:
// no network, no goroutines, identical output on every call. Styles are the
// dark theme in full colour whatever the environment says.
func Screens(width, height int) []Screen {
	return screens(theme.New(true), width, height)
}

// ScreensLight is Screens with the light theme.
func ScreensLight(width, height int) []Screen {
	return screens(theme.New(false), width, height)
}

func screens(st theme.Styles, width, height int) []Screen {
	now := func() time.Time { return stubEpoch }
	b := newStubBackend(now)
	m := New(b, WithStyles(st, true), WithClock(now), WithoutTicks(), WithLogin(LoginDefaults{
		URL: "http://127.0.0.1:38080", User: "admin", Password: "admin",
		Banner: "Demo server: an embedded KalamDB-compatible server at http://127.0.0.1:38080 with demo tables (demo.messages, demo.metrics), " +
			"users admin/admin and demo/demo, 2m0s access and 10m0s refresh tokens, and a trickle of writes. Press Enter to connect. " +
			"For a real server: kalamdash --url https://host:8080 --user NAME --password-stdin, or --profile NAME.",
	}))
	var out []Screen
	shot := func(name, title string) {
		out = append(out, Screen{Name: name, Title: title, ANSI: m.View().Content})
	}
	m = drive(m, tea.WindowSizeMsg{Width: width, Height: height})
	shot("login", "Login form pre-filled for the embedded demo server")

	m = drive(m, keyPress("enter"))
	m = drive(m, keyPress("2"))
	shot("dashboard", "Token panel: claims, live countdowns, refresh policy and rotation history")

	m = drive(m, keyPress("1"), keyPress("k"), keyPress("k"), keyPress("v"), keyPress("v"))
	shot("inspector-gzip", "Frame inspector with gzip on: binary frames, hex view, wire vs decoded bytes")

	m = drive(m, keyPress("c"), keyPress("G"), keyPress("v"))
	shot("inspector-json", "After the compression key: text frames whose raw JSON is readable")

	m = drive(m, keyPress("3"), keyPress("enter"))
	m = driveText(m, "SELECT * FROM demo.events LIMIT 3")
	m = drive(m, keyPress("enter"))
	shot("subscriptions", "Live subscription rows (insert/update highlighted) and the SQL console")

	m = drive(m, keyPress("?"))
	shot("help", "Full help")

	// The Cluster view after o opened a tab per node: a leader moved and
	// node 3 stopped answering since the view opened.
	m = drive(m, keyPress("esc"), keyPress("4"), keyPress("o"))
	b.cluster.moveLeader(2)
	b.cluster.stopNode(3, "connection refused: is the server running at http://127.0.0.1:38082?")
	node3 := b.conns[2]
	node3.snap.State, node3.snap.LastError = "reconnecting", "connection refused"
	m = drive(m, eventsMsg{{ConnID: node3.id, Kind: EventState}}, keyPress("r"))
	shot("cluster", "Cluster view: every node, the group leaders, a leader move and a node that stopped answering")

	// The same live query on node 2, which lags: one insert not there yet,
	// one update not applied.
	m = drive(m, keyPress("d"))
	lagging := append([]Row(nil), b.conns[0].snap.Subs[0].Rows[:4]...)
	lagging[2] = Row{Key: "103", Values: texts("103", "click", `{"x":12,"y":40}`, "1039")}
	b.conns[1].snap.Subs[0].Columns, b.conns[1].snap.Subs[0].Rows = b.conns[0].snap.Subs[0].Columns, lagging
	m = drive(m, eventsMsg{{ConnID: b.conns[1].id, Kind: EventRows}})
	shot("replicas", "Replicas side by side: the rows node 2 has not applied yet are marked")

	// kalamdash proxy's dashboard: an application that connected through
	// it has a tab of its own, read-only, with the steering keys.
	m = New(newStubBackend(now), WithStyles(st, true), WithClock(now), WithoutTicks(),
		WithoutLogin("kalamdash proxy relays http://127.0.0.1:8081 → http://127.0.0.1:8080."))
	app := newWatchedStub(now)
	m = drive(m, tea.WindowSizeMsg{Width: width, Height: height}, eventsMsg{{ConnID: app.ID(), Kind: EventOpened, Conn: app}}, keyPress("2"))
	m.notice = notice{}
	shot("proxy", "kalamdash proxy: an application's own connection, watched — its login and refresh as rotations, C D Z T steer it")
	return out
}

// drive applies messages to the model and runs the commands that complete
// at once and do no I/O beyond the stub (the ones Update returns for
// backend calls), so the state after a key matches the real program's.
func drive(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		var cmd tea.Cmd
		var tm tea.Model
		tm, cmd = m.Update(msg)
		m = tm.(Model)
		m = runCmds(m, cmd, 0)
	}
	return m
}

func driveText(m Model, s string) Model {
	for _, r := range s {
		m = drive(m, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return m
}

// runCmds executes commands whose results are backend replies (stub calls
// return immediately); timers, clipboard and terminal queries are skipped.
func runCmds(m Model, cmd tea.Cmd, depth int) Model {
	if cmd == nil || depth > 3 {
		return m
	}
	msg := cmd() // stub-world commands return at once (no ticks, no event wait)
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			m = runCmds(m, c, depth+1)
		}
	case openedMsg, actionMsg, queryMsg, subscribedMsg, liveCheckMsg, exportMsg, verifiedMsg, composedMsg,
		clusterPolledMsg, nodeOpenedMsg:
		tm, next := m.Update(msg)
		m = tm.(Model)
		m = runCmds(m, next, depth+1)
	}
	return m
}

// keyPress builds a key press from its string form.
func keyPress(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}
