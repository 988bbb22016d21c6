package kalamtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// sqlAuthError is the /sql authentication failure body. Its keys are in
// serde_json's alphabetical order because upstream builds it with json!.
type sqlAuthError struct {
	Error   client.SQLError `json:"error"`
	Results []struct{}      `json:"results"`
	Status  string          `json:"status"`
	Took    serdeFloat      `json:"took"`
}

// sqlResult is one results entry. Rows is a pointer so a query with no
// rows still says "rows":[] while DML/DDL omit the key.
type sqlResult struct {
	Schema   []client.SchemaField `json:"schema,omitempty"`
	Rows     *[][]json.RawMessage `json:"rows,omitempty"`
	RowCount int                  `json:"row_count"`
	Message  string               `json:"message,omitempty"`
	AsUser   string               `json:"as_user"`
}

// sqlEnvelope is the normal (non-streamed) response; error is omitted on
// success.
type sqlEnvelope struct {
	Status  string           `json:"status"`
	Results []sqlResult      `json:"results"`
	Took    serdeFloat       `json:"took"`
	Error   *client.SQLError `json:"error,omitempty"`
}

// sqlStreamed is the single-SELECT shape, which always ends "error":null.
type sqlStreamed struct {
	Status  string           `json:"status"`
	Results []sqlResult      `json:"results"`
	Took    serdeFloat       `json:"took"`
	Error   *client.SQLError `json:"error"`
}

// tookMS is the elapsed time in milliseconds rounded to 3 decimals, an
// f64 on the wire ("took":3.0 when whole).
func tookMS(start time.Time) serdeFloat {
	return serdeFloat(math.Round(float64(time.Since(start).Nanoseconds())/1e3) / 1e3)
}

func (s *Server) handleSQL(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	u, ok := s.sqlAuth(w, r, start)
	if !ok {
		return
	}
	fail := func(status int, code, msg string) {
		writeJSON(w, status, sqlEnvelope{Status: "error", Results: []sqlResult{}, Took: tookMS(start),
			Error: &client.SQLError{Code: code, Message: msg}})
	}
	if !s.sqlLim.allow(u.id, time.Now()) {
		fail(http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED", "Too many queries per second. Please slow down.")
		return
	}
	in, bad := readSQLInput(r)
	if bad != nil {
		if bad.tooLarge > 0 {
			writeBodyTooLarge(w, bad.tooLarge)
			return
		}
		fail(bad.status, bad.code, bad.msg)
		return
	}
	if in.files > 0 {
		if msg, follower := s.uploadLeaderHint(sqlengine.Caller{UserID: u.id, Role: u.role}, in); follower {
			fail(http.StatusServiceUnavailable, "NOT_LEADER", msg)
			return
		}
	}
	// Statements with FILE("name") placeholders, or multipart requests
	// carrying files, take upstream's file-upload path.
	if in.files > 0 || len(filePlaceholders(in.sql)) > 0 {
		if !in.multipart {
			fail(http.StatusBadRequest, "INVALID_INPUT", "FILE placeholders require multipart/form-data")
			return
		}
		fail(http.StatusBadRequest, "INVALID_INPUT", fileUploadUnsupported)
		return
	}
	if group, ok := s.forwardTarget(sqlengine.Caller{UserID: u.id, Role: u.role}, in); ok {
		s.forward(w, r, group, u, in, start)
		return
	}
	sql, ns, params := in.sql, in.ns, in.params

	res, xerr := s.db.e.Exec(r.Context(), sqlengine.Caller{UserID: u.id, Role: u.role},
		sqlengine.Request{SQL: sql, Params: params, Namespace: ns})
	if xerr != nil {
		status := xerr.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, sqlEnvelope{Status: "error", Results: []sqlResult{}, Took: tookMS(start),
			Error: &client.SQLError{Code: xerr.Code, Message: xerr.Message, Details: xerr.Details}})
		return
	}
	out := resultsOf(res, u)
	if res.SingleSelect {
		writeJSON(w, http.StatusOK, sqlStreamed{Status: "success", Results: out, Took: tookMS(start)})
		return
	}
	writeJSON(w, http.StatusOK, sqlEnvelope{Status: "success", Results: out, Took: tookMS(start)})
}

// resultsOf is the results array of an answer.
func resultsOf(res sqlengine.ExecResult, u user) []sqlResult {
	out := make([]sqlResult, 0, len(res.Results))
	for _, rr := range res.Results {
		o := sqlResult{Schema: rr.Schema, RowCount: rr.RowCount, Message: rr.Message, AsUser: u.id}
		if rr.IsQuery {
			rows := rawRows(rr.Rows)
			o.Rows = &rows
			o.Message = ""
		}
		out = append(out, o)
	}
	return out
}

// rawRows encodes result cells, floats in serde_json's form.
func rawRows(rows [][]any) [][]json.RawMessage {
	out := make([][]json.RawMessage, len(rows))
	for i, row := range rows {
		out[i] = make([]json.RawMessage, len(row))
		for j, v := range row {
			b, err := json.Marshal(serdeCell(v))
			if err != nil {
				b = []byte("null")
			}
			out[i][j] = b
		}
	}
	return out
}

