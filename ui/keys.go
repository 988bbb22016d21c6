package ui

import "charm.land/bubbles/v2/key"

// KeyMap holds the global bindings: they work whatever panel has focus,
// except while a text input is being edited.
type KeyMap struct {
	Quit        key.Binding
	Help        key.Binding
	Palette     key.Binding
	NextFocus   key.Binding
	PrevFocus   key.Binding
	ViewFrames  key.Binding
	ViewToken   key.Binding
	ViewData    key.Binding
	ViewCluster key.Binding
	NextTab     key.Binding
	PrevTab     key.Binding
	NewConn     key.Binding
	Compression key.Binding
	Reveal      key.Binding
}

// DefaultKeyMap returns the global bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Palette:     key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		NextFocus:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next panel")),
		PrevFocus:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev panel")),
		ViewFrames:  key.NewBinding(key.WithKeys("1", "f1"), key.WithHelp("1", "frames")),
		ViewToken:   key.NewBinding(key.WithKeys("2", "f2"), key.WithHelp("2", "token")),
		ViewData:    key.NewBinding(key.WithKeys("3", "f3"), key.WithHelp("3", "data/sql")),
		ViewCluster: key.NewBinding(key.WithKeys("4", "f4"), key.WithHelp("4", "cluster")),
		NextTab:     key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "next conn")),
		PrevTab:     key.NewBinding(key.WithKeys("["), key.WithHelp("[", "prev conn")),
		NewConn:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new conn")),
		Compression: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "toggle gzip")),
		Reveal:      key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "reveal secrets")),
	}
}

// InspectorKeyMap holds the frame list bindings.
type InspectorKeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Follow, Pause, Filter, ClearFilter      key.Binding
	Direction, Class, Detail                key.Binding
	Copy, Export                            key.Binding
	Compose, Resend, Answer                 key.Binding
}

// DefaultInspectorKeyMap returns the frame list bindings.
func DefaultInspectorKeyMap() InspectorKeyMap {
	return InspectorKeyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "oldest")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "newest")),
		Follow:      key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "follow")),
		Pause:       key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "pause")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Direction:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "in/out")),
		Class:       key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "type")),
		Detail:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
		Copy:        key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy frame")),
		Export:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export jsonl")),
		Compose:     key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "compose")),
		Resend:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resend")),
		Answer:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "answer")),
	}
}

// DetailKeyMap holds the detail pane bindings.
type DetailKeyMap struct {
	Up, Down, PageUp, PageDown, Mode, Back key.Binding
}

// DefaultDetailKeyMap returns the detail pane bindings.
func DefaultDetailKeyMap() DetailKeyMap {
	return DetailKeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Mode:     key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "pretty/raw/hex")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to list")),
	}
}

// TokenKeyMap holds the token panel bindings.
type TokenKeyMap struct {
	Refresh, UseRefresh, Policy, Longer, Shorter, Expire, Drop, Reconnect key.Binding
	Swap, ClearSwap                                                       key.Binding
}

// DefaultTokenKeyMap returns the token panel bindings.
func DefaultTokenKeyMap() TokenKeyMap {
	return TokenKeyMap{
		Refresh:    key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "refreshAuth now")),
		UseRefresh: key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "use refresh token")),
		Policy:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "cycle policy")),
		Longer:     key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+/-", "interval")),
		Shorter:    key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "shorter interval")),
		Expire:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "expire token")),
		Drop:       key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "drop socket")),
		Reconnect:  key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "reconnect")),
		Swap:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "swap token")),
		ClearSwap:  key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "clear swap")),
	}
}

// DataKeyMap holds the subscriptions / SQL panel bindings.
type DataKeyMap struct {
	Up, Down, PageUp, PageDown, Oldest, Newest   key.Binding
	NextSub, Subscribe, Unsubscribe, SQL, Frames key.Binding
	Filter, Order, Verify, Repair, Back          key.Binding
	CheckLive                                    key.Binding
}

// DefaultDataKeyMap returns the subscriptions / SQL bindings.
func DefaultDataKeyMap() DataKeyMap {
	return DataKeyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Oldest:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "first row")),
		Newest:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "last row, follow")),
		NextSub:     key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("←/→", "switch sub")),
		Subscribe:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "subscribe")),
		Unsubscribe: key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "unsubscribe")),
		SQL:         key.NewBinding(key.WithKeys("enter", "i"), key.WithHelp("enter", "sql console")),
		Frames:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "its frames")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter rows")),
		Order:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "order: arrival/key")),
		Verify:      key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "verify with server")),
		Repair:      key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "repair (re-subscribe)")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back / clear filter")),
		CheckLive:   key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "check system.live")),
	}
}

// helpMap adapts a pair of short/full binding lists to help.KeyMap.
type helpMap struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpMap) ShortHelp() []key.Binding  { return h.short }
func (h helpMap) FullHelp() [][]key.Binding { return h.full }
