package ui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
)

// coalesceWindow is how long the event command waits after the first event
// before draining the channel, so a busy connection produces at most one
// message per window instead of one per frame.
const coalesceWindow = 50 * time.Millisecond

// eventsMsg carries every event that arrived within one coalescing window.
type eventsMsg []Event

// tickMsg drives countdowns once a second.
type tickMsg time.Time

// openedMsg reports the result of Backend.Open.
type openedMsg struct {
	req  LoginRequest
	conn Conn
	err  error
}

// actionMsg reports the result of a control call on a connection.
type actionMsg struct {
	connID string
	what   string
	err    error
}

// queryMsg reports a SQL console result.
type queryMsg struct {
	connID string
	res    QueryResult
	err    error
}

// subscribedMsg reports a new subscription.
type subscribedMsg struct {
	connID string
	id     string
	opts   SubOptions
	err    error
}

// liveCheckMsg reports a check of the subscriptions against system.live.
type liveCheckMsg struct {
	connID  string
	summary string
	err     error
}

// exportMsg reports a JSONL export.
type exportMsg struct {
	path string
	n    int
	err  error
}

// waitEventsCmd blocks on the backend's event channel, waits one coalescing
// window and returns everything that arrived as one message. Update issues
// it again after each message (the re-armed command pattern).
func waitEventsCmd(ch <-chan Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return nil
		}
		time.Sleep(coalesceWindow)
		evs := eventsMsg{ev}
		for {
			select {
			case e, ok := <-ch:
				if !ok {
					return evs
				}
				evs = append(evs, e)
			default:
				return evs
			}
		}
	}
}

// tickCmd fires once after a second; Update re-arms it.
func tickCmd() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// actionTimeout bounds every control call made from the UI.
const actionTimeout = 30 * time.Second

// background returns a command that runs call with a context that ends
// after d, so no call the UI makes in the background can hang it.
func background(d time.Duration, call func(ctx context.Context) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return call(ctx)
	}
}

func openCmd(b Backend, req LoginRequest) tea.Cmd {
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		c, err := b.Open(ctx, req)
		return openedMsg{req: req, conn: c, err: err}
	})
}

// actionCmd runs one control call on a connection in the background.
func actionCmd(c Conn, what string, fn func(ctx context.Context) error) tea.Cmd {
	id := c.ID()
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		return actionMsg{connID: id, what: what, err: fn(ctx)}
	})
}

// queryCmd runs one console statement on connection id.
func queryCmd(id string, q SQL, sql string) tea.Cmd {
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		res, err := q.Query(ctx, sql)
		return queryMsg{connID: id, res: res, err: err}
	})
}

// liveCheckCmd checks connection id's subscriptions against the server's
// live queries.
func liveCheckCmd(id string, q SQL) tea.Cmd {
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		summary, err := q.CheckLive(ctx)
		return liveCheckMsg{connID: id, summary: summary, err: err}
	})
}

// subscribeCmd starts one live query on connection id.
func subscribeCmd(id string, q SQL, sql string, o SubOptions) tea.Cmd {
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		sid, err := q.Subscribe(ctx, sql, o)
		return subscribedMsg{connID: id, id: sid, opts: o, err: err}
	})
}

// exportRecord is one line of a JSONL export.
type exportRecord struct {
	ID          uint64          `json:"id"`
	Time        time.Time       `json:"time"`
	Dir         string          `json:"dir"`
	Opcode      string          `json:"opcode"`
	Encoding    string          `json:"encoding"`
	Type        string          `json:"type,omitempty"`
	Sub         string          `json:"subscription_id,omitempty"`
	WireSize    int             `json:"wire_size"`
	DecodedSize int             `json:"decoded_size"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	Text        string          `json:"text,omitempty"`
	WireBase64  string          `json:"wire_base64,omitempty"`
	CloseCode   int             `json:"close_code,omitempty"`
	Status      int             `json:"status,omitempty"`
	Err         string          `json:"error,omitempty"`
}

// exportRecordOf converts a frame, its secrets hidden by hide.
func exportRecordOf(f Frame, hide secrets) exportRecord {
	r := exportRecord{ID: f.ID, Time: f.Time, Dir: f.Dir, Opcode: f.Opcode, Encoding: f.Encoding,
		Type: f.Type, Sub: f.Sub, WireSize: f.WireSize, DecodedSize: f.DecodedSize,
		CloseCode: f.CloseCode, Status: f.Status, Err: f.Err}
	dec := hide.mask(f.Decoded)
	switch {
	case len(dec) > 0 && json.Valid(dec):
		r.Payload = json.RawMessage(dec)
	case len(dec) > 0:
		r.Text = string(dec)
	case utf8.Valid(f.Wire):
		r.Text = string(hide.mask(f.Wire))
	default:
		r.WireBase64 = base64.StdEncoding.EncodeToString(f.Wire)
	}
	return r
}

// exportCmd writes frames as JSON lines to path with mode 0600 (frames can
// carry user data even when secrets are masked).
func exportCmd(path string, frames []Frame, hide secrets) tea.Cmd {
	return func() tea.Msg {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return exportMsg{path: path, err: err}
		}
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		for _, fr := range frames {
			if err := enc.Encode(exportRecordOf(fr, hide)); err != nil {
				f.Close()
				return exportMsg{path: path, err: err}
			}
		}
		if err := f.Close(); err != nil {
			return exportMsg{path: path, err: err}
		}
		return exportMsg{path: path, n: len(frames)}
	}
}

// copyText is what y puts on the clipboard: the decoded payload, its
// secrets hidden by hide.
func copyText(f Frame, hide secrets) string {
	if len(f.Decoded) > 0 {
		return string(hide.mask(f.Decoded))
	}
	if utf8.Valid(f.Wire) {
		return string(hide.mask(f.Wire))
	}
	return fmt.Sprintf("binary frame #%d, %d bytes (%s)", f.ID, f.WireSize, f.Encoding)
}
