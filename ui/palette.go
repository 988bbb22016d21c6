package ui

import (
	"context"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// paletteCommands are the : commands, offered as completions.
var paletteCommands = []string{
	"refresh", "refresh-token", "reconnect", "expire", "drop",
	"policy manual", "policy every 30s", "policy before 80%", "policy before 30s",
	"compress off", "compress on", "reveal", "hide",
	"sql SELECT * FROM demo.metrics LIMIT 10", "sub SELECT * FROM demo.messages", "unsub ", "verify", "repair", "live",
	"filter ", "regex ", "export", "export har", "connect", "close", "theme dark", "theme light",
	"frames", "token", "data", "help", "quit",
}

func (m Model) updatePalette(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		m.paletteOn = false
		m.palette.Blur()
		return m, nil
	case "enter":
		line := strings.TrimSpace(m.palette.Value())
		m.paletteOn = false
		m.palette.Blur()
		return m.runCommand(line)
	}
	var cmd tea.Cmd
	m.palette, cmd = m.palette.Update(msg)
	return m, cmd
}

// runCommand executes one palette command line.
func (m Model) runCommand(line string) (tea.Model, tea.Cmd) {
	name, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "":
		return m, nil
	case "quit", "q":
		m.quitting = true
		return m, tea.Quit
	case "help":
		m.showHelp = true
		return m, nil
	case "connect", "new":
		m.loggingIn = true
		m.login.err, m.login.busy = "", false
		return m, nil
	case "theme":
		m.setStyles(themeFor(arg, *m.st))
		return m, nil
	}
	t := m.current()
	if t == nil {
		m.say(true, "no connection: %q needs one (press n to connect)", name)
		return m, nil
	}
	c, ctl, sq, faults := t.conn, t.can.controls, t.can.sql, t.can.faults
	switch {
	case ctl == nil && slices.Contains([]string{"refresh", "refresh-token", "reconnect", "policy", "compress"}, name),
		sq == nil && slices.Contains([]string{"sql", "sub", "subscribe", "unsub", "unsubscribe", "live"}, name):
		m.unavailable(":"+name, false)
		return m, nil
	case faults == nil && (name == "expire" || name == "drop"):
		m.unavailable(":"+name, true)
		return m, nil
	}
	switch name {
	case "frames":
		t.view = viewFrames
	case "token":
		t.view = viewToken
	case "data":
		t.view = viewData
	case "refresh":
		return m, actionCmd(c, "refreshAuth", func(ctx context.Context) error { return ctl.RefreshAuth(ctx) })
	case "refresh-token":
		return m, actionCmd(c, "refresh-token rotation", func(ctx context.Context) error { return ctl.UseRefreshToken(ctx) })
	case "reconnect":
		return m, actionCmd(c, "reconnect", func(ctx context.Context) error { return ctl.Reconnect(ctx) })
	case "expire":
		return m, actionCmd(c, "expire token (server side)", func(ctx context.Context) error { return faults.ExpireToken(ctx) })
	case "drop":
		return m, actionCmd(c, "drop socket", func(ctx context.Context) error { return faults.DropSocket(ctx) })
	case "policy":
		return m, m.setPolicy(t, arg)
	case "compress":
		want := arg != "off" && arg != "false" && arg != "no"
		if want == !t.snap.NoCompress {
			m.say(false, "compression is already %s", arg)
			return m, nil
		}
		return m, m.toggleCompression(t)
	case "reveal", "hide":
		t.reveal = name == "reveal"
		m.syncDetail()
	case "sql":
		t.view = viewData
		t.data.running, t.data.resultSQL = true, arg
		return m, queryCmd(c.ID(), sq, arg)
	case "sub", "subscribe":
		t.view = viewData
		sql, o := parseSubOptions(arg)
		return m, subscribeCmd(c.ID(), sq, sql, o)
	case "unsub", "unsubscribe":
		return m, actionCmd(c, "unsubscribe "+arg, func(ctx context.Context) error { return sq.Unsubscribe(ctx, arg) })
	case "live":
		return m, liveCheckCmd(c.ID(), sq)
	case "verify", "repair":
		// The named subscription, or the one the Data view shows.
		t.view = viewData
		return m, m.subRequest(t, name, arg)
	case "filter", "regex":
		t.view = viewFrames
		t.insp.filter.Text, t.insp.filter.Regex = arg, name == "regex"
		t.insp.follow = true
		t.insp.sync(c.Frames(), 0)
		m.syncDetail()
	case "export":
		return m, m.export(t, arg)
	case "close":
		m.tabs = append(m.tabs[:m.active], m.tabs[m.active+1:]...)
		m.active = clamp(m.active, 0, len(m.tabs)-1)
		if len(m.tabs) == 0 {
			m.loggingIn = true
			m.login.busy = false
		}
		m.relayout()
		// Closing sends a close frame: do it off the event loop.
		return m, actionCmd(c, "close "+c.ID(), func(context.Context) error { return c.Close() })
	default:
		m.say(true, "unknown command %q (try refresh, policy, compress, sql, sub, export, quit)", name)
	}
	return m, nil
}
