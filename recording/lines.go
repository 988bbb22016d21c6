package recording

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kalamdash/kalamdash/client"
)

// toLine converts a frame to its JSON line shape.
func toLine(f client.Frame) frameLine {
	l := frameLine{
		Kind: KindFrame, Seq: f.Seq, Time: f.Time.UTC(),
		Dir: dirNames[f.Direction], Opcode: opNames[f.Opcode], Encoding: encNames[f.Encoding],
		Type: f.Type, SubscriptionID: f.SubscriptionID, ConnID: f.ConnID,
		WireSize: f.WireSize, DecodedSize: f.DecodedSize,
		CloseCode: f.CloseCode, CloseReason: f.CloseReason, Status: f.Status,
		DurationNS: int64(f.Duration), Error: f.Err, Composed: f.Composed, Wire: f.Wire,
	}
	if l.Dir == "" {
		l.Dir = fmt.Sprintf("?%d", f.Direction)
	}
	if l.Opcode == "" {
		l.Opcode = fmt.Sprintf("?%d", f.Opcode)
	}
	if l.Encoding == "" {
		l.Encoding = fmt.Sprintf("?%d", f.Encoding)
	}
	switch d := f.Decoded; {
	case len(d) == 0:
	case isCompactJSON(d):
		l.Decoded = json.RawMessage(d)
	case utf8.Valid(d):
		s := string(d)
		l.DecodedText = &s
	default:
		l.DecodedBase64 = d
	}
	return l
}

// isCompactJSON reports whether b is valid JSON that json.Compact leaves
// unchanged, so embedding it raw round-trips byte for byte.
func isCompactJSON(b []byte) bool {
	if bytes.IndexAny(b, " \t\r\n") < 0 {
		return json.Valid(b) // no whitespace at all: compact if valid
	}
	c := compactBufs.Get().(*bytes.Buffer)
	defer compactBufs.Put(c)
	c.Reset()
	// Compact fails on invalid JSON, so it validates too.
	return json.Compact(c, b) == nil && bytes.Equal(c.Bytes(), b)
}

var compactBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fromLine converts a parsed frame line back to a frame.
func fromLine(l *frameLine) (client.Frame, error) {
	dir, ok := lookup(dirNames, l.Dir)
	if !ok {
		return client.Frame{}, fmt.Errorf("unknown dir %q (want \"in\" or \"out\")", l.Dir)
	}
	op, ok := lookup(opNames, l.Opcode)
	if !ok {
		return client.Frame{}, fmt.Errorf("unknown opcode %q (want text, binary, ping, pong, close or http)", l.Opcode)
	}
	enc, ok := lookup(encNames, l.Encoding)
	if !ok {
		return client.Frame{}, fmt.Errorf("unknown encoding %q (want none, json, gzip+json, msgpack or gzip+msgpack)", l.Encoding)
	}
	if l.Time.IsZero() {
		return client.Frame{}, fmt.Errorf("frame has no time")
	}
	f := client.Frame{
		Seq: l.Seq, Time: l.Time, Direction: dir, Opcode: op, Encoding: enc,
		Type: l.Type, SubscriptionID: l.SubscriptionID, ConnID: l.ConnID,
		WireSize: l.WireSize, DecodedSize: l.DecodedSize,
		CloseCode: l.CloseCode, CloseReason: l.CloseReason, Status: l.Status,
		Duration: time.Duration(l.DurationNS), Err: l.Error, Composed: l.Composed,
	}
	if len(l.Wire) > 0 {
		f.Wire = l.Wire
	}
	switch {
	case len(l.Decoded) > 0:
		f.Decoded = []byte(l.Decoded)
	case l.DecodedText != nil && *l.DecodedText != "":
		f.Decoded = []byte(*l.DecodedText)
	case len(l.DecodedBase64) > 0:
		f.Decoded = l.DecodedBase64
	}
	return f, nil
}

// FromClientEvent converts a client lifecycle event to an event line. ok
// is false for event types it does not know.
func FromClientEvent(ev client.Event) (e Event, ok bool) {
	errText := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	switch v := ev.(type) {
	case client.ConnectingEvent:
		return Event{Time: v.Time, Event: EventConnecting, Attempt: v.Attempt, URL: v.URL}, true
	case client.ConnectedEvent:
		return Event{Time: v.Time, Event: EventConnected, ConnID: v.ConnID, User: v.User, Role: v.Role, URL: v.URL,
			Serialization: v.Protocol.Serialization, Compression: v.Protocol.Compression, Resumed: v.Resumed}, true
	case client.FailoverEvent:
		return Event{Time: v.Time, Event: EventFailover, From: v.From, URL: v.To, Error: errText(v.Cause)}, true
	case client.DisconnectedEvent:
		return Event{Time: v.Time, Event: EventDisconnected, ConnID: v.ConnID, Code: v.Code, Reason: v.Reason,
			WillRetry: v.WillRetry, Error: errText(v.Err)}, true
	case client.ReconnectScheduledEvent:
		return Event{Time: v.Time, Event: EventReconnectScheduled, Attempt: v.Attempt, Delay: v.Delay}, true
	case client.AuthRefreshedEvent:
		return Event{Time: v.Time, Event: EventAuthRefreshed, Trigger: v.Trigger, OldExpiry: v.OldExpiry,
			NewExpiry: v.NewExpiry, SocketUntouched: v.SocketUntouched, Error: errText(v.Err)}, true
	case client.ProviderCalledEvent:
		return Event{Time: v.Time, Event: EventProviderCalled, Trigger: v.Trigger, AuthKind: v.Kind.String(),
			Fingerprint: v.Fingerprint, Duration: v.Duration, Error: errText(v.Err)}, true
	case client.ErrorEvent:
		return Event{Time: v.Time, Event: EventError, Recoverable: v.Recoverable, Error: errText(v.Err)}, true
	}
	return Event{}, false
}
