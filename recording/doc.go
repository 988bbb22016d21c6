// Package recording reads and writes kalamdash recordings: a KalamDB
// session (every WebSocket frame in both directions and every HTTP
// exchange, as the client's frame tap saw them) stored as JSON Lines.
//
// A recording file is UTF-8 text, one JSON object per line:
//
//	{"kalamdash_recording":1,"tool_version":"0.1.0","server_url":"http://127.0.0.1:8080",...}
//	{"kind":"frame","seq":1,"time":"…","dir":"out","opcode":"http","type":"POST /v1/api/auth/login",...}
//	{"kind":"event","time":"…","event":"connected","conn_id":1,"user":"alice",...}
//	…
//	{"kind":"end","time":"…","frames":42,"reason":"duration"}
//
// Line 1 is the Header. Every later line has a "kind": "frame" (a
// client.Frame that loses nothing: wire bytes in base64, the decoded JSON,
// sizes, timings, close code, HTTP status, socket id, decode error),
// "event" (a connection lifecycle event, so a replay can show state) or
// "end" (the trailer; absent when the recorder was killed). The format is
// documented in docs/recording-format.md; Version is bumped on any change
// an older reader would misread.
//
// Secrets are redacted unless the writer is told to reveal them: the
// client's tap already redacts secret fields and headers by name, and the
// Writer passes every text field it writes through package redact again
// (secret fields, credential headers, URL credentials, SQL password
// literals, JWT-shaped text) and scrubs any literal secret it was given
// (WithSecrets).
//
// Playing a recording back to a client is package recording/replay's job;
// this package is only the format.
package recording
