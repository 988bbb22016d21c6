package reliability_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/redact"
)

// TestSecretsStayRedacted runs a whole client session through the fault
// proxy — Basic login by the provider, a subscription, queries, Login,
// RefreshToken, RefreshAuth, a forced reconnect, a bad password — while
// recording every tapped frame and lifecycle event, then exports the
// recording as HAR. The password and every token issued must appear
// nowhere: not in the recording, the HAR, the events, the frames, nor any
// error text.
func TestSecretsStayRedacted(t *testing.T) {
	e := newEnv(t, envConfig{noConnect: true})

	var seenMu sync.Mutex
	var tokens []string
	keep := func(ts ...string) {
		seenMu.Lock()
		defer seenMu.Unlock()
		for _, s := range ts {
			if s != "" {
				tokens = append(tokens, s)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	c, err := client.Connect(ctx, e.px.URL(),
		client.WithAuthProvider(e.prov.provide),
		client.WithKeepalive(keepalive, pongTimeout),
		client.WithReconnect(backoffMin, backoffMax, 0),
		client.WithHTTPTimeout(httpTimeout),
	)
	if err != nil {
		t.Fatal(err)
	}

	var rec bytes.Buffer
	w, err := recording.NewWriter(&rec, recording.Header{Version: recording.Version, ToolVersion: "test",
		ServerURL: e.px.URL(), StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// The recording also keeps the frames and events for the grep below.
	copied := make(chan error, 1)
	go func() {
		_, err := recording.Copy(c, w, 0)
		copied <- err
	}()

	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}

	keep(c.Credentials())
	s, err := c.Subscribe(ctx, "SELECT * FROM app.messages")
	if err != nil {
		t.Fatal(err)
	}
	e.insert("messages", 3)
	_, err = c.Query(ctx, "SELECT * FROM app.messages")
	note(err)
	toks, err := c.Login(ctx, "alice", alicePW)
	note(err)
	if toks != nil {
		keep(toks.AccessToken, toks.RefreshToken)
		note(fmt.Errorf("%s %v", toks.String(), toks))
		rt, err := c.RefreshToken(ctx, toks.RefreshToken)
		note(err)
		if rt != nil {
			keep(rt.AccessToken, rt.RefreshToken)
		}
	}
	res, err := c.RefreshAuth(ctx)
	note(err)
	note(fmt.Errorf("%+v", res))
	keep(c.Credentials())
	e.px.Reset()
	waitState(t, c, client.StateConnected)
	keep(c.Credentials())
	_, err = c.Login(ctx, "alice", "wrong-"+alicePW)
	note(err)
	_, err = client.Connect(ctx, e.px.URL(), client.WithAuth(client.Basic("alice", "wrong-"+alicePW)))
	note(err)
	_ = s.Unsubscribe(ctx)
	_ = c.Close()
	if err := <-copied; err != nil {
		t.Fatalf("recording: %v", err)
	}
	if err := w.Close(recording.End{Time: time.Now()}); err != nil {
		t.Fatal(err)
	}

	parsed, err := recording.Read(bytes.NewReader(rec.Bytes()), "secrets.jsonl")
	if err != nil {
		t.Fatalf("reading the recording back: %v", err)
	}
	if len(parsed.Frames) == 0 || len(parsed.Events) == 0 {
		t.Fatalf("recording holds %d frames and %d events; the tap or events did not flow", len(parsed.Frames), len(parsed.Events))
	}
	var har bytes.Buffer
	if err := recording.WriteHAR(&har, parsed, "test"); err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{
		"recording": rec.String(),
		"HAR":       har.String(),
		"errors":    strings.Join(errs, "\n"),
		"frames":    fmt.Sprintf("%+v", parsed.Frames),
		"events":    fmt.Sprintf("%+v", parsed.Events),
	}
	secrets := map[string]string{"password": alicePW}
	seenMu.Lock()
	for i, tok := range tokens {
		secrets[fmt.Sprintf("token #%d", i+1)] = tok
		// A token's signature alone is as good as the token to a forger's
		// eye; check it separately so a partial leak is caught too.
		if parts := strings.Split(tok, "."); len(parts) == 3 && len(parts[2]) >= 16 {
			secrets[fmt.Sprintf("token #%d signature", i+1)] = parts[2]
		}
	}
	seenMu.Unlock()
	if len(tokens) < 4 {
		t.Errorf("only %d tokens were issued; the session did not log in and refresh", len(tokens))
	}
	for where, text := range outputs {
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s contains the %s", where, what)
			}
		}
	}
	if !strings.Contains(rec.String(), redact.Marker) {
		t.Error("the recording shows no redaction marker: were the secrets ever on the wire?")
	}
}

// waitState polls c until it reaches st.
func waitState(t *testing.T, c *client.Client, st client.ConnState) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for c.State() != st {
		if time.Now().After(deadline) {
			t.Fatalf("client state %v, want %v", c.State(), st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
