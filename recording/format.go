package recording

import (
	"encoding/json"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Version is the recording format version this package writes and the
// newest it reads. It is stored in the header's "kalamdash_recording"
// field and bumped whenever a change would make an older reader misread a
// file (new optional fields and new line kinds do not bump it: readers
// ignore what they do not know).
const Version = 1

// Line kinds (the "kind" field of every line after the header).
const (
	KindFrame = "frame"
	KindEvent = "event"
	KindEnd   = "end"
)

// Header is line 1 of a recording.
type Header struct {
	// Version is the format version ("kalamdash_recording").
	Version int `json:"kalamdash_recording"`
	// ToolVersion is the kalamdash version that wrote the file.
	ToolVersion string `json:"tool_version"`
	// ServerURL is the server the session talked to, without credentials.
	ServerURL string `json:"server_url"`
	// StartedAt is when recording began.
	StartedAt time.Time `json:"started_at"`
	// SecretsRevealed is true when the file was written with
	// --reveal-secrets: it then holds tokens and passwords in clear.
	SecretsRevealed bool `json:"secrets_revealed"`
	// Options are the connection and recording options used.
	Options Options `json:"options"`
}

// Options describes how the recorded session was made. It never holds a
// password or token.
type Options struct {
	Auth          string   `json:"auth,omitempty"` // "password", "jwt" or "none"
	User          string   `json:"user,omitempty"`
	NoCompress    bool     `json:"no_compress,omitempty"`
	Serialization string   `json:"serialization,omitempty"` // "json" or "msgpack"
	SQL           []string `json:"sql,omitempty"`           // --sql statements, in order
	Subscribe     []string `json:"subscribe,omitempty"`     // --subscribe queries, in order
	Duration      string   `json:"duration,omitempty"`      // --duration, as given
	Count         int      `json:"count,omitempty"`         // --count
}

// Event names (Event.Event). The first eight mirror the client's
// lifecycle events; the last two are written by the recorder itself.
const (
	EventConnecting         = "connecting"
	EventConnected          = "connected"
	EventDisconnected       = "disconnected"
	EventReconnectScheduled = "reconnect_scheduled"
	EventAuthRefreshed      = "auth_refreshed"
	EventProviderCalled     = "provider_called"
	EventError              = "error"
	EventFailover           = "failover"   // a socket came up on another cluster node (From → URL)
	EventSQL                = "sql"        // a --sql statement ran (Text; Error if it failed)
	EventSubscribed         = "subscribed" // a --subscribe query was acknowledged (Text, SubscriptionID)
)

// Event is a connection lifecycle event line. Only the fields that apply
// to the event are set.
type Event struct {
	Time            time.Time     `json:"time"`
	Event           string        `json:"event"`
	ConnID          uint64        `json:"conn_id,omitempty"`
	Attempt         int           `json:"attempt,omitempty"`
	URL             string        `json:"url,omitempty"`
	From            string        `json:"from,omitempty"` // failover: the node left
	User            string        `json:"user,omitempty"`
	Role            string        `json:"role,omitempty"`
	Serialization   string        `json:"serialization,omitempty"`
	Compression     string        `json:"compression,omitempty"`
	Resumed         int           `json:"resumed,omitempty"`
	Code            int           `json:"code,omitempty"` // close code, -1 when the connection just broke
	Reason          string        `json:"reason,omitempty"`
	WillRetry       bool          `json:"will_retry,omitempty"`
	Delay           time.Duration `json:"delay_ns,omitempty"`
	Trigger         string        `json:"trigger,omitempty"`
	OldExpiry       time.Time     `json:"old_expiry,omitzero"`
	NewExpiry       time.Time     `json:"new_expiry,omitzero"`
	SocketUntouched bool          `json:"socket_untouched,omitempty"`
	AuthKind        string        `json:"auth_kind,omitempty"`
	Fingerprint     string        `json:"fingerprint,omitempty"`
	Duration        time.Duration `json:"duration_ns,omitempty"`
	Recoverable     bool          `json:"recoverable,omitempty"`
	SubscriptionID  string        `json:"subscription_id,omitempty"`
	Text            string        `json:"text,omitempty"`
	Error           string        `json:"error,omitempty"`

	// FrameIndex is set by the reader: how many frames preceded this event
	// in the file, so a replay can interleave events with frames.
	FrameIndex int `json:"-"`
}

// End is the trailer line. A recording without one was cut short (the
// recorder was killed or the disk filled up); the frames before it are
// still valid.
type End struct {
	Time      time.Time `json:"time"`
	Frames    uint64    `json:"frames"`
	Events    uint64    `json:"events"`
	WireBytes uint64    `json:"wire_bytes"`
	TapDrops  uint64    `json:"tap_drops"`        // frames the client's tap dropped (not in the file)
	Reason    string    `json:"reason,omitempty"` // "duration", "count", "interrupted", "closed", "error"
	Error     string    `json:"error,omitempty"`  // why recording stopped early
}

// Recording is a whole recording file in memory.
type Recording struct {
	Header Header
	// Frames are the recorded frames in file order. They are client.Frame
	// values, what a session.FrameLog holds, so one can be
	// filled from them with Append.
	Frames []client.Frame
	// Events are the lifecycle events in file order.
	Events []Event
	// End is the trailer, nil if the file has none.
	End *End
}

// frameLine is the JSON shape of a frame line. Decoded is embedded as raw
// JSON when that round-trips byte for byte (compact, valid JSON); otherwise
// it is stored as a string (DecodedText) or, when not UTF-8, base64
// (DecodedBase64).
type frameLine struct {
	Kind           string          `json:"kind"`
	Seq            uint64          `json:"seq,omitempty"`
	Time           time.Time       `json:"time"`
	Dir            string          `json:"dir"`
	Opcode         string          `json:"opcode"`
	Encoding       string          `json:"encoding"`
	Type           string          `json:"type,omitempty"`
	SubscriptionID string          `json:"subscription_id,omitempty"`
	ConnID         uint64          `json:"conn_id,omitempty"`
	WireSize       int             `json:"wire_size"`
	DecodedSize    int             `json:"decoded_size"`
	CloseCode      int             `json:"close_code,omitempty"`
	CloseReason    string          `json:"close_reason,omitempty"`
	Status         int             `json:"status,omitempty"`
	DurationNS     int64           `json:"duration_ns,omitempty"`
	Error          string          `json:"error,omitempty"`
	Composed       bool            `json:"composed,omitempty"` // sent by hand from the frame composer
	Wire           []byte          `json:"wire,omitempty"`     // base64
	Decoded        json.RawMessage `json:"decoded,omitempty"`
	DecodedText    *string         `json:"decoded_text,omitempty"`
	DecodedBase64  []byte          `json:"decoded_base64,omitempty"`
}

type eventLine struct {
	Kind string `json:"kind"`
	Event
}

type endLine struct {
	Kind string `json:"kind"`
	End
}

// Names used on the wire for the client's enums. They are part of the
// format: never rename one.
var (
	dirNames = map[client.Direction]string{client.Inbound: "in", client.Outbound: "out"}
	opNames  = map[client.Opcode]string{client.OpText: "text", client.OpBinary: "binary", client.OpPing: "ping",
		client.OpPong: "pong", client.OpClose: "close", client.OpHTTP: "http"}
	encNames = map[client.Encoding]string{client.EncNone: "none", client.EncJSON: "json", client.EncGzipJSON: "gzip+json",
		client.EncMsgpack: "msgpack", client.EncGzipMsgpack: "gzip+msgpack"}
)

func lookup[K comparable](m map[K]string, name string) (K, bool) {
	for k, v := range m {
		if v == name {
			return k, true
		}
	}
	var zero K
	return zero, false
}
