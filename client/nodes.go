package client

// This file holds the client's list of cluster nodes and the rule that
// moves it from one node to the next. KalamDB's official SDKs talk to one
// base URL and nothing in the server redirects a client (no 3xx, no leader
// address: jamals86/KalamDB link/link-common/src/connection/shared/reconnect.rs
// connection_task takes one base_url; kalamdb-protocol §9.5), so a client
// that should survive a node going down must know the other nodes itself.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
)

// NodeSeparator separates the nodes of a cluster in a URL list, e.g.
// "http://10.0.0.1:8080,http://10.0.0.2:8080".
const NodeSeparator = ","

// ParseNodes splits raw, one server URL or several separated by
// NodeSeparator, and validates each as Connect does. It returns the nodes'
// base URLs (http or https, path prefix kept, /v1/… dropped). An error
// names the entry at fault: "node 2 of 3 (…)".
func ParseNodes(raw string) ([]string, error) {
	us, err := parseNodes(raw)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out, nil
}

func parseNodes(raw string) ([]*url.URL, error) {
	if !strings.Contains(raw, NodeSeparator) {
		u, err := parseBaseURL(raw)
		if err != nil {
			return nil, err
		}
		return []*url.URL{u}, nil
	}
	parts := strings.Split(raw, NodeSeparator)
	out := make([]*url.URL, 0, len(parts))
	seen := map[string]int{}
	for i, p := range parts {
		where := fmt.Sprintf("node %d of %d", i+1, len(parts))
		if strings.TrimSpace(p) == "" {
			return nil, &Error{Kind: KindOther, Op: "connect",
				Message: fmt.Sprintf("%s in the URL list is empty: separate node URLs with single commas, e.g. http://127.0.0.1:8080,http://127.0.0.1:8081", where)}
		}
		u, err := parseBaseURL(p)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e2 := *e
				e2.Message = fmt.Sprintf("%s (%q): %s", where, shownURL(p), e.Message)
				return nil, &e2
			}
			return nil, err
		}
		key := nodeKey(u)
		if j, dup := seen[key]; dup {
			return nil, &Error{Kind: KindOther, Op: "connect",
				Message: fmt.Sprintf("%s (%q) repeats node %d: list each node once", where, shownURL(p), j)}
		}
		seen[key] = i + 1
		out = append(out, u)
	}
	return out, nil
}

// NodeKey is the identity of the node at a base URL, for telling whether
// two URLs name the same node: equal keys, same node. The scheme counts
// (ws is http, wss https), the port is made explicit (80, 443), the host
// is compared without case and the loopback names (localhost, 127.0.0.1,
// ::1) are one host, and a path prefix counts with /v1/… dropped, as in
// a base URL. A URL that does not parse is its own key (trimmed, lower
// case), so it matches only itself. The key is for comparing, not for
// showing or dialing.
func NodeKey(raw string) string {
	u, err := parseBaseURL(raw)
	if err != nil {
		return strings.ToLower(strings.TrimRight(strings.TrimSpace(raw), "/"))
	}
	return nodeKey(u)
}

// loopbackKey stands for every loopback name in a node key.
const loopbackKey = "loopback"

func nodeKey(u *url.URL) string {
	host := hostKey(u)
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port) + u.Path
}

// hostKey is the host part of a node key: lower case, loopback names as
// one.
func hostKey(u *url.URL) string {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch host {
	case "localhost", "127.0.0.1", "::1":
		host = loopbackKey
	}
	return host
}

// node returns the node the client uses now: for HTTP calls, login and
// the next dial.
func (c *Client) node() *url.URL { return c.base.Load() }

// ownNode reports whether base is one of the client's nodes, not another
// server asked through doAt.
func (c *Client) ownNode(base *url.URL) bool { return slices.Contains(c.nodes, base) }

// Nodes returns the base URLs of every node the client may use, in the
// order it tries them; one for a single server.
func (c *Client) Nodes() []string {
	out := make([]string, len(c.nodes))
	for i, u := range c.nodes {
		out[i] = u.String()
	}
	return out
}

