package kalamtest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// Close stops every goroutine the server started: listener, checker,
// dispatcher, demo writer, and each socket's reader and writer.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	clk := newFakeClock()
	srv, err := kalamtest.NewServer(kalamtest.WithClock(clk.Now), kalamtest.WithDemo(),
		kalamtest.WithDemoInterval(time.Millisecond), kalamtest.WithCheckInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s := &ktServer{Server: srv, clock: clk}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	res, err := hc.Post(srv.URL+"/v1/api/auth/login", "application/json", strings.NewReader(`{"user":"demo","password":"demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	tk := s.login(t, "demo", "demo")
	w := s.dialAuthed(t, tk.access, "")
	w.subscribe("d", "SELECT * FROM demo.messages", "")
	s.mustDial(t, "", nil) // an unauthenticated socket too
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	_ = w.c.CloseNow()
	http.DefaultClient.CloseIdleConnections()
}
