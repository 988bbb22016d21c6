package ui

// This file holds the screen layout shared by View and mouse handling.

import (
	tea "charm.land/bubbletea/v2"
)

// relayout recomputes panel sizes after a resize or view change.
func (m *Model) relayout() {
	l := m.layout()
	if m.login != nil {
		m.login.setWidth(m.width)
	}
	for _, t := range m.tabs {
		t.insp.height = l.listRows
		t.insp.width = l.listW
		t.det.height = l.detailRows
		t.insp.sync(t.conn.Frames(), 0)
	}
	m.syncDetail()
}

// layoutInfo is where things go on screen; View and mouse handling share it.
type layoutInfo struct {
	bodyY, bodyH int
	side         bool // list and detail side by side
	listW        int
	listRows     int // frame rows (title and header excluded)
	detailX      int
	detailY      int
	detailW      int
	detailRows   int
}

func (m *Model) layout() layoutInfo {
	l := layoutInfo{bodyY: 2, bodyH: max(m.height-4, 1)}
	if m.width >= 140 {
		l.side = true
		l.listW = m.width * 11 / 20
		l.detailX = l.listW + 1
		l.detailW = m.width - l.listW - 1
		l.listRows = max(l.bodyH-2, 1)
		l.detailY = l.bodyY
		l.detailRows = max(l.bodyH-1, 1)
		return l
	}
	l.listW = m.width
	l.detailW = m.width
	listBlock := max(l.bodyH*11/20, 4)
	l.listRows = max(listBlock-2, 1)
	l.detailY = l.bodyY + listBlock + 1
	l.detailRows = max(l.bodyH-listBlock-2, 1)
	return l
}

func (m Model) handleWheel(msg tea.MouseWheelMsg) Model {
	t := m.current()
	if t == nil || m.loggingIn || t.view != viewFrames {
		return m
	}
	ms := msg.Mouse()
	l := m.layout()
	delta := 3
	if ms.Button == tea.MouseWheelUp {
		delta = -3
	}
	inDetail := (l.side && ms.X >= l.detailX) || (!l.side && ms.Y >= l.detailY-1)
	if inDetail {
		t.det.scroll(delta)
		return m
	}
	t.insp.move(t.conn.Frames(), delta)
	m.syncDetail()
	return m
}

func (m Model) handleClick(msg tea.MouseClickMsg) Model {
	ms := msg.Mouse()
	if m.loggingIn || ms.Button != tea.MouseLeft {
		return m
	}
	t := m.current()
	if ms.Y == 0 {
		// Tab bar: find the tab under the pointer.
		for i, r := range m.tabRanges() {
			if ms.X >= r[0] && ms.X < r[1] {
				m.active = i
				m.relayout()
			}
		}
		return m
	}
	if t == nil {
		return m
	}
	if ms.Y == 1 {
		for v, r := range m.viewRanges() {
			if ms.X >= r[0] && ms.X < r[1] {
				t.view = v
			}
		}
		return m
	}
	if t.view != viewFrames {
		return m
	}
	l := m.layout()
	if (l.side && ms.X >= l.detailX) || (!l.side && ms.Y >= l.detailY-1) {
		t.focus = 1
		return m
	}
	t.focus = 0
	t.insp.clickRow(t.conn.Frames(), ms.Y-l.bodyY-2)
	m.syncDetail()
	return m
}
