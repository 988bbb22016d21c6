package recording

import (
	"bytes"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/kalamdash/kalamdash/client"
)

// MinSecretLen is the shortest literal secret the Writer scrubs by value:
// shorter ones (the demo server's password is "demo") would mangle
// ordinary text such as table and user names. They are still redacted
// wherever the client's tap redacts by key (token, password,
// Authorization, …), which is everywhere they are sent.
const MinSecretLen = 8

// sqlPassword matches SQL password literals (CREATE USER … PASSWORD '…',
// ALTER USER … SET PASSWORD '…'), which the tap cannot know are secret.
// Inside JSON the quote may be escaped, hence the optional backslash.
var sqlPassword = regexp.MustCompile(`(?i)(\bPASSWORD\s*)('(?:[^'\\]|\\.|'')*')`)

// secretParams are URL query parameters whose values are redacted.
var secretParams = []string{"token", "access_token", "refresh_token", "password", "auth", "authorization", "jwt", "secret"}

// redactor scrubs secrets from everything the Writer writes. The zero
// value with reveal=false scrubs SQL password literals only.
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

var redactedBytes = []byte(client.Redacted)

// bytes returns b scrubbed; b itself when nothing matched (never modified).
func (r *redactor) bytes(b []byte) []byte {
	if r.reveal || len(b) == 0 {
		return b
	}
	out := b
	for _, s := range r.secrets {
		if bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, redactedBytes)
		}
	}
	if containsFold(out, "password") && sqlPassword.Match(out) {
		out = sqlPassword.ReplaceAll(out, []byte(`${1}'`+client.Redacted+`'`))
	}
	return out
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
	// Frames tapped with reveal carry secrets by key as well as the
	// literal ones the writer was given: scrub both.
	f = client.RedactFrame(f)
	f.Wire = r.bytes(f.Wire)
	f.Decoded = r.bytes(f.Decoded)
	f.Type = r.string(f.Type)
	f.CloseReason = r.string(f.CloseReason)
	f.Err = r.string(f.Err)
	return f
}

func (r *redactor) event(e Event) Event {
	if r.reveal {
		return e
	}
	e.URL = r.string(SanitizeURL(e.URL))
	e.Reason = r.string(e.Reason)
	e.Text = r.string(e.Text)
	e.Error = r.string(e.Error)
	return e
}

func (r *redactor) header(h Header) Header {
	if r.reveal {
		return h
	}
	h.ServerURL = r.string(SanitizeURL(h.ServerURL))
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

// SanitizeURL removes credentials from a URL: the password of its
// userinfo and the values of query parameters named like secrets (token,
// access_token, password, …), replaced by "redacted". Text that does not parse as a URL is
// returned unchanged.
func SanitizeURL(raw string) string {
	if raw == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.User != nil {
		// Drop the password; the user name is not a secret.
		u.User = url.User(u.User.Username())
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			for _, s := range secretParams {
				if strings.EqualFold(k, s) {
					for i := range q[k] {
						q[k][i] = "redacted" // ASCII: «» would be percent-encoded
					}
					changed = true
				}
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// containsFold reports whether b contains the lowercase ASCII word w in
// any case. It is a cheap filter in front of the regexp, which dominated
// the cost of writing a frame.
func containsFold(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		if b[i]|0x20 == w[0] && bytes.EqualFold(b[i:i+len(w)], []byte(w)) {
			return true
		}
	}
	return false
}
