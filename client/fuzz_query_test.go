package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// FuzzQueryResponse serves arbitrary answers to POST /v1/api/sql from a
// real loopback HTTP server and runs Query against it. Whatever the body,
// status and content type, Query must return either a result or an *Error
// with a message, never panic, and never both or neither.
//
// Seeds live in testdata/fuzz/FuzzQueryResponse (every SQL and auth error
// fixture, plus HTML and empty bodies).
func FuzzQueryResponse(f *testing.F) {
	var mu sync.Mutex
	var status int
	var html bool
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st, h, b := status, html, body
		mu.Unlock()
		if h {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(st)
		_, _ = w.Write(b)
	}))
	f.Cleanup(srv.Close)

	c, err := Connect(context.Background(), srv.URL, WithLazyConnect(true), WithQueryRetries(0),
		WithTapBuffer(16), WithHTTPTimeout(10*time.Second))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })

	f.Add(200, false, []byte(`{"status":"success","results":[{"schema":[{"name":"id","data_type":"BigInt","index":0}],"rows":[["1"]],"row_count":1}],"took":1.5,"error":null}`))
	f.Add(401, false, []byte(`{"status":"error","results":[],"took":0.0,"error":{"code":"TOKEN_EXPIRED","message":"Token expired","details":null}}`))
	f.Add(502, true, []byte(`<html><body>Bad gateway</body></html>`))
	f.Add(200, false, []byte(``))
	f.Fuzz(func(t *testing.T, code int, isHTML bool, data []byte) {
		if code < 200 || code > 599 {
			code = 200 + (code%400+400)%400
		}
		mu.Lock()
		status, html, body = code, isHTML, data
		mu.Unlock()

		res, err := c.Query(context.Background(), "SELECT 1")
		if (res == nil) == (err == nil) {
			t.Fatalf("Query returned result %v and error %v", res != nil, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || err.Error() == "" {
				t.Fatalf("Query error is not a described *Error: %T %v", err, err)
			}
			_ = Hint(err)
			return
		}
		if string(res.Raw) != string(data) {
			t.Fatal("QueryResult.Raw is not the body as received")
		}
	})
}
