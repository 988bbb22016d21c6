package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// QueryResult is the answer to Query.
type QueryResult struct {
	Results []StatementResult
	Took    time.Duration // server-side time ("took")
	Raw     []byte        // the response body as received
}

// StatementResult is one entry of a query's results. Row values keep
// KalamDB's JSON encoding: BIGINT and _seq are strings, other numbers are
// json.Number, so nothing goes through float64.
type StatementResult struct {
	Schema   []SchemaField
	Rows     [][]any
	RowCount int
	Message  string
	AsUser   string
}

// Columns returns the column names in schema order.
func (r StatementResult) Columns() []string {
	cols := make([]string, len(r.Schema))
	for i, f := range r.Schema {
		cols[i] = f.Name
	}
	return cols
}

// Query runs sql (one or more statements) with positional parameters ($1,
// $2, …) over POST /v1/api/sql. A TOKEN_EXPIRED answer makes the client
// re-run the provider and retry once, as the SDKs do; idempotent
// statements (SELECT, SHOW, DESCRIBE, EXPLAIN) are retried on connect and
// timeout errors (WithQueryRetries).
func (c *Client) Query(ctx context.Context, sql string, params ...any) (*QueryResult, error) {
	retries := 0
	if isReadOnly(sql) {
		retries = c.o.queryRetries
	}
	reauthed := false
	for attempt := 0; ; attempt++ {
		res, err := c.queryOnce(ctx, sql, params)
		if err == nil {
			return res, nil
		}
		if IsTokenExpired(err) && !reauthed && c.o.provider != nil {
			reauthed = true
			old := c.currentExpiry()
			if _, _, perr := c.resolveAuth(ctx, "token-expired"); perr != nil {
				c.emit(AuthRefreshedEvent{Time: c.now(), Trigger: "token-expired", OldExpiry: old, Err: perr, SocketUntouched: true})
				return nil, err
			}
			c.emit(AuthRefreshedEvent{Time: c.now(), Trigger: "token-expired", OldExpiry: old, NewExpiry: c.currentExpiry(), SocketUntouched: c.socketUp()})
			attempt--
			continue
		}
		k := kindOf(err)
		if attempt < retries && (k == KindUnreachable || k == KindTimeout) && ctx.Err() == nil {
			if sleepCtx(ctx, time.Duration(attempt+1)*100*time.Millisecond) != nil {
				return nil, err
			}
			continue
		}
		return nil, err
	}
}

func (c *Client) queryOnce(ctx context.Context, sql string, params []any) (*QueryResult, error) {
	const path = "/v1/api/sql"
	var r *httpResult
	err := c.onNodes(ctx, "query", func(node *url.URL, moved bool) (err error) {
		if err = c.authOnNode(ctx, moved); err == nil {
			r, err = c.doAt(ctx, node, "query", http.MethodPost, path, SQLRequest{SQL: sql, Params: params}, c.bearer())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if e := c.notKalamDB("query", path, r); e != nil {
		return nil, e
	}
	var body struct {
		Status  string      `json:"status"`
		Results []SQLResult `json:"results"`
		Took    json.Number `json:"took"`
		Error   *SQLError   `json:"error"`
	}
	if err := decodeJSON(r.body, &body); err != nil || body.Status == "" {
		if e := middlewareError("query", r); e != nil {
			return nil, e
		}
		msg := fmt.Sprintf("answer is not a KalamDB SQL response (HTTP %d): %s", r.status, snippet(r.body))
		return nil, &Error{Kind: KindNotKalamDB, Op: "query", Status: r.status, Message: msg, Err: err}
	}
	if body.Status != "success" || body.Error != nil {
		return nil, sqlError(r.status, body.Error)
	}
	out := &QueryResult{Raw: r.body, Results: make([]StatementResult, 0, len(body.Results))}
	if ms, err := body.Took.Float64(); err == nil {
		out.Took = time.Duration(ms * float64(time.Millisecond))
	}
	for _, res := range body.Results {
		sr := StatementResult{Schema: res.Schema, RowCount: res.RowCount, Message: res.Message, AsUser: res.AsUser}
		sr.Rows = make([][]any, len(res.Rows))
		for i, row := range res.Rows {
			vals := make([]any, len(row))
			for j, cell := range row {
				var v any
				if err := decodeJSON(cell, &v); err != nil {
					return nil, &Error{Kind: KindProtocol, Op: "query", Message: fmt.Sprintf("bad cell at row %d column %d", i, j), Err: err}
				}
				vals[j] = v
			}
			sr.Rows[i] = vals
		}
		out.Results = append(out.Results, sr)
	}
	return out, nil
}

func sqlError(status int, se *SQLError) *Error {
	if se == nil {
		return &Error{Kind: KindSQL, Op: "query", Status: status, Message: "server reported an error without details"}
	}
	e := &Error{Kind: KindSQL, Op: "query", Status: status, Code: se.Code, Message: se.Message}
	if se.Details != "" {
		e.Message += " (" + se.Details + ")"
	}
	switch se.Code {
	case "TOKEN_EXPIRED":
		e.Kind, e.Message = KindTokenExpired, "access token expired ("+se.Message+")"
	case "MISSING_AUTHORIZATION":
		e.Kind, e.Message = KindAuth, "no credentials sent: log in or configure auth ("+se.Message+")"
	case "INVALID_CREDENTIALS", "AUTHENTICATION_ERROR", "ACCOUNT_LOCKED", "REMOTE_ACCESS_DENIED":
		e.Kind = KindAuth
	case "SETUP_REQUIRED":
		e.Kind = KindSetupRequired
	case "RATE_LIMIT_EXCEEDED":
		e.Kind = KindRateLimited
	}
	return e
}

// isReadOnly reports whether sql is a single statement the client may
// safely retry.
func isReadOnly(sql string) bool {
	s := strings.TrimSpace(sql)
	s = strings.TrimSuffix(s, ";")
	if strings.Contains(s, ";") {
		return false
	}
	first, _, _ := strings.Cut(s, " ")
	switch strings.ToUpper(strings.TrimSpace(first)) {
	case "SELECT", "SHOW", "DESCRIBE", "DESC", "EXPLAIN":
		return true
	}
	return false
}

// middlewareError recognises the connection-protection answers KalamDB's
// middleware gives before any handler runs ({"error":KIND,"message":…}
// with 429, 503 or 413).
func middlewareError(op string, r *httpResult) *Error {
	var body AuthErrorBody
	if decodeJSON(r.body, &body) != nil || body.Error == "" {
		return nil
	}
	e := &Error{Kind: KindOther, Op: op, Status: r.status, Code: body.Error, Message: body.Message, hint: guardHint(body.Error)}
	if e.Message == "" {
		e.Message = body.Error
	}
	if ra := r.header.Get("Retry-After"); ra != "" {
		e.Message += " (retry after " + ra + " s)"
		e.RetryAfter = retryAfter(r.header, time.Now())
	}
	switch {
	case r.status == http.StatusTooManyRequests:
		e.Kind = KindRateLimited
	case r.status == http.StatusServiceUnavailable:
		e.Kind = KindUnreachable
	case r.status == http.StatusUnauthorized || r.status == http.StatusForbidden:
		e.Kind = KindAuth
	}
	return e
}
