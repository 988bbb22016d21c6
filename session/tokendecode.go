package session

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// DecodeToken decodes token's header and claims without verifying the
// signature (the dashboard has no key; it only shows what the token says).
// It never fails: problems are reported in the returned state, and no
// message repeats any part of the token.
//
// Decoding is lenient where KalamDB is strict, because the point is to show
// a broken token: a claim of the wrong JSON type is left zero and named in
// Problems, unknown claims and header parameters are kept in order in
// Claims.All and Header.All, and any alg (even "none") is accepted.
func DecodeToken(token string) TokenState {
	ts := TokenState{Present: token != "", Fingerprint: client.Fingerprint(token)}
	if token == "" {
		return ts
	}
	parts := strings.Split(token, ".")
	switch {
	case len(parts) == 5:
		ts.DecodeError = "not a decodable JWT: it has five parts, an encrypted JWT (JWE), which KalamDB does not accept"
		return ts
	case len(parts) != 3:
		ts.DecodeError = fmt.Sprintf("not a decodable JWT: it has %d part(s) separated by dots, a JWT has three", len(parts))
		return ts
	}
	header, err := jwtObject(parts[0])
	if err != nil {
		ts.DecodeError = "not a decodable JWT: its header " + err.Error()
		return ts
	}
	claims, err := jwtObject(parts[1])
	if err != nil {
		ts.DecodeError = "not a decodable JWT: its payload " + err.Error()
		return ts
	}
	ts.Valid = true
	ts.Header.All = header
	ts.Claims.All = claims
	var p problems
	for _, f := range p.unique("header parameter", header) {
		switch f.Name {
		case "alg":
			ts.Header.Alg = p.str(f)
		case "typ":
			ts.Header.Typ = p.str(f)
		case "kid":
			ts.Header.Kid = p.str(f)
		}
	}
	c := &ts.Claims
	for _, f := range p.unique("claim", claims) {
		switch f.Name {
		case "sub":
			c.Subject = p.str(f)
		case "iss":
			c.Issuer = p.str(f)
		case "role":
			c.Role = p.str(f)
		case "email":
			if f.Value != "null" {
				c.Email = p.str(f)
			}
		case "token_type":
			c.TokenType = p.str(f)
		case "exp":
			c.ExpiresAt = p.time(f)
		case "iat":
			c.IssuedAt = p.time(f)
		case "nbf":
			c.NotBefore = p.time(f)
		}
	}
	ts.Problems = p.list
	return ts
}

// jwtObject decodes one base64url part of a JWT as a JSON object and
// returns its members in order. Errors say what is wrong, never what the
// part holds.
func jwtObject(part string) ([]JWTField, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
	if err != nil {
		return nil, errors.New("is not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("is not a JSON object")
	}
	var out []JWTField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, errors.New("is not valid JSON")
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errors.New("is not valid JSON")
		}
		var compact bytes.Buffer
		if json.Compact(&compact, v) != nil {
			return nil, errors.New("is not valid JSON")
		}
		out = append(out, JWTField{Name: name, Value: compact.String()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("is not valid JSON")
	}
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return nil, errors.New("has data after its JSON object")
	}
	return out, nil
}

// problems collects what a decodable token gets wrong.
type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// unique returns fields without repeated names (the last one wins, as in
// Go) and reports each repetition: KalamDB's serde decoding refuses a
// token with a duplicated claim.
func (p *problems) unique(what string, fields []JWTField) []JWTField {
	seen := make(map[string]int, len(fields))
	out := make([]JWTField, 0, len(fields))
	for _, f := range fields {
		if i, ok := seen[f.Name]; ok {
			p.add("%s %q appears more than once (the server refuses such a token)", what, f.Name)
			out[i] = f
			continue
		}
		seen[f.Name] = len(out)
		out = append(out, f)
	}
	return out
}

// str reads a string-valued field, reporting any other JSON type.
func (p *problems) str(f JWTField) string {
	var s string
	if json.Unmarshal([]byte(f.Value), &s) != nil {
		p.add("%q is %s, not a string", f.Name, jsonKind(f.Value))
		return ""
	}
	return s
}

// maxUnixSeconds bounds the times a token may state (about the year
// 36 812): beyond it a value is a mistake, not a date.
const maxUnixSeconds = 1 << 40

// time reads a NumericDate (Unix seconds, possibly fractional).
func (p *problems) time(f JWTField) time.Time {
	var n json.Number
	if json.Unmarshal([]byte(f.Value), &n) != nil {
		p.add("%q is %s, not a number of seconds (the server refuses the token)", f.Name, jsonKind(f.Value))
		return time.Time{}
	}
	v, err := n.Float64()
	if err != nil || math.Abs(v) >= maxUnixSeconds {
		p.add("%q is out of range as a date", f.Name)
		return time.Time{}
	}
	sec := math.Floor(v)
	return time.Unix(int64(sec), int64((v-sec)*1e9)).UTC()
}

// jsonKind names the JSON type of a compact JSON value.
func jsonKind(v string) string {
	switch {
	case v == "null":
		return "null"
	case v == "true" || v == "false":
		return "a boolean"
	case strings.HasPrefix(v, `"`):
		return "a string"
	case strings.HasPrefix(v, "{"):
		return "an object"
	case strings.HasPrefix(v, "["):
		return "an array"
	}
	return "a number"
}

// FieldsJSON writes fields back as one JSON object in their order (a Go
// map would sort them). Values are compact JSON already (DecodeToken).
func FieldsJSON(fields []JWTField) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f.Name)
		b.Write(name)
		b.WriteByte(':')
		b.WriteString(f.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}
