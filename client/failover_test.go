package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// newCluster starts an n-node kalamtest cluster with alice and admin and
// app.messages.
func newCluster(t *testing.T, n int, opts ...kalamtest.Option) *kalamtest.Cluster {
	t.Helper()
	cl := testkit.StartCluster(t, n, alicePW, adminPW, opts...)
	testkit.CreateTables(t, cl.Node(1), "messages")
	return cl
}

// A malformed node list is refused before anything is dialed, naming the
// entry at fault; a well-formed one is normalised node by node.
func TestParseNodes(t *testing.T) {
	got, err := client.ParseNodes(" http://127.0.0.1:8080/v1/api , ws://127.0.0.1:8081,https://db.example:443/kdb")
	if err != nil {
		t.Fatalf("ParseNodes: %v", err)
	}
	want := []string{"http://127.0.0.1:8080", "http://127.0.0.1:8081", "https://db.example:443/kdb"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ParseNodes = %q, want %q", got, want)
	}
	for _, tc := range []struct{ raw, want string }{
		{"http://a:1,,http://b:2", "node 2 of 3 in the URL list is empty"},
		{"http://a:1,", "node 2 of 2 in the URL list is empty"},
		{"http://a:1,ftp://b:2", `node 2 of 2 ("ftp://b:2"): unsupported URL scheme "ftp"`},
		{"http://a:1,b:2", `node 2 of 2 ("b:2"): URL "b:2" has no scheme`},
		{"http://a:1,http://b:99999", `node 2 of 2 ("http://b:99999"): port 99999`},
		{"http://a:1,http://b:2,http://a:1/", `node 3 of 3 ("http://a:1/") repeats node 1`},
		{"http://localhost:8081,http://127.0.0.1:8081", `node 2 of 2 ("http://127.0.0.1:8081") repeats node 1`},
		{"https://db.example,https://DB.example:443", `node 2 of 2 ("https://DB.example:443") repeats node 1`},
		// Refused for carrying credentials, quoted without them.
		{"http://a:1,http://alice:hunter2@b:2", `node 2 of 2 ("http://alice@b:2"): credentials in the URL are not used`},
		{"http://a:1,alice:hunter2@b:2", `URL "alice@b:2" has no scheme; did you mean http://alice@b:2?`},
		{"http://a:1,http://alice:hunter2@b:99999", `node 2 of 2 ("http://alice@b:99999")`},
		{"http://a:1,http://b:2,http://b:2/?token=hunter2", `node 3 of 3 ("http://b:2/?token=redacted") repeats node 2`},
	} {
		_, err := client.ParseNodes(tc.raw)
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseNodes(%q) quotes the credentials: %v", tc.raw, err)
		}
		var ce *client.Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Message, tc.want) {
			t.Errorf("ParseNodes(%q) = %v, want a message containing %q", tc.raw, err, tc.want)
		}
		if _, cerr := client.Connect(ctxT(t), tc.raw); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("Connect(%q) = %v, want the same refusal %v", tc.raw, cerr, err)
		}
	}
}

// TestNodeKey pins which URLs name the same node: the Cluster view, the
// replica comparison and the URL list's duplicate check all match nodes
// by this key.
func TestNodeKey(t *testing.T) {
	same := [][]string{
		{"http://localhost:8081", "http://127.0.0.1:8081", "http://[::1]:8081", "ws://LOCALHOST:8081/", "http://127.0.0.1:8081/v1/api"},
		{"http://db.example", "http://DB.example:80", "ws://db.example/v1/ws"},
		{"https://db.example", "https://db.example:443/", "wss://db.example"},
		{"http://10.0.0.1:8080/kalam", "http://10.0.0.1:8080/kalam/"},
	}
	for _, group := range same {
		for _, u := range group[1:] {
			if a, b := client.NodeKey(group[0]), client.NodeKey(u); a != b {
				t.Errorf("NodeKey(%q) = %q, NodeKey(%q) = %q: want the same node", group[0], a, u, b)
			}
		}
	}
	for _, pair := range [][2]string{
		{"http://localhost:8081", "http://localhost:8082"},  // another port
		{"http://localhost:8081", "https://localhost:8081"}, // another scheme
		{"http://localhost:8081", "http://10.0.0.1:8081"},   // another host
		{"http://127.0.0.2:8081", "http://127.0.0.1:8081"},  // another loopback address
		{"http://db.example", "http://db.example:8080"},     // default port is 80, not 8080
		{"http://h:1/kalam", "http://h:1/other"},            // another path prefix
		{"not a url", "http://not a url"},                   // unparseable: only itself
	} {
		if a, b := client.NodeKey(pair[0]), client.NodeKey(pair[1]); a == b {
			t.Errorf("NodeKey(%q) = NodeKey(%q) = %q: want different nodes", pair[0], pair[1], a)
		}
	}
	if a, b := client.NodeKey(" Not-A-URL "), client.NodeKey("not-a-url"); a != b {
		t.Errorf("an unparseable URL's key should be its trimmed lower-case text: %q vs %q", a, b)
	}
}