// sqlAuth authenticates a /sql request: only "Authorization: Bearer" with
// an access token (section 1.7).
func (s *Server) sqlAuth(w http.ResponseWriter, r *http.Request, start time.Time) (user, bool) {
	fail := func(code string) {
		writeJSON(w, http.StatusUnauthorized, sqlAuthError{
			Error:   client.SQLError{Code: code, Message: map[bool]string{true: "Authentication required", false: "Invalid credentials"}[code == "MISSING_AUTHORIZATION"]},
			Results: []struct{}{}, Status: "error",
			Took: serdeFloat(float64(time.Since(start).Nanoseconds()) / 1e6), // unrounded, as upstream
		})
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		fail("MISSING_AUTHORIZATION")
		return user{}, false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		fail("INVALID_CREDENTIALS")
		return user{}, false
	}
	_, u, st, _ := s.validate(strings.TrimSpace(tok), mint.TokenAccess)
	switch st {
	case tokOK:
		return u, true
	case tokExpired:
		fail("TOKEN_EXPIRED")
	default:
		fail("INVALID_CREDENTIALS")
	}
	return user{}, false
}

// parseParams validates the params array: JSON scalars only, at most 50,
// each at most 512 KiB.
func parseParams(raw json.RawMessage) ([]any, string, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", ""
	}
	if raw[0] != '[' {
		return nil, "INVALID_INPUT", "Invalid JSON payload: Json deserialize error: invalid type: " + jsonKind(raw) + ", expected a sequence"
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, "INVALID_INPUT", "Invalid JSON payload: Json deserialize error: " + serdeText(err)
	}
	if len(items) > maxSQLParams {
		return nil, "INVALID_PARAMETER", fmt.Sprintf("Too many parameters: %d (maximum %d)", len(items), maxSQLParams)
	}
	out := make([]any, len(items))
	for i, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 512<<10 {
			return nil, "INVALID_PARAMETER", fmt.Sprintf("Parameter $%d exceeds maximum size of 524288 bytes", i+1)
		}
		switch it[0] {
		case '[':
			return nil, "INVALID_PARAMETER", fmt.Sprintf("Parameter $%d invalid: Array parameters not yet supported", i+1)
		case '{':
			return nil, "INVALID_PARAMETER", fmt.Sprintf("Parameter $%d invalid: Object parameters not yet supported", i+1)
		}
		dec := json.NewDecoder(bytes.NewReader(it))
		dec.UseNumber()
		if err := dec.Decode(&out[i]); err != nil {
			return nil, "INVALID_INPUT", "Invalid JSON payload: " + serdeText(err)
		}
	}
	return out, "", ""
}

// sqlInput is a decoded /v1/api/sql request, JSON or multipart.
type sqlInput struct {
	sql, ns   string
	params    []any
	multipart bool
	files     int // file:<name> parts of a multipart request
}

// sqlFailure is a 400-class answer found while decoding a request;
// tooLarge > 0 means the middleware's 413 instead.
type sqlFailure struct {
	status    int
	code, msg string
	tooLarge  int64
}

func badSQL(code, msg string) *sqlFailure {
	return &sqlFailure{status: http.StatusBadRequest, code: code, msg: msg}
}

// readSQLInput decodes the request body: multipart/form-data (matched
// case-insensitively, as upstream) or JSON.
func readSQLInput(r *http.Request) (sqlInput, *sqlFailure) {
	ct := r.Header.Get("Content-Type")
	if len(ct) >= len("multipart/form-data") && strings.EqualFold(ct[:len("multipart/form-data")], "multipart/form-data") {
		return readMultipartSQL(r)
	}
	return readJSONSQL(r)
}

// readJSONSQL decodes a JSON body with the errors of actix's extractor.
func readJSONSQL(r *http.Request) (sqlInput, *sqlFailure) {
	if ct := strings.ToLower(r.Header.Get("Content-Type")); !strings.HasPrefix(ct, "application/json") {
		return sqlInput{}, badSQL("INVALID_INPUT", "Invalid JSON payload: Content type error")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return sqlInput{}, badSQL("INVALID_INPUT", "Invalid JSON payload: "+err.Error())
	}
	if len(body) > maxBodyBytes {
		return sqlInput{}, &sqlFailure{tooLarge: int64(len(body))}
	}
	// actix's JSON extractor error, as upstream prints it.
	const badJSON = "Invalid JSON payload: Json deserialize error: "
	f, msg := parseObject(body, "struct QueryRequest")
	if msg != "" {
		return sqlInput{}, badSQL("INVALID_INPUT", badJSON+msg)
	}
	sql, msg := f.str("sql")
	if msg != "" {
		return sqlInput{}, badSQL("INVALID_INPUT", badJSON+msg)
	}
	if bad := checkSQLLength(sql); bad != nil {
		return sqlInput{}, bad
	}
	var ns string
	if f.has("namespace_id") {
		if ns, msg = f.str("namespace_id"); msg != "" {
			return sqlInput{}, badSQL("INVALID_INPUT", badJSON+msg)
		}
	}
	params, code, msg := parseParams(f["params"])
	if msg != "" {
		return sqlInput{}, badSQL(code, msg)
	}
	return sqlInput{sql: sql, ns: ns, params: params}, nil
}

func checkSQLLength(sql string) *sqlFailure {
	if len(sql) > maxSQLBytes {
		return badSQL("INVALID_SQL", fmt.Sprintf("SQL query too long: %d bytes (maximum %d bytes)", len(sql), maxSQLBytes))
	}
	return nil
}
