package client

import (
	"regexp"
	"unicode/utf8"
)

// secretHeaderLine matches an Authorization or cookie header line in the
// text of a tapped HTTP exchange: the scheme or cookie name is kept, the
// credential goes.
var secretHeaderLine = regexp.MustCompile(`(?mi)^((?:proxy-)?authorization:[ \t]*(?:\S+[ \t]+)?|(?:set-)?cookie:[ \t]*[^=\r\n]+=)[^\r\n]*`)

// RedactFrame applies the tap's key-based redaction to f: the values of
// token and password fields in JSON payloads, and the credentials of
// Authorization and cookie headers of HTTP exchanges. Frames tapped with
// WithRevealSecrets carry secrets in clear; anything that writes them out
// of the process redacted (exports, recordings) passes them through here.
// Binary payloads (gzip, msgpack) are left as they are: no KalamDB message
// that carries a secret is large enough to be compressed.
func RedactFrame(f Frame) Frame {
	f.Decoded = redactJSON(f.Decoded, false)
	if utf8.Valid(f.Wire) {
		w := redactJSON(f.Wire, false)
		if secretHeaderLine.Match(w) {
			w = secretHeaderLine.ReplaceAll(w, []byte("${1}"+Redacted))
		}
		f.Wire = w
	}
	return f
}