// nextNode makes the node after from the current one (wrapping around)
// and returns it; it does nothing when another goroutine moved on already.
func (c *Client) nextNode(from *url.URL) *url.URL {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.base.Load(); cur != from || len(c.nodes) < 2 {
		return cur
	}
	c.nodeIdx = (c.nodeIdx + 1) % len(c.nodes)
	next := c.nodes[c.nodeIdx]
	c.base.Store(next)
	return next
}

// onNodes runs call, one HTTP call, against the client's node and, while
// no socket is up and call finds the node down (nodeDown, the judgement a
// dial gets in connectRound), against the next nodes, each once per call:
// a lazy client that never opened its socket moves on as a connecting one
// does. moved is true on the attempts against a node moved to, whose
// credentials authOnNode resolves afresh. While a socket is up its node
// stays the client's node: the supervisor moves it when the socket drops.
// After a call on which every node was down, the current node is the one
// it started on, and the error names each node's failure.
func (c *Client) onNodes(ctx context.Context, op string, call func(node *url.URL, moved bool) error) error {
	var (
		tried []*url.URL
		errs  []error
	)
	for {
		node := c.node()
		err := call(node, len(tried) > 0)
		if err == nil || ctx.Err() != nil || len(c.nodes) == 1 || c.socketUp() || !nodeDown(err) || slices.Contains(tried, node) {
			return err
		}
		tried, errs = append(tried, node), append(errs, err)
		c.nextNode(node)
		if len(tried) == len(c.nodes) {
			e := allNodesDown(tried, errs)
			e.Op = op
			return e
		}
	}
}

// authOnNode resolves the credentials of an HTTP call on the current
// node: on the first node the ones in use (ensureAuth); on a node moved
// to, the provider runs again, as connectRound runs it before every dial,
// so a Basic login goes to that node.
func (c *Client) authOnNode(ctx context.Context, moved bool) error {
	if !moved || c.o.provider == nil {
		return c.ensureAuth(ctx)
	}
	_, _, err := c.resolveAuth(ctx, "failover")
	return err
}

// nodeDown reports whether err says the node itself is unavailable, so
// the next node should be tried: nothing listening, a reset or hang-up
// (during the upgrade too), no answer in time, or a 5xx (503 while it
// shuts down or is full). Refused credentials, rate limits and anything
// else would get the same answer from every node, and are not.
func nodeDown(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Kind {
	case KindUnreachable, KindTimeout:
		return true
	case KindAuth, KindTokenExpired, KindRateLimited, KindProvider, KindTLS, KindSetupRequired:
		return false
	}
	return e.Status >= http.StatusInternalServerError && e.Status <= 599
}

// allNodesDown is the error of a round in which every node failed: tried
// lists the nodes in the order tried, errs why each failed.
func allNodesDown(tried []*url.URL, errs []error) *Error {
	parts := make([]string, len(errs))
	for i, err := range errs {
		parts[i] = fmt.Sprintf("%s: %s", tried[i].Host, nodeErrText(err))
	}
	e := &Error{Kind: KindUnreachable, Op: "connect",
		Message: fmt.Sprintf("all %d nodes are down (%s)", len(tried), strings.Join(parts, "; ")),
		hint:    "start one of the nodes, or check the URL list; a connection that was up keeps trying them in turn"}
	for _, err := range errs {
		e.RetryAfter = max(e.RetryAfter, retryAfterOf(err))
	}
	return e
}

// nodeErrText says in a few words why one node of a round failed: the
// round's error lists every node, so each gets the gist, not the advice.
func nodeErrText(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case kindOf(err) == KindTimeout:
		return "no answer in time"
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Status >= http.StatusInternalServerError && e.Status <= 599 {
			return fmt.Sprintf("HTTP %d", e.Status)
		}
		if e.Message != "" {
			return e.Message
		}
	}
	return err.Error()
}
