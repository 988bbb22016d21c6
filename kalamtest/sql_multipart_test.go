package kalamtest_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// part is one multipart field; file parts get a filename.
type part struct{ name, value string }

// multipartSQL posts parts to /v1/api/sql as multipart/form-data.
func (s *ktServer) multipartSQL(t *testing.T, tok string, parts ...part) httpResp {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		if strings.HasPrefix(p.name, "file:") {
			var w interface{ Write([]byte) (int, error) }
			if w, err = mw.CreateFormFile(p.name, "upload.bin"); err == nil {
				_, err = w.Write([]byte(p.value))
			}
		} else {
			err = mw.WriteField(p.name, p.value)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	// Upper case: upstream matches the media type case-insensitively.
	ct := strings.Replace(mw.FormDataContentType(), "multipart/form-data", "Multipart/Form-Data", 1)
	return doHTTP(t, "POST", s.URL+"/v1/api/sql", buf.String(), map[string]string{
		"Authorization": "Bearer " + tok, "Content-Type": ct})
}

func sqlErr(t *testing.T, r httpResp) (code, msg string) {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

func TestMultipartSQLRunsLikeJSON(t *testing.T) {
	s := newKT(t)
	root := s.login(t, "root", "RootPass123!")
	alice := s.login(t, "alice", alicePW)
	s.createMessages(t, root.access)

	r := s.multipartSQL(t, alice.access,
		part{"sql", "INSERT INTO messages (id, body) VALUES ($1, $2)"},
		part{"params", `[7, "from a form"]`},
		part{"namespace_id", "app"})
	if r.status != http.StatusOK {
		t.Fatalf("multipart insert: %d %s", r.status, r.body)
	}
	got := s.mustSQL(t, alice.access, "SELECT body FROM app.messages WHERE id = 7")
	if rows := got["results"].([]any)[0].(map[string]any)["rows"].([]any); len(rows) != 1 || rows[0].([]any)[0] != "from a form" {
		t.Errorf("row written by the multipart request: %v", rows)
	}
	// A single SELECT streams, as with JSON.
	r = s.multipartSQL(t, alice.access, part{"sql", "SELECT id FROM app.messages"})
	if r.status != http.StatusOK || !strings.HasSuffix(string(r.body), `"error":null}`) {
		t.Errorf("multipart select: %d %s", r.status, r.body)
	}
}

func TestMultipartSQLValidation(t *testing.T) {
	s := newKT(t)
	alice := s.login(t, "alice", alicePW)
	files := make([]part, 0, 22)
	files = append(files, part{"sql", "INSERT INTO app.docs (id, f) VALUES (1, FILE('a'))"})
	for range 21 {
		files = append(files, part{"file:a", "x"})
	}
	cases := []struct {
		name      string
		parts     []part
		code, msg string
	}{
		{"no sql", []part{{"namespace_id", "app"}}, "EMPTY_SQL", "SQL statement is required"},
		{"blank sql", []part{{"sql", "  \n"}}, "EMPTY_SQL", "SQL statement is required"},
		{"params not JSON", []part{{"sql", "SELECT 1"}, {"params", "[1,"}}, "INVALID_PARAMETER", "Invalid params JSON: "},
		{"params not an array", []part{{"sql", "SELECT 1"}, {"params", `{"a":1}`}}, "INVALID_PARAMETER", "Params must be a JSON array"},
		{"array parameter", []part{{"sql", "SELECT $1"}, {"params", `[[1]]`}}, "INVALID_PARAMETER", "Parameter $1 invalid: Array parameters not yet supported"},
		{"too many files", files, "TOO_MANY_FILES", "Too many files: maximum 20 allowed"},
		{"a file", []part{{"sql", "INSERT INTO app.docs (id, f) VALUES (1, FILE(\"a\"))"}, {"file:a", "data"}}, "INVALID_INPUT", "kalamtest: FILE uploads are not emulated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.multipartSQL(t, alice.access, tc.parts...)
			code, msg := sqlErr(t, r)
			if r.status != http.StatusBadRequest || code != tc.code || !strings.HasPrefix(msg, tc.msg) {
				t.Errorf("got %d %s %q, want 400 %s %q…", r.status, code, msg, tc.code, tc.msg)
			}
		})
	}

	// FILE placeholders in a JSON request.
	r := s.sql(t, alice.access, "INSERT INTO app.docs (id, f) VALUES (1, file( 'a'))")
	if code, msg := sqlErr(t, r); r.status != 400 || code != "INVALID_INPUT" || msg != "FILE placeholders require multipart/form-data" {
		t.Errorf("JSON with FILE(): %d %s %q", r.status, code, msg)
	}
	// A multipart body without a boundary.
	r = doHTTP(t, "POST", s.URL+"/v1/api/sql", "sql=SELECT 1", map[string]string{
		"Authorization": "Bearer " + alice.access, "Content-Type": "multipart/form-data"})
	if code, msg := sqlErr(t, r); r.status != 400 || code != "INVALID_INPUT" || !strings.HasPrefix(msg, "Multipart parse error: ") {
		t.Errorf("no boundary: %d %s %q", r.status, code, msg)
	}
}

func TestFilePlaceholders(t *testing.T) {
	for sql, want := range map[string]string{
		`INSERT INTO t VALUES (FILE("a"), file('b'))`: "a,b",
		`SELECT FILE(  "spaced" )`:                    "spaced",
		`SELECT FILE ('no')`:                          "",  // "(" must follow FILE directly
		`SELECT profile('x')`:                         "x", // upstream's scan sees file('x') inside the name
		`SELECT FILE(x), FILE('')`:                    "",
		`SELECT FILE(FILE('n'))`:                      "n",
		`SELECT FILE('unterminated`:                   "unterminated",
		`SELECT FIL('a'), FFILE('c')`:                 "c",
	} {
		if got := strings.Join(kalamtest.FilePlaceholders(sql), ","); got != want {
			t.Errorf("FilePlaceholders(%s) = %q, want %q", sql, got, want)
		}
	}
}
