package kalamtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// This file renders decoding failures in the words serde/serde_json use,
// because upstream puts those texts on the wire (1011 close reasons, the
// actix JSON extractor's 400 bodies, "Invalid JSON payload: …"). Clients
// must not parse them; they only need to look the same to a human.

// jsonKind describes a raw JSON value the way serde's "invalid type"
// errors do: string "x", integer `5`, floating point `1.5`, boolean
// `true`, null, map, sequence.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "unit value"
	}
	switch v[0] {
	case '"':
		var s string
		_ = json.Unmarshal(v, &s)
		return "string " + strconv.Quote(s)
	case '{':
		return "map"
	case '[':
		return "sequence"
	case 't', 'f':
		return "boolean `" + string(v) + "`"
	case 'n':
		return "null"
	}
	if bytes.ContainsAny(v, ".eE") {
		return "floating point `" + string(v) + "`"
	}
	return "integer `" + string(v) + "`"
}

// serdeText turns an encoding/json syntax error into serde_json's phrasing.
func serdeText(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "EOF while parsing a value at line 1 column 0"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF while parsing an object"
	case errors.As(err, &se):
		msg := se.Error()
		switch {
		case strings.Contains(msg, "in literal"):
			return fmt.Sprintf("expected ident at line 1 column %d", se.Offset)
		case strings.Contains(msg, "looking for beginning of value"):
			return fmt.Sprintf("expected value at line 1 column %d", se.Offset)
		case strings.Contains(msg, "after top-level value"):
			return fmt.Sprintf("trailing characters at line 1 column %d", se.Offset)
		case strings.Contains(msg, "looking for beginning of object key string"):
			return fmt.Sprintf("key must be a string at line 1 column %d", se.Offset)
		}
		return fmt.Sprintf("%s at line 1 column %d", msg, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("invalid type: %s, expected %s", te.Value, te.Type)
	}
	return err.Error()
}

// fields is a decoded JSON object with serde-like typed accessors. Every
// accessor returns the error text serde would produce for that field.
type fields map[string]json.RawMessage

func parseObject(b []byte, expecting string) (fields, string) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, serdeText(err)
	}
	// Decoder.More only looks inside arrays and objects; serde refuses any
	// non-space byte after the value ("{...}}" included).
	rest := b[dec.InputOffset():]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
		return nil, fmt.Sprintf("trailing characters at line 1 column %d", int(dec.InputOffset())+len(rest)-len(trimmed)+1)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Sprintf("invalid type: %s, expected %s", jsonKind(raw), expecting)
	}
	var f fields
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, serdeText(err)
	}
	return f, ""
}

func (f fields) has(k string) bool {
	v, ok := f[k]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

// str reads a required string field.
func (f fields) str(k string) (string, string) {
	v, ok := f[k]
	if !ok {
		return "", fmt.Sprintf("missing field `%s`", k)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil || bytes.TrimSpace(v)[0] != '"' {
		return "", fmt.Sprintf("invalid type: %s, expected a string", jsonKind(v))
	}
	return s, ""
}

// optInt reads an optional integer field as serde reads Option<i64/u32/…>:
// absent or null is nil; strings and floats are type errors.
func (f fields) optInt(k, rustType string, min, max int64) (*int64, string) {
	v, ok := f[k]
	if !ok {
		return nil, ""
	}
	v = bytes.TrimSpace(v)
	if string(v) == "null" {
		return nil, ""
	}
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || bytes.ContainsAny(v, ".eE") {
		return nil, fmt.Sprintf("invalid type: %s, expected %s", jsonKind(v), rustType)
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < min || n > max {
		return nil, fmt.Sprintf("invalid value: integer `%s`, expected %s", v, rustType)
	}
	return &n, ""
}

// obj reads an optional nested object (nil when absent or null).
func (f fields) obj(k, expecting string) (fields, bool, string) {
	v, ok := f[k]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, false, ""
	}
	o, msg := parseObject(v, expecting)
	if msg != "" {
		return nil, false, msg
	}
	return o, true, ""
}

// reqObj is obj for a field that must be present and not null, refused
// as serde words it: "missing field `k`" or "invalid type: null, expected
// <expecting>".
func (f fields) reqObj(k, expecting string) (fields, string) {
	if _, ok := f[k]; !ok {
		return nil, "missing field `" + k + "`"
	}
	o, ok, msg := f.obj(k, expecting)
	if msg != "" {
		return nil, msg
	}
	if !ok {
		return nil, "invalid type: null, expected " + expecting
	}
	return o, ""
}
