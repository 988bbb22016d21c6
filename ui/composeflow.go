package ui

// This file holds what the frames view does with the composer: opening
// it (empty, or with a frame to resend), sending, and finding the frame
// sent and the server's answer in the list.

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"
)

// composedMsg reports a composed frame's send.
type composedMsg struct {
	connID string
	err    error
}

// composeCmd sends text on c in the background.
func composeCmd(id string, c Composer, text string) tea.Cmd {
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		return composedMsg{connID: id, err: c.SendText(ctx, text)}
	})
}

// composerOf returns the tab's Composer, or says why there is none.
func (m *Model) composerOf(t *tab) (Composer, bool) {
	if t.can.composer == nil {
		m.unavailable("sending frames", false)
		return nil, false
	}
	return t.can.composer, true
}

// openComposer opens the composer with the draft (or the first template).
func (m *Model) openComposer(t *tab) tea.Cmd {
	if _, ok := m.composerOf(t); !ok {
		return nil
	}
	text := ""
	if t.comp.area.Value() == "" {
		tm := frameTemplates(t.snap.Subs)
		text = tm[0].text
		t.comp.tmpl = 1
		t.comp.title = "template: " + tm[0].name
	}
	return t.comp.start(t.comp.title, text)
}

// resend opens the selected outbound frame in the composer. Secrets stay
// redacted unless the tab reveals them, and then only after a y.
func (m *Model) resend(t *tab) tea.Cmd {
	if _, ok := m.composerOf(t); !ok {
		return nil
	}
	f, ok := t.insp.selected()
	if !ok {
		return nil
	}
	if f.Dir != "out" || f.Opcode != "text" {
		m.say(true, "r resends an outbound text frame; #%d is %s %s (w writes a new one)", f.ID, f.Dir, f.Opcode)
		return nil
	}
	text := string(f.Decoded)
	if text == "" {
		text = string(f.Wire)
	}
	title := fmt.Sprintf("resend of #%d, edit before ctrl+s", f.ID)
	masked := string(m.be.Redact([]byte(text))) // whatever the tab shows: resending a secret takes a y
	if t.reveal && masked != text {
		cmd := t.comp.start(title, "")
		t.comp.confirm, t.comp.confirmMasked = text, masked
		return cmd
	}
	return t.comp.start(title, masked)
}

// composerKey hands a key to the open composer and sends when asked.
func (m *Model) composerKey(t *tab, msg tea.KeyPressMsg) tea.Cmd {
	r := t.comp.Update(msg, frameTemplates(t.snap.Subs))
	if r.send == "" && t.comp.sending {
		t.comp.sending = false // ctrl+s on an empty editor: nothing to send
		m.say(true, "nothing to send: type a frame or press ctrl+t for a template")
		return nil
	}
	if r.send == "" {
		return r.cmd
	}
	c, ok := m.composerOf(t)
	if !ok {
		t.comp.sending = false
		return nil
	}
	t.sentAfter = lastFrameID(t.conn.Frames())
	return composeCmd(t.conn.ID(), c, r.send)
}

// handleComposed closes the composer after a send and selects the frame
// sent, so the answer is one key (a) away.
func (m Model) handleComposed(msg composedMsg) Model {
	t := m.tabByID(msg.connID)
	if t == nil {
		return m
	}
	t.comp.sending = false
	if msg.err != nil {
		m.say(true, "not sent: %v", msg.err)
		return m
	}
	t.comp.close()
	t.snap = t.conn.Snapshot()
	t.insp.sync(t.conn.Frames(), 0)
	if f, ok := t.insp.selectNewestComposed(t.conn.Frames(), t.sentAfter); ok {
		m.say(false, "sent as frame #%d (✎); a jumps to the answer", f.ID)
	} else {
		t.awaitSent = true // selected when it reaches the log
		m.say(false, "sent; it shows in the list marked ✎; a jumps to the answer")
	}
	m.syncDetail()
	return m
}

// jumpToAnswer selects the server's answer to the selected frame.
func (m *Model) jumpToAnswer(t *tab) {
	sent, ok := t.insp.selected()
	if !ok {
		return
	}
	if f, ok := t.insp.jumpAnswer(t.conn.Frames()); ok {
		what := f.Opcode + " " + f.Type
		if f.Opcode == "close" {
			what = fmt.Sprintf("close %d %s (the connection reconnects)", f.CloseCode, f.CloseReason)
		}
		m.say(false, "#%d answers #%d: %s", f.ID, sent.ID, what)
		m.syncDetail()
		return
	}
	m.say(false, "no answer to #%d yet (KalamDB sends none to ping or unsubscribe); the list follows new frames", sent.ID)
}
