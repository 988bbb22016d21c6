package testkit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// Start starts a kalamtest server with the users most tests log in as,
// alice (role user) and admin (role dba), with the given passwords, and
// auth and message rate limits no test reaches. opts come after these
// and so override them. The server closes when the test ends.
func Start(t testing.TB, alicePW, adminPW string, opts ...kalamtest.Option) *kalamtest.Server {
	t.Helper()
	srv, err := kalamtest.NewServer(append(testUsers(alicePW, adminPW), opts...)...)
	if err != nil {
		t.Fatalf("kalamtest.NewServer: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// StartCluster is Start for an n-node kalamtest cluster (every node takes
// a free port): the same users and limits on every node. The cluster
// closes when the test ends.
func StartCluster(t testing.TB, n int, alicePW, adminPW string, opts ...kalamtest.Option) *kalamtest.Cluster {
	t.Helper()
	cl, err := kalamtest.NewCluster(n, append(testUsers(alicePW, adminPW), opts...)...)
	if err != nil {
		t.Fatalf("kalamtest.NewCluster: %v", err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// testUsers are Start's users and limits.
func testUsers(alicePW, adminPW string) []kalamtest.Option {
	return []kalamtest.Option{
		kalamtest.WithUser("alice", alicePW, "user"),
		kalamtest.WithUser("admin", adminPW, "dba"),
		kalamtest.WithAuthRateLimit(100000),
		kalamtest.WithMessageRateLimit(100000),
	}
}

// NodeList is the cluster's nodes' URLs in the order given (node ids,
// 1-based), separated by commas: a --url for a client that fails over.
func NodeList(cl *kalamtest.Cluster, ids ...int) string {
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = cl.Node(id).URL
	}
	return strings.Join(urls, ",")
}

// CreateTables creates, as admin, namespace app and a per-user table
// app.<name> (id BIGINT PRIMARY KEY, body TEXT) for each name.
func CreateTables(t testing.TB, srv *kalamtest.Server, names ...string) {
	t.Helper()
	if _, err := srv.Exec("admin", "CREATE NAMESPACE IF NOT EXISTS app"); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	for _, name := range names {
		if _, err := srv.Exec("admin", "CREATE TABLE app."+name+" (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')"); err != nil {
			t.Fatalf("create table %s: %v", name, err)
		}
	}
}

// Insert writes rows [from, to) of app.messages as alice, each with the
// body "<body>-<id>".
func Insert(t testing.TB, srv *kalamtest.Server, from, to int, body string) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := srv.Exec("alice", "INSERT INTO app.messages (id, body) VALUES ($1, $2)", i, fmt.Sprintf("%s-%d", body, i)); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
}
