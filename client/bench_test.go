package client_test

import (
	"fmt"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// BenchmarkInitialLoad subscribes to 5 000 rows (batches of 1 000, auto
// next_batch) and reads until ready: decode, dispatch and paging cost of
// the client over loopback, with gzip frames and with raw JSON text.
func BenchmarkInitialLoad(b *testing.B) {
	srv, err := kalamtest.NewServer(
		kalamtest.WithUser("alice", alicePW, "user"), kalamtest.WithUser("admin", adminPW, "dba"),
		kalamtest.WithAuthRateLimit(1e6), kalamtest.WithMessageRateLimit(1e6))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.MustExec("admin", "CREATE NAMESPACE app")
	srv.MustExec("admin", "CREATE TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')")
	const rows = 5000
	for i := range rows {
		srv.MustExec("alice", "INSERT INTO app.messages (id, body) VALUES ($1, $2)", i, fmt.Sprintf("message body number %d with some text", i))
	}
	for _, mode := range []struct {
		name string
		opts []client.Option
	}{
		{"gzip", nil},
		{"raw", []client.Option{client.WithDisableCompression(true)}},
		{"msgpack", []client.Option{client.WithSerialization("msgpack")}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			opts := append([]client.Option{client.WithAuth(client.Basic("alice", alicePW)), client.WithTapBuffer(0)}, mode.opts...)
			c, err := client.Connect(b.Context(), srv.URL, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ResetTimer()
			for range b.N {
				s, err := c.Subscribe(b.Context(), "SELECT * FROM app.messages", client.WithBatchSize(1000))
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for ev := range s.Events() {
					n += len(ev.Rows)
					if ev.Kind == client.SubBatch && ev.Batch.Status == client.StatusReady {
						break
					}
				}
				if n != rows {
					b.Fatalf("got %d rows", n)
				}
				_ = s.Unsubscribe(b.Context())
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			st := c.Stats()
			b.ReportMetric(float64(st.WireBytesIn)/float64(max(st.DecodedBytesIn, 1)), "wire/decoded")
		})
	}
}