// Stopping the node the client is on moves it to the next node of its
// list: the first reconnect finds the node refusing, and the next node is
// dialed at once, in the same round, with one backoff before the round
// and none between its nodes. The auth provider runs once per dial (a
// Basic provider logs in on the node being tried: the SDK contract is
// authProvider before every connect; jamals86/KalamDB:
// link/link-common/src/connection/shared/reconnect.rs establish_ws
// resolves auth per connection). The subscription resumes there with the
// node it was on before in PrevNode: nothing in upstream hands a
// subscription over (kalamdb-protocol §9.5).
func TestFailoverMovesToTheNextNodeWithTheProviderPerAttempt(t *testing.T) {
	cl := newCluster(t, 3)
	n1, n2 := cl.Node(1).URL, cl.Node(2).URL
	p := newCountingProvider(client.Basic("alice", alicePW))
	c := connectNodes(t, testkit.NodeList(cl, 1, 2, 3), client.WithAuthProvider(p.provide))
	if c.URL() != n1 {
		t.Fatalf("URL() = %s, want the first node %s", c.URL(), n1)
	}
	if got := strings.Join(c.Nodes(), ","); got != testkit.NodeList(cl, 1, 2, 3) {
		t.Errorf("Nodes() = %s", got)
	}
	s := subscribe(t, c, "SELECT * FROM app.messages")
	nextSub(t, s) // the initial batch
	testkit.Insert(t, cl.Node(1), 1, 2, "before")
	nextRowIDs(t, s, 1)
	drainEvents(c)
	callsBefore := p.calls.Load()

	if err := cl.StopNode(1); err != nil {
		t.Fatal(err)
	}
	seen := eventsUntil(t, c, func(ev client.Event) bool {
		e, ok := ev.(client.ConnectedEvent)
		return ok && e.URL == n2
	})
	var dials []string
	scheduled, provided := 0, 0
	var failover *client.FailoverEvent
	for _, ev := range seen {
		switch e := ev.(type) {
		case client.ConnectingEvent:
			dials = append(dials, e.URL)
		case client.ReconnectScheduledEvent:
			scheduled++
		case client.ProviderCalledEvent:
			provided++
		case client.FailoverEvent:
			failover = &e
		}
	}
	wsOf := func(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/v1/ws" }
	if strings.Join(dials, " ") != wsOf(n1)+" "+wsOf(n2) {
		t.Errorf("dials after the stop: %q, want node 1 (refused) then node 2", dials)
	}
	if scheduled != 1 {
		t.Errorf("%d backoffs before the socket on node 2, want 1: none between the nodes of a round", scheduled)
	}
	if provided != len(dials) || p.calls.Load()-callsBefore != int64(len(dials)) {
		t.Errorf("provider ran %d times (events: %d) for %d dials, want once per dial", p.calls.Load()-callsBefore, provided, len(dials))
	}
	if failover == nil || failover.From != n1 || failover.To != n2 || !client.IsUnreachable(failover.Cause) || failover.Reason != "connection refused" {
		t.Errorf("failover event %+v, want %s → %s caused by the refusal", failover, n1, n2)
	}
	if c.URL() != n2 {
		t.Errorf("URL() after the failover = %s, want %s", c.URL(), n2)
	}

	ack := testkit.Receive(t, s.Events(), "the resumed ack", func(ev client.SubEvent) bool { return ev.Kind == client.SubAck })
	if !ack.Resumed || ack.PrevNode != n1 {
		t.Errorf("resumed ack: Resumed %v PrevNode %q, want a resume moved off %s", ack.Resumed, ack.PrevNode, n1)
	}
	// HTTP follows the socket: the query runs on node 2.
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Errorf("query after the failover: %v", err)
	}
}

