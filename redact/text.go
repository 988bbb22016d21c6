package redact

import (
	"bytes"
	"regexp"
	"strings"
)

// jsonString is a JSON string literal.
const jsonString = `"(?:[^"\\]|\\.)*"`

var (
	// jsonField matches the value of a secret key in JSON text: a string,
	// or an array of strings (HTTP headers as Go encodes them,
	// "Authorization":["Bearer …"]). A regexp (not decode/encode) keeps
	// the text byte for byte as it was apart from the secret itself.
	jsonField = regexp.MustCompile(`("(?i:` + alternation() + `)"\s*:\s*)(` + jsonString + `|\[\s*(?:` + jsonString + `\s*,?\s*)*\])`)
	// jsonStringRE matches one JSON string.
	jsonStringRE = regexp.MustCompile(jsonString)
	// headerLine matches a secret header line of a tapped HTTP exchange
	// ("Authorization: Bearer …"); its value goes through Header.
	headerLine = regexp.MustCompile(`(?mi)^(` + alternation() + `):[ \t]*([^\r\n]*)`)
	// sqlPassword matches SQL password literals (CREATE USER … PASSWORD
	// '…', ALTER USER … SET PASSWORD '…'). Inside JSON the quote may be
	// escaped, hence the backslash alternative.
	sqlPassword = regexp.MustCompile(`(?i)(\bPASSWORD\s*)('(?:[^'\\]|\\.|'')*')`)
	// jwt matches JWT-shaped text wherever it stands.
	jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// needles are the names no other name contains, in the spellings
// mentionsName looks for: text that holds none of them mentions no secret
// name, and the expressions that look for one are not run over it at all.
var needles = func() [][3][]byte {
	var out [][3][]byte
	for _, n := range names {
		covered := false
		for _, m := range names {
			if m != n && strings.Contains(n, m) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, [3][]byte{[]byte(n), []byte(strings.ToUpper(n[:1]) + n[1:]), []byte(strings.ToUpper(n))})
		}
	}
	return out
}()

// JSON returns b with the string values of secret keys replaced by the
// Marker, each string of an array of strings too.
func JSON(b []byte) []byte {
	if !mentionsName(b) || !jsonField.Match(b) {
		return b
	}
	return jsonField.ReplaceAllFunc(b, func(field []byte) []byte {
		m := jsonField.FindSubmatchIndex(field)
		key, value := field[:m[3]], field[m[4]:m[5]]
		out := append([]byte{}, key...)
		if value[0] == '"' {
			return append(out, `"`+Marker+`"`...)
		}
		return append(out, jsonStringRE.ReplaceAll(value, []byte(`"`+Marker+`"`))...)
	})
}

// Text returns b with every secret it can recognise replaced by the
// Marker: secret JSON fields, secret header lines of HTTP exchanges, SQL
// password literals and JWT-shaped text. It is what "redacted" means for
// a frame's text.
func Text(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	if mentionsName(b) {
		b = JSON(b)
		if headerLine.Match(b) {
			b = headerLine.ReplaceAllFunc(b, func(line []byte) []byte {
				m := headerLine.FindSubmatch(line)
				return []byte(string(m[1]) + ": " + Header(string(m[1]), string(m[2])))
			})
		}
		if sqlPassword.Match(b) {
			b = sqlPassword.ReplaceAll(b, []byte(`${1}'`+Marker+`'`))
		}
	}
	if bytes.Contains(b, []byte("eyJ")) && jwt.Match(b) {
		b = jwt.ReplaceAll(b, []byte(Marker))
	}
	return b
}

// mentionsName reports whether b contains a secret name written in lower
// case, Title case or upper case (Authorization, TOKEN, Set-Cookie: the
// spellings protocols and people use). It is the cheap filter in front of
// the regular expressions, which would dominate the cost of showing or
// writing a large frame: bytes.Index runs at memory speed.
func mentionsName(b []byte) bool {
	for _, spellings := range needles {
		for _, n := range spellings {
			if bytes.Contains(b, n) {
				return true
			}
		}
	}
	return false
}
