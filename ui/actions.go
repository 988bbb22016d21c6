package ui

// This file holds what panel keys do beyond moving a selection: control
// calls on the connection (always in commands), copy and export.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// frameAction handles the frame keys that do more than move the list.
func (m *Model) frameAction(t *tab, msg tea.KeyPressMsg) tea.Cmd {
	k := t.insp.keys
	if what, ok := pressedDisabled(msg, k.Compose, k.Resend); ok {
		m.unavailable(what, false)
		return nil
	}
	switch {
	case key.Matches(msg, k.Detail):
		t.focus = 1
	case key.Matches(msg, t.det.keys.Mode):
		t.det.Update(msg)
		m.syncDetail()
	case key.Matches(msg, k.Copy):
		f, ok := t.insp.selected()
		if !ok {
			return nil
		}
		m.say(false, "copied frame #%d to the clipboard (OSC 52)", f.ID)
		return tea.SetClipboard(copyText(f, m.secrets(t)))
	case key.Matches(msg, k.Export):
		return m.export(t, "")
	case key.Matches(msg, k.Compose):
		return m.openComposer(t)
	case key.Matches(msg, k.Resend):
		return m.resend(t)
	case key.Matches(msg, k.Answer):
		m.jumpToAnswer(t)
	}
	return nil
}

// export writes the frames the inspector's filter selects. arg is what
// followed ":export": empty (JSONL), "har", a path, or "har PATH"; a path
// ending in .har selects HAR too.
func (m *Model) export(t *tab, arg string) tea.Cmd {
	format, path := exportTarget(strings.Fields(arg))
	if path == "" {
		path = filepath.Join(m.exportDir, fmt.Sprintf("kalamdash-frames-%s.%s", m.now().Format("20060102-150405"), format))
	}
	src, filter, reveal := t.conn.Frames(), t.insp.filter, t.reveal
	if ex, ok := src.(FrameExporter); ok {
		return func() tea.Msg {
			n, err := ex.ExportFrames(path, format, filter, reveal)
			return exportMsg{path: path, n: n, err: err}
		}
	}
	if format != "jsonl" {
		m.say(true, "this connection can only export JSON lines")
		return nil
	}
	return exportCmd(path, src.Page(filter, 0, src.Len(filter)), m.secrets(t))
}

// exportTarget splits the export command's words into a format and a path.
func exportTarget(words []string) (format, path string) {
	format = "jsonl"
	if len(words) > 0 && (words[0] == "har" || words[0] == "jsonl") {
		format, words = words[0], words[1:]
	}
	if len(words) > 0 {
		path = strings.Join(words, " ")
		if strings.HasSuffix(strings.ToLower(path), ".har") {
			format = "har"
		}
	}
	return format, path
}

func (m *Model) tokenAction(t *tab, msg tea.KeyPressMsg) tea.Cmd {
	k := t.can.tokenKeys(m.tokenKeys)
	if what, ok := pressedDisabled(msg, k.Refresh, k.UseRefresh, k.Policy, k.Longer, k.Shorter, k.Reconnect, k.Swap, k.ClearSwap); ok {
		m.unavailable(what, false)
		return nil
	}
	if what, ok := pressedDisabled(msg, k.Expire, k.Drop); ok {
		m.unavailable(what, true)
		return nil
	}
	c, ctl, faults := t.conn, t.can.controls, t.can.faults
	switch {
	case key.Matches(msg, k.Refresh):
		return actionCmd(c, "refreshAuth", func(ctx context.Context) error { return ctl.RefreshAuth(ctx) })
	case key.Matches(msg, k.UseRefresh):
		return actionCmd(c, "refresh-token rotation", func(ctx context.Context) error { return ctl.UseRefreshToken(ctx) })
	case key.Matches(msg, k.Policy):
		return m.setPolicy(t, policySpec(nextPolicy(t.snap.Policy)))
	case key.Matches(msg, k.Longer):
		return m.setPolicy(t, policySpec(stepInterval(t.snap.Policy, 1)))
	case key.Matches(msg, k.Shorter):
		return m.setPolicy(t, policySpec(stepInterval(t.snap.Policy, -1)))
	case key.Matches(msg, k.Reconnect):
		return actionCmd(c, "reconnect", func(ctx context.Context) error { return ctl.Reconnect(ctx) })
	case key.Matches(msg, k.Swap):
		return m.openSwapper(t)
	case key.Matches(msg, k.ClearSwap):
		return m.clearSwap(t)
	case key.Matches(msg, k.Expire):
		return actionCmd(c, "expire every issued token on the demo server (the open socket stays authenticated; X drops it)", func(ctx context.Context) error { return faults.ExpireToken(ctx) })
	case key.Matches(msg, k.Drop):
		return actionCmd(c, "drop socket", func(ctx context.Context) error { return faults.DropSocket(ctx) })
	}
	return nil
}

// setPolicy changes the refresh policy to spec (see Controls.SetPolicy);
// the connection parses it, so the palette accepts exactly what profiles
// do. The caller checked that the connection has Controls.
func (m *Model) setPolicy(t *tab, spec string) tea.Cmd {
	if err := t.can.controls.SetPolicy(spec); err != nil {
		m.say(true, "policy: %v", err)
		return nil
	}
	t.snap = t.conn.Snapshot()
	m.say(false, "refresh policy: %s", t2s(t.snap.Policy))
	return nil
}

// toggleCompression reconnects with compression switched; the caller
// checked that the connection has Controls.
func (m *Model) toggleCompression(t *tab) tea.Cmd {
	disable := !t.snap.NoCompress
	c, ctl := t.conn, t.can.controls
	what := "reconnect with compress=false"
	if !disable {
		what = "reconnect with gzip"
	}
	m.say(false, "%s…", what)
	return actionCmd(c, what, func(context.Context) error { return ctl.SetCompression(disable) })
}
