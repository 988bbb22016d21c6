package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// newDemoBackend starts a kalamtest demo server and a backend over a real
// session manager, as runDashboard does.
func newDemoBackend(t *testing.T) (*Backend, *kalamtest.Server) {
	t.Helper()
	srv, err := kalamtest.NewServer(kalamtest.WithDemo(), kalamtest.WithAccessTTL(2*time.Minute), kalamtest.WithRefreshTTL(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b := NewBackend(session.NewManager(), srv, nil)
	t.Cleanup(func() {
		b.Close()
		srv.Close()
	})
	return b, srv
}

// liveConn is what every live connection offers: all but the faults.
type liveConn interface {
	ui.Conn
	ui.Controls
	ui.SQL
}

// demoConnection is what a connection to the embedded demo server offers:
// everything.
type demoConnection interface {
	liveConn
	ui.Faults
}

func openDemo(t *testing.T, b *Backend, srv *kalamtest.Server, req ui.LoginRequest) demoConnection {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if req.URL == "" {
		req.URL = srv.URL
	}
	c, err := b.Open(ctx, req)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	dc, ok := c.(demoConnection)
	if !ok {
		t.Fatalf("a demo connection (%T) lacks controls, SQL or faults", c)
	}
	return dc
}

// TestBackendDemoConnection drives the adapter against the real demo
// server: snapshot mapping, demo subscriptions, frame paging and filter
// classes, policy changes, a manual refresh, and the demo fault controls.
func TestBackendDemoConnection(t *testing.T) {
	b, srv := newDemoBackend(t)
	c := openDemo(t, b, srv, ui.LoginRequest{Name: "admin@demo", Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW, Serialization: "json"})

	s := testkit.Poll(t, "connected with both demo subscriptions ready", c.Snapshot, func(s ui.Snapshot) bool {
		ready := 0
		for _, sub := range s.Subs {
			if sub.Status == "ready" {
				ready++
			}
		}
		return s.State == "connected" && ready == 2
	})
	if !s.Demo || s.User != kalamtest.DemoAdmin || s.Role == "" || s.NoCompress {
		t.Errorf("snapshot: demo=%v user=%q role=%q noCompress=%v", s.Demo, s.User, s.Role, s.NoCompress)
	}
	if s.Token.ExpiresAt.IsZero() || s.Token.RefreshExpiresAt.IsZero() || s.Token.Fingerprint == "" || s.Token.Phase != "fresh" {
		t.Errorf("token: %+v", s.Token)
	}
	if life := s.Token.ExpiresAt.Sub(s.Token.IssuedAt); life != 2*time.Minute {
		t.Errorf("access lifetime %v, want 2m", life)
	}
	var metrics ui.Sub
	for _, sub := range s.Subs {
		if sub.ID == "metrics" {
			metrics = sub
		}
	}
	if metrics.Kept == 0 || metrics.Cap != session.DefaultLiveRowCap || metrics.PK != "id" || len(metrics.Columns) == 0 {
		t.Fatalf("metrics subscription: %+v", metrics)
	}
	rows, total := c.(ui.LiveTables).SubRows("metrics", ui.RowQuery{ByKey: true}, 0, 100)
	if total != metrics.Kept || len(rows) != total {
		t.Fatalf("SubRows: %d rows of %d, want the %d kept", len(rows), total, metrics.Kept)
	}
	for i, col := range metrics.Columns {
		if col == "updated_at" {
			if v := rows[0].Values[i]; v.Null || !regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3}$`).MatchString(v.Text) {
				t.Errorf("updated_at shown as %+v, want a wall time", v)
			}
		}
	}

	// Frames: HTTP login first, then socket frames; classes filter them.
	src := c.Frames()
	all := src.Len(ui.FrameFilter{})
	if all == 0 {
		t.Fatal("no frames logged")
	}
	page := src.Page(ui.FrameFilter{}, 0, all)
	if page[0].Opcode != "http" || !strings.Contains(page[0].Type, "login") {
		t.Errorf("first frame %+v, want the HTTP login", page[0])
	}
	for _, f := range page {
		if strings.Contains(string(f.Decoded)+string(f.Wire), `"password":"`+kalamtest.DemoAdminPW+`"`) {
			t.Errorf("password visible in frame %d: %s", f.ID, f.Decoded)
		}
	}
	data := src.Page(ui.FrameFilter{Class: "data"}, 0, all)
	if len(data) == 0 {
		t.Fatal("no data frames")
	}
	for _, f := range data {
		if f.Opcode == "http" || f.Opcode == "ping" || f.Opcode == "pong" {
			t.Errorf("data class holds %s frame %q", f.Opcode, f.Type)
		}
	}
	if n := src.Len(ui.FrameFilter{Class: "http"}); n == 0 {
		t.Error("http class is empty")
	}
	if n := src.Len(ui.FrameFilter{Dir: "out", Text: "subscribe"}); n < 2 {
		t.Errorf("outbound subscribe frames: %d, want ≥ 2", n)
	}

	// Policies are written as profiles write them, the palette's old words
	// still work, and a profile's default policy shows as its lead.
	if p := c.Snapshot().Policy; p.Kind != "before-expiry" || p.Spec != session.DefaultRefreshPolicy || p.Interval <= 0 {
		t.Errorf("default policy: %+v", p)
	}
	for spec, want := range map[string]ui.Policy{
		"every 45s":        {Kind: "periodic", Interval: 45 * time.Second, Spec: "every 45s"},
		"periodic 45s":     {Kind: "periodic", Interval: 45 * time.Second, Spec: "every 45s"},
		"before-expiry 1m": {Kind: "before-expiry", Interval: time.Minute, Spec: "before 1m0s"},
		"before 1m30s":     {Kind: "before-expiry", Interval: 90 * time.Second, Spec: "before 1m30s"},
		"manual":           {Kind: "manual", Spec: "manual"},
	} {
		if err := c.SetPolicy(spec); err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		p := c.Snapshot().Policy
		if p.Kind != want.Kind || p.Interval != want.Interval || p.Spec != want.Spec || (p.Kind != "manual") == p.NextAt.IsZero() {
			t.Errorf("policy after %q: %+v", spec, p)
		}
	}
	if err := c.SetPolicy("sometimes"); err == nil || !strings.Contains(err.Error(), "want manual") {
		t.Errorf("bad policy: %v", err)
	}

	// A manual refresh records a rotation with a new fingerprint.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := len(c.Snapshot().Rotations)
	if err := c.RefreshAuth(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	s = testkit.Poll(t, "a rotation row", c.Snapshot, func(s ui.Snapshot) bool { return len(s.Rotations) > before })
	r := s.Rotations[len(s.Rotations)-1]
	if !r.OK || r.Trigger != "manual" || r.NewFinger == "" {
		t.Errorf("rotation %+v", r)
	}

	// SQL console.
	res, err := c.Query(ctx, "SELECT id, name FROM demo.metrics ORDER BY id")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if len(res.Columns) != 2 || len(res.Rows) == 0 || res.Rows[0][0] != (ui.Cell{Text: "1"}) {
		t.Errorf("query result %+v", res)
	}
	if _, err := c.Query(ctx, "SELECT * FROM demo.nosuch"); err == nil {
		t.Error("query of a missing table succeeded")
	}

	// Demo faults: dropping the socket makes the session reconnect.
	id0 := c.Snapshot().ConnID
	if err := c.DropSocket(ctx); err != nil {
		t.Fatalf("drop: %v", err)
	}
	testkit.Poll(t, "a reconnect after the drop", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" && s.ConnID > id0 })
	if err := c.ExpireToken(ctx); err != nil {
		t.Fatalf("expire: %v", err)
	}
}

// TestBackendCompressionSwitch: SetCompression(true) reconnects with
// compress=false and later inbound frames are text.
func TestBackendCompressionSwitch(t *testing.T) {
	b, srv := newDemoBackend(t)
	c := openDemo(t, b, srv, ui.LoginRequest{Name: "gz", Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW})
	testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
	if err := c.SetCompression(true); err != nil {
		t.Fatal(err)
	}
	s := testkit.Poll(t, "reconnected with compress=false", c.Snapshot, func(s ui.Snapshot) bool {
		return s.State == "connected" && s.NoCompress && s.ConnID > 1
	})
	src := c.Frames()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := src.Len(ui.FrameFilter{Dir: "in", Class: "data"})
		page := src.Page(ui.FrameFilter{Dir: "in", Class: "data"}, 0, n)
		var after []ui.Frame
		for _, f := range page {
			if f.ConnID == s.ConnID {
				after = append(after, f)
			}
		}
		if len(after) >= 3 {
			for _, f := range after {
				if f.Opcode != "text" || f.Encoding != "json" {
					t.Fatalf("frame %d after compress=false is %s/%s", f.ID, f.Opcode, f.Encoding)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d inbound data frames on socket %d", len(after), s.ConnID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBackendLoginErrorHasHint: a wrong password comes back with a hint.
func TestBackendLoginErrorHasHint(t *testing.T) {
	b, srv := newDemoBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.Open(ctx, ui.LoginRequest{URL: srv.URL, Name: "x", Auth: "password", User: kalamtest.DemoAdmin, Password: "wrong"})
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	h, ok := err.(interface{ Hint() string })
	if !ok || h.Hint() == "" {
		t.Fatalf("error %q has no hint", err)
	}
	if strings.Contains(err.Error(), "wrong\"") {
		t.Errorf("error leaks the password: %v", err)
	}
}

// TestBackendCloseLeavesNoGoroutines: closing the backend and the demo
// server stops every goroutine they started (the pump, the session's, the
// client's, the server's).
func TestBackendCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := kalamtest.NewServer(kalamtest.WithDemo())
	if err != nil {
		t.Fatal(err)
	}
	b := NewBackend(session.NewManager(), srv, nil)
	c := openDemo(t, b, srv, ui.LoginRequest{Name: "leak", Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW})
	testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
	if err := b.Close(); err != nil {
		t.Errorf("backend close: %v", err)
	}
	srv.Close()
}

// TestBackendJWTLogin: a pasted access token connects without a password,
// and the token panel shows its claims but no refresh token.
func TestBackendJWTLogin(t *testing.T) {
	b, srv := newDemoBackend(t)
	body, _ := json.Marshal(map[string]string{"user": kalamtest.DemoUser, "password": kalamtest.DemoPassword})
	resp, err := http.Post(srv.URL+"/v1/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil || lr.AccessToken == "" {
		t.Fatalf("login: %v (status %d)", err, resp.StatusCode)
	}
	c := openDemo(t, b, srv, ui.LoginRequest{Name: "jwt", Auth: "jwt", Token: lr.AccessToken})
	s := testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
	if s.Token.Kind != "jwt" || s.Token.Subject == "" || s.Token.ExpiresAt.IsZero() || !s.Token.RefreshExpiresAt.IsZero() {
		t.Errorf("token: %+v", s.Token)
	}
	if s.User != kalamtest.DemoUser {
		t.Errorf("user %q, want %q", s.User, kalamtest.DemoUser)
	}
}

// TestBackendShowsNullAfterUpdate: UPDATE … SET note = NULL reaches the UI
// as a NULL cell, distinct from the text "NULL" and from an empty string,
// while the row's other columns keep their values (KalamDB leaves the
// NULL column out of the update frame; upstream
// backend/crates/kalamdb-live/src/notification.rs).
func TestBackendShowsNullAfterUpdate(t *testing.T) {
	b, srv := newDemoBackend(t)
	srv.MustExec(kalamtest.DemoAdmin, "CREATE TABLE demo.notes (id BIGINT PRIMARY KEY, name TEXT, note TEXT) WITH (TYPE = 'SHARED', ACCESS_LEVEL = 'PUBLIC')")
	srv.MustExec(kalamtest.DemoAdmin, "INSERT INTO demo.notes (id, name, note) VALUES (1, 'NULL', 'first'), (2, '', 'second')")
	c := openDemo(t, b, srv, ui.LoginRequest{Name: "admin@demo", Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW, Serialization: "json"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := c.Subscribe(ctx, "SELECT id, name, note FROM demo.notes", ui.SubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.MustExec(kalamtest.DemoAdmin, "UPDATE demo.notes SET note = NULL WHERE id = 1")

	cells := func(s ui.Snapshot, key string) map[string]ui.Cell {
		for _, sub := range s.Subs {
			if sub.ID != id {
				continue
			}
			rows, _ := c.(ui.LiveTables).SubRows(id, ui.RowQuery{}, 0, 100)
			for _, r := range rows {
				if r.Key != key {
					continue
				}
				out := map[string]ui.Cell{}
				for i, col := range sub.Columns {
					out[col] = r.Values[i]
				}
				return out
			}
		}
		return nil
	}
	s := testkit.Poll(t, "row 1 updated", c.Snapshot, func(s ui.Snapshot) bool {
		row := cells(s, "1")
		return row != nil && row["note"].Null
	})
	one, two := cells(s, "1"), cells(s, "2")
	if want := (ui.Cell{Text: "NULL"}); one["name"] != want {
		t.Errorf("row 1 name = %+v, want the text NULL (not a NULL)", one["name"])
	}
	if two["name"] != (ui.Cell{}) || two["note"] != (ui.Cell{Text: "second"}) {
		t.Errorf("row 2 = %+v, want an empty name and note second", two)
	}
}

// TestBackendMarksKilledSubscription: KILL LIVE QUERY sends the subscriber
// nothing; the check against system.live (the L key) finds it and the
// subscription shows as killed, the other one still live.
func TestBackendMarksKilledSubscription(t *testing.T) {
	b, srv := newDemoBackend(t)
	c := openDemo(t, b, srv, ui.LoginRequest{Name: "admin@demo", Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW, Serialization: "json"})
	statusOf := func(s ui.Snapshot, id string) string {
		for _, sub := range s.Subs {
			if sub.ID == id {
				return sub.Status
			}
		}
		return ""
	}
	testkit.Poll(t, "both demo subscriptions ready", c.Snapshot, func(s ui.Snapshot) bool {
		return statusOf(s, "metrics") == "ready" && statusOf(s, "messages") == "ready"
	})
	killed := ""
	for _, ci := range srv.Conns() {
		if ci.User == kalamtest.DemoAdmin {
			killed = fmt.Sprintf("%s-conn%d-metrics", ci.User, ci.ID)
		}
	}
	srv.MustExec(kalamtest.DemoAdmin, "KILL LIVE QUERY '"+killed+"'")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	summary, err := c.CheckLive(ctx)
	if err != nil || !strings.Contains(summary, "killed on the server: metrics") {
		t.Fatalf("CheckLive: %q %v", summary, err)
	}
	s := c.Snapshot()
	if statusOf(s, "metrics") != "killed" || statusOf(s, "messages") != "ready" {
		t.Errorf("after the check: metrics %s, messages %s", statusOf(s, "metrics"), statusOf(s, "messages"))
	}
}
