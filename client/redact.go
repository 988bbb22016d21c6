package client

import (
	"unicode/utf8"

	"github.com/kalamdash/kalamdash/redact"
)

// RedactFrame returns f with every secret package redact recognises in
// its text replaced (redact.Text): token and password fields, credential
// headers of HTTP exchanges, SQL password literals and JWT-shaped text.
// Frames tapped with WithRevealSecrets carry secrets in clear; whatever
// shows or writes them redacted (the dashboard, exports, recordings)
// passes them through here. Binary WebSocket payloads (gzip, msgpack) are
// left as they are, so the inspector can still show and decode them: no
// KalamDB message that carries a secret is large enough to be compressed.
// An HTTP exchange is always redacted, whatever its body holds: its head
// carries the Authorization and cookie headers, and one byte of Latin-1 or
// a gzip request body must not keep them in clear.
func RedactFrame(f Frame) Frame {
	f.Decoded = redact.Text(f.Decoded)
	if f.Opcode == OpHTTP || utf8.Valid(f.Wire) {
		f.Wire = redact.Text(f.Wire)
	}
	return f
}
