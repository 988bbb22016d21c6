package testkit

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// RewritingProxy serves a reverse proxy to target that lets edit change
// every request on its way, as a proxy in front of the server would, and
// returns its URL. It closes when the test ends.
func RewritingProxy(t testing.TB, target string, edit func(*http.Request)) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		edit(r)
	}
	s := httptest.NewServer(rp)
	t.Cleanup(s.Close)
	return s.URL
}
