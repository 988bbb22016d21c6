package kalamtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// Upstream's /v1/api/sql also takes multipart/form-data: that is how rows
// with FILE columns are written (kalamdb-api http/sql/request.rs,
// file_utils.rs, execution_paths.rs). The parts are "sql", an optional
// "params" (a JSON array as text), an optional "namespace_id", and files
// named "file:<name>" that the SQL refers to as FILE("name"). kalamtest
// emulates the request format and its validation; a request without files
// executes exactly like the JSON form. The FILE datatype and file storage
// are not emulated, so a request that would stage files is refused with
// fileUploadUnsupported.

// maxFilesPerRequest is files.max_files_per_request.
const maxFilesPerRequest = 20

// fileUploadUnsupported answers requests that would take upstream's
// file-upload path. The text is kalamtest's own; upstream would store the
// files.
const fileUploadUnsupported = "kalamtest: FILE uploads are not emulated (no FILE datatype or file storage); send the statement without files"

// readMultipartSQL decodes a multipart /sql request with upstream's
// checks and error codes. Parse errors carry Go's wording after upstream's
// "Multipart parse error: " prefix, not actix-multipart's.
func readMultipartSQL(r *http.Request) (sqlInput, *sqlFailure) {
	in := sqlInput{multipart: true}
	r.Body = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return in, badSQL("INVALID_INPUT", "Multipart parse error: "+err.Error())
	}
	var sql, params *string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return in, multipartReadFailure("Multipart parse error: ", err)
		}
		name := part.FormName()
		switch {
		case name == "sql", name == "params", name == "namespace_id":
			b, err := io.ReadAll(part)
			if err != nil {
				return in, multipartReadFailure("Failed to read SQL field: ", err)
			}
			v := strings.ToValidUTF8(string(b), "\uFFFD") // from_utf8_lossy
			switch name {
			case "sql":
				sql = &v
			case "params":
				params = &v
			default:
				in.ns = v
			}
		case strings.HasPrefix(name, "file:"):
			if in.files >= maxFilesPerRequest {
				return in, badSQL("TOO_MANY_FILES", fmt.Sprintf("Too many files: maximum %d allowed", maxFilesPerRequest))
			}
			// The body cap (10 MiB) is below files.max_size_bytes (25 MB),
			// so FILE_TOO_LARGE cannot happen before the 413.
			if _, err := io.Copy(io.Discard, part); err != nil {
				return in, multipartReadFailure(fmt.Sprintf("Failed to read file '%s': ", strings.TrimPrefix(name, "file:")), err)
			}
			in.files++
		}
		_ = part.Close()
	}
	if sql == nil || strings.TrimSpace(*sql) == "" {
		return in, badSQL("EMPTY_SQL", "SQL statement is required")
	}
	in.sql = *sql
	if params != nil {
		var v any
		if err := json.Unmarshal([]byte(*params), &v); err != nil {
			return in, badSQL("INVALID_PARAMETER", "Invalid params JSON: "+serdeText(err))
		}
		if _, ok := v.([]any); !ok {
			return in, badSQL("INVALID_PARAMETER", "Params must be a JSON array")
		}
	}
	if bad := checkSQLLength(in.sql); bad != nil {
		return in, bad
	}
	if params != nil {
		p, code, msg := parseParams(json.RawMessage(*params))
		if msg != "" {
			return in, badSQL(code, msg)
		}
		in.params = p
	}
	return in, nil
}

// multipartReadFailure is a 400 for a broken part, or the middleware's
// 413 when the body outgrew the cap while streaming (no Content-Length).
func multipartReadFailure(prefix string, err error) *sqlFailure {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &sqlFailure{tooLarge: maxBodyBytes + 1}
	}
	return badSQL("INVALID_INPUT", prefix+err.Error())
}

// filePlaceholders lists the FILE("name") / FILE('name') references in
// sql the way upstream's extract_file_placeholders scans for them: case
// insensitive, anywhere in the text (also inside identifiers such as
// profile('x') and string literals), with optional whitespace before the
// quote.
func filePlaceholders(sql string) []string {
	var out []string
	rs := []rune(sql)
	for i := 0; i < len(rs); i++ {
		if rs[i] != 'F' && rs[i] != 'f' {
			continue
		}
		j := i + 1
		matched := 1
		for _, want := range "ILE(" {
			if j >= len(rs) || asciiUpper(rs[j]) != want {
				break
			}
			j++
			matched++
		}
		if matched != len("FILE(") {
			i = j - 1 // upstream consumed the partial match
			continue
		}
		for j < len(rs) && unicode.IsSpace(rs[j]) {
			j++
		}
		if j >= len(rs) || (rs[j] != '"' && rs[j] != '\'') {
			i = j - 1 // the scan resumes at the character after the spaces
			continue
		}
		quote := rs[j]
		j++
		start := j
		for j < len(rs) && rs[j] != quote {
			j++
		}
		if name := string(rs[start:j]); name != "" {
			out = append(out, name)
		}
		i = j // the closing quote is consumed
	}
	return out
}

// asciiUpper is Rust's char::to_ascii_uppercase.
func asciiUpper(r rune) rune {
	if r >= 'a' && r <= 'z' {
		return r - ('a' - 'A')
	}
	return r
}
