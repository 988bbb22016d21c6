package recording

import (
	"bytes"
	"sort"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/redact"
)

// MinSecretLen is the shortest literal secret the Writer scrubs by value:
// shorter ones (the demo server's password is "demo") would mangle
// ordinary text such as table and user names. They are still redacted
// wherever package redact recognises them by name (token, password,
// Authorization, …), which is everywhere they are sent.
const MinSecretLen = 8

// redactor scrubs secrets from everything the Writer writes: what package
// redact recognises, and the literal secrets the Writer was given. The
// zero value with reveal=false scrubs what package redact recognises only.
type redactor struct {
	reveal  bool
	secrets [][]byte // longest first, so a secret containing another goes first
}

func newRedactor(reveal bool, secrets []string) redactor {
	r := redactor{reveal: reveal}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= MinSecretLen && !seen[s] {
			seen[s] = true
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

var redactedBytes = []byte(redact.Marker)

// bytes returns b scrubbed; b itself when nothing matched (never modified).
func (r *redactor) bytes(b []byte) []byte {
	if r.reveal || len(b) == 0 {
		return b
	}
	return redact.Text(r.literals(b))
}

func (r *redactor) string(s string) string {
	if r.reveal || s == "" {
		return s
	}
	return string(r.bytes([]byte(s)))
}

// frame returns f with every text field scrubbed. Wire is scrubbed too:
// a secret in it would otherwise leak through the base64.
func (r *redactor) frame(f client.Frame) client.Frame {
	if r.reveal {
		return f
	}
	// Frames tapped with reveal carry secrets by name as well as the
	// literal ones the writer was given: scrub both.
	f = client.RedactFrame(f)
	f.Wire = r.literals(f.Wire)
	f.Decoded = r.literals(f.Decoded)
	f.Type = r.string(f.Type)
	f.CloseReason = r.string(f.CloseReason)
	f.Err = r.string(f.Err)
	return f
}

// literals replaces the literal secrets only: binary wire bytes must not
// go through text patterns.
func (r *redactor) literals(b []byte) []byte {
	for _, s := range r.secrets {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, redactedBytes)
		}
	}
	return b
}

func (r *redactor) event(e Event) Event {
	if r.reveal {
		return e
	}
	e.URL = r.string(redact.URL(e.URL))
	e.Reason = r.string(e.Reason)
	e.Text = r.string(e.Text)
	e.Error = r.string(e.Error)
	return e
}

func (r *redactor) header(h Header) Header {
	if r.reveal {
		return h
	}
	h.ServerURL = r.string(redact.URL(h.ServerURL))
	h.Options.SQL = r.strings(h.Options.SQL)
	h.Options.Subscribe = r.strings(h.Options.Subscribe)
	return h
}

func (r *redactor) strings(in []string) []string {
	if len(in) == 0 {
		return in
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = r.string(s)
	}
	return out
}