// With every node of the list down, each round tries every node once, then
// says all of them are down, naming each one's failure, and backs off for
// longer each round; it keeps going until a node is back.
func TestAllNodesDownRetriesRoundsWithBackoff(t *testing.T) {
	cl := newCluster(t, 2)
	n1, n2 := cl.Node(1), cl.Node(2)
	c := connectNodes(t, testkit.NodeList(cl, 1, 2), client.WithAuth(client.Basic("alice", alicePW)))
	drainEvents(c)
	for _, id := range []int{2, 1} {
		if err := cl.StopNode(id); err != nil {
			t.Fatal(err)
		}
	}
	var delays []int64
	dialsPerRound := []int{0}
	var allDown error
	eventsUntil(t, c, func(ev client.Event) bool {
		switch e := ev.(type) {
		case client.ConnectingEvent:
			dialsPerRound[len(dialsPerRound)-1]++
		case client.ReconnectScheduledEvent:
			delays = append(delays, int64(e.Delay))
			dialsPerRound = append(dialsPerRound, 0)
		case client.ErrorEvent:
			if strings.Contains(e.Err.Error(), "all 2 nodes are down") {
				allDown = e.Err
			}
		}
		return len(delays) == 4
	})
	if allDown == nil || !strings.Contains(allDown.Error(), n1.Addr()+": connection refused") ||
		!strings.Contains(allDown.Error(), n2.Addr()+": connection refused") || !client.IsUnreachable(allDown) {
		t.Errorf("all-down error %v: want it to name both nodes and why", allDown)
	}
	if client.Hint(allDown) == "" {
		t.Errorf("all-down error has no hint")
	}
	// Rounds between backoffs (the first backoff follows the socket's end).
	for i, n := range dialsPerRound[1 : len(dialsPerRound)-1] {
		if n != 2 {
			t.Errorf("round %d dialed %d nodes, want both: %v", i+1, n, dialsPerRound)
		}
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] <= delays[i-1] {
			t.Errorf("backoff did not grow per round: %v", delays)
		}
	}

	if err := cl.RestartNode(2); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, func(e client.ConnectedEvent) bool { return e.URL == n2.URL })
}

// Connect with every node down fails with the round's error.
func TestConnectWithEveryNodeDown(t *testing.T) {
	cl := newCluster(t, 2)
	_ = cl.StopNode(1)
	_ = cl.StopNode(2)
	_, err := client.Connect(ctxT(t), testkit.NodeList(cl, 1, 2), append(fastOpts(), client.WithAuth(client.Basic("alice", alicePW)))...)
	if err == nil || !strings.Contains(err.Error(), "all 2 nodes are down") ||
		!strings.Contains(err.Error(), cl.Node(1).Addr()) || !strings.Contains(err.Error(), cl.Node(2).Addr()) {
		t.Fatalf("Connect = %v, want all 2 nodes named down", err)
	}
}

// A refused password is the same on every node: the client does not move
// on, it reports it.
func TestRefusedCredentialsDoNotFailOver(t *testing.T) {
	cl := newCluster(t, 2)
	p := newCountingProvider(client.Basic("alice", "wrong-password"))
	_, err := client.Connect(ctxT(t), testkit.NodeList(cl, 1, 2), append(fastOpts(), client.WithAuthProvider(p.provide))...)
	if !client.IsAuthError(err) || strings.Contains(err.Error(), "nodes are down") {
		t.Fatalf("Connect = %v, want the auth refusal of node 1", err)
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("provider ran %d times, want once: node 2 was not tried", n)
	}
}

