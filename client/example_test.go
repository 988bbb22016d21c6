package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// Example connects with an auth provider, subscribes to a live query, and
// refreshes the credentials without touching the live socket.
func Example() {
	// A KalamDB-compatible server on loopback; use your server's URL instead.
	srv := kalamtest.MustNewServer(
		kalamtest.WithUser("admin", "admin-pw-123", "dba"),
		kalamtest.WithUser("alice", "alice-pw-123", "user"),
	)
	defer srv.Close()
	srv.MustExec("admin", "CREATE NAMESPACE app")
	srv.MustExec("admin", "CREATE TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')")
	srv.MustExec("alice", "INSERT INTO app.messages (id, body) VALUES (1, 'first')")

	ctx := context.Background()
	// The provider is asked before every connection attempt; Basic
	// credentials are exchanged for a JWT via login.
	provider := func(ctx context.Context) (client.Auth, error) {
		return client.Basic("alice", "alice-pw-123"), nil
	}
	c, err := client.Connect(ctx, srv.URL, client.WithAuthProvider(provider))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	sub, err := c.Subscribe(ctx, "SELECT * FROM app.messages")
	if err != nil {
		log.Fatal(err)
	}
	ack := <-sub.Events()
	fmt.Println(ack.Kind)
	batch := <-sub.Events()
	fmt.Println(batch.Kind, batch.Batch.Status, batch.Rows[0]["id"], batch.Rows[0]["body"])

	srv.MustExec("alice", "INSERT INTO app.messages (id, body) VALUES (2, 'second')")
	ins := <-sub.Events()
	fmt.Println(ins.Kind, ins.Rows[0]["id"], ins.Rows[0]["body"])

	res, err := c.RefreshAuth(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refreshed:", res.Ran, res.Kind, "socket untouched:", res.SocketUntouched)
	// Output:
	// ack
	// batch ready 1 first
	// insert 2 second
	// refreshed: true basic socket untouched: true
}
