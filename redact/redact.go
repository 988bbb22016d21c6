// Package redact recognises secrets in what kalamdash shows and writes:
// token and password fields of JSON, credential headers, query parameters
// of URLs, JWT-shaped text and SQL password literals. It holds the one list
// of secret names and the one Marker that replaces a secret.
//
// The client's frame tap, the recording writer and the dashboard's backend
// all redact through it; the ui package imports no project package but
// theme and internal/safetext, so it reaches this redaction through its
// Backend (ui.Backend.Redact).
//
// JSON and Text never modify their input and return it itself when there
// is nothing to redact.
package redact

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Marker replaces a secret.
const Marker = "«redacted»"

// names are the secret names, lower case: JSON keys whose string values,
// HTTP headers whose values and URL query parameters whose values are
// secret. Matching ignores case.
var names = []string{
	"password", "root_password",
	"token", "access_token", "refresh_token",
	"jwt", "jwt_secret", "secret",
	"auth", "authorization", "proxy-authorization",
	"cookie", "set-cookie",
}

// isSecret reports whether name (a JSON key, an HTTP header or a URL query
// parameter) holds a secret.
func isSecret(name string) bool {
	for _, n := range names {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// Header returns a secret header's value redacted, keeping what tells the
// reader which credential it was: the auth scheme ("Bearer «redacted»")
// or the cookie's name ("kalamdb_refresh=«redacted»"). Other headers'
// values come back as they are.
func Header(name, value string) string {
	if !isSecret(name) {
		return value
	}
	if lower := strings.ToLower(name); lower != "cookie" && lower != "set-cookie" {
		if scheme, _, ok := strings.Cut(value, " "); ok {
			return scheme + " " + Marker
		}
	}
	if cookie, _, ok := strings.Cut(value, "="); ok {
		return cookie + "=" + Marker
	}
	return Marker
}

// URL removes credentials from a URL: the password of its userinfo and
// the values of secret query parameters, replaced by "redacted" (ASCII: the
// Marker would be percent-encoded). Text that does not parse as a URL
// loses the password of anything shaped like userinfo and is otherwise
// unchanged: a malformed URL is what an error message quotes.
func URL(raw string) string {
	if raw == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return withoutPassword(raw)
	}
	changed := false
	if _, hasPassword := u.User.Password(); hasPassword {
		// Drop the password; the user name is not a secret.
		u.User, changed = url.User(u.User.Username()), true
	}
	if u.RawQuery != "" {
		q := u.Query()
		secret := false
		for k := range q {
			if isSecret(k) {
				for i := range q[k] {
					q[k][i] = "redacted"
				}
				secret = true
			}
		}
		if secret {
			u.RawQuery, changed = q.Encode(), true
		}
	}
	if !changed {
		return raw // as written: u.String() would respell it ("http://" → "http:")
	}
	return u.String()
}

// withoutPassword drops the password from the userinfo of text that looks
// like scheme://user:password@host but does not parse as a URL.
func withoutPassword(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return raw
	}
	return raw[:i+3] + user + rest[at:]
}

// alternation is names as a regexp alternation, longest first so
// "access_token" is tried before "token".
func alternation() string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	slices.SortFunc(quoted, func(a, b string) int { return len(b) - len(a) })
	return strings.Join(quoted, "|")
}