// connectNodes connects to a node list, closing the client when the test
// ends.
func connectNodes(t *testing.T, nodes string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Connect(ctxT(t), nodes, append(fastOpts(), opts...)...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventsUntil reads c's events until stop accepts one and returns them all.
func eventsUntil(t *testing.T, c *client.Client, stop func(client.Event) bool) []client.Event {
	t.Helper()
	var seen []client.Event
	testkit.Receive(t, c.Events(), "the awaited client event", func(ev client.Event) bool {
		seen = append(seen, ev)
		return stop(ev)
	})
	return seen
}

// drainEvents discards the events c has already emitted.
func drainEvents(c *client.Client) {
	for {
		select {
		case <-c.Events():
		default:
			return
		}
	}
}

// A lazy client that never opened its socket moves on for HTTP calls as a
// dialing one does: with node 1 stopped, a query (and the Basic login
// behind it) goes to node 2, the provider running again for the attempt
// there, as before every dial (jamals86/KalamDB:
// link/link-common/src/connection/shared/reconnect.rs establish_ws
// resolves auth per connection attempt). A refusal is not a node down and
// stays on the node; with every node down the call says so, naming each.
func TestLazyClientHTTPCallsMoveToTheNextNode(t *testing.T) {
	cl := newCluster(t, 3)
	testkit.Insert(t, cl.Node(1), 1, 2, "before")
	n1, n2 := cl.Node(1).URL, cl.Node(2).URL
	if err := cl.StopNode(1); err != nil {
		t.Fatal(err)
	}
	p := newCountingProvider(client.Basic("alice", alicePW))
	c := connectNodes(t, testkit.NodeList(cl, 1, 2, 3), client.WithAuthProvider(p.provide), client.WithLazyConnect(true))
	if c.URL() != n1 {
		t.Fatalf("URL() = %s before any call, want the first node %s", c.URL(), n1)
	}
	drainEvents(c)
	res, err := c.Query(ctxT(t), "SELECT * FROM app.messages")
	if err != nil {
		t.Fatalf("query with node 1 down: %v", err)
	}
	if len(res.Results) != 1 || len(res.Results[0].Rows) != 1 {
		t.Fatalf("query on node 2: %+v", res.Results)
	}
	if c.URL() != n2 {
		t.Fatalf("URL() = %s after the query, want node 2 %s", c.URL(), n2)
	}
	waitEvent[client.ProviderCalledEvent](t, c, func(e client.ProviderCalledEvent) bool { return e.Trigger == "failover" && e.Err == nil })

	// Node 2 answers now: the next call stays there and reuses the token.
	calls := p.calls.Load()
	if _, err := c.Me(ctxT(t)); err != nil || c.URL() != n2 || p.calls.Load() != calls {
		t.Fatalf("Me on node 2: %v, URL %s, provider calls %d → %d", err, c.URL(), calls, p.calls.Load())
	}
	// Wrong credentials are refused by every node alike: no move.
	if _, err := c.Login(ctxT(t), "alice", "wrong"); !client.IsAuthError(err) || c.URL() != n2 {
		t.Fatalf("Login with a wrong password = %v on %s, want the refusal from node 2", err, c.URL())
	}

	for _, n := range []int{2, 3} {
		if err := cl.StopNode(n); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Query(ctxT(t), "INSERT INTO app.messages (id, body) VALUES (3, 'nowhere')")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Kind != client.KindUnreachable || ce.Op != "query" || !strings.Contains(ce.Message, "all 3 nodes are down") {
		t.Fatalf("query with every node down = %v, want all 3 nodes named", err)
	}
	if c.URL() != n2 {
		t.Errorf("URL() = %s after a call on which every node was down, want the node it started on (%s)", c.URL(), n2)
	}
}

// TestCredentialsGoOnlyToTrustedNodes: a node's address comes from the
// server (system.cluster's api_addr), so the Cluster view's token probe
// and `o` must not hand the user's token to any host a server advertises:
// only to the nodes the user listed, or another port of the current
// node's host, and never from https down to plain http. MeAt refuses
// before any request is made.
func TestCredentialsGoOnlyToTrustedNodes(t *testing.T) {
	c, err := client.Connect(ctxT(t), "https://a.example:8443,https://b.example:8443", client.WithLazyConnect(true),
		client.WithAuth(client.Basic("alice", "pw")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, ok := range []string{"https://b.example:8443", "https://A.example:9443", "wss://a.example:8443/v1/ws"} {
		if err := c.CredentialsMayGo(ok); err != nil {
			t.Errorf("CredentialsMayGo(%q) = %v, want allowed", ok, err)
		}
	}
	for refused, why := range map[string]string{
		"https://evil.example:8443":       "not in --url",
		"http://a.example:8080":           "plain http",
		"http://c.example/?token=hunter2": "plain http",
	} {
		err := c.CredentialsMayGo(refused)
		if err == nil || !strings.Contains(err.Error(), why) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("CredentialsMayGo(%q) = %v, want a refusal saying %q", refused, err, why)
		}
		if _, err := c.MeAt(ctxT(t), refused); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("MeAt(%q) = %v, want the same refusal", refused, err)
		}
	}
}
