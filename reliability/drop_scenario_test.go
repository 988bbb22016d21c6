package reliability_test

import (
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// TestSocketDropAndResume: the connection is reset under a live
// subscription, rows are written while it is down, and the client resumes
// from the last _seq it delivered: every row arrives exactly once.
func TestSocketDropAndResume(t *testing.T) { socketDropAndResume(t, envConfig{}) }

func socketDropAndResume(t *testing.T, cfg envConfig) *env {
	e := newEnv(t, cfg)
	before := e.insert("messages", 20)
	sub := e.subscribe("messages")
	live := e.insert("messages", 20)
	all := append(before, live...)
	e.waitRows("the first 40 rows", sub, all)

	for round := range 3 {
		e.px.Reset()
		all = append(all, e.insert("messages", 15)...)
		e.waitConnected(round + 2)
		all = append(all, e.insert("messages", 5)...)
		e.waitRows("rows written across the drop", sub, all)
	}

	sub.checkExactlyOnce(t, all)
	if sub.resumes() < 3 {
		t.Errorf("%d resumed acks after 3 drops, want ≥ 3", sub.resumes())
	}
	e.checkProvider()
	return e
}

// TestRapidFlap: the connection is reset ten times in quick succession,
// sometimes before the previous resume finished, while rows are written
// steadily. The client ends connected with every row exactly once.
func TestRapidFlap(t *testing.T) {
	e := newEnv(t, envConfig{})
	rng := seeded(t)
	sub := e.subscribe("messages")

	written := e.insertPaced("messages", 40, 5, 3*time.Millisecond) // overlapping the flaps
	for i := range 10 {
		// Counted before the reset: the reconnect it causes may already
		// be logged by the time the random pause ends.
		before := e.log.count(kindConnected)
		e.px.Reset()
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		if i%3 == 2 {
			// Sometimes wait for the socket, so the next reset hits a
			// resume in progress rather than the backoff.
			e.waitConnected(before + 1)
		}
	}
	all := <-written
	e.waitRows("every row after the flapping", sub, all)
	e.waitConnected(1)

	sub.checkExactlyOnce(t, all)
	e.checkProvider()
	if n := e.log.count(kindConnected); n < 2 {
		t.Errorf("only %d connections after 10 resets", n)
	}
}

// TestDoubleOutage: a second outage starts right after the first one
// heals, before the client has reconnected; then a third, staggered one
// after it has. Rows written during each outage arrive once.
func TestDoubleOutage(t *testing.T) {
	e := newEnv(t, envConfig{})
	sub := e.subscribe("messages")
	all := e.insert("messages", 10)

	down := func() {
		if err := e.px.SetRefuse(true); err != nil {
			t.Fatal(err)
		}
		e.px.Reset()
	}
	up := func() {
		if err := e.px.SetRefuse(false); err != nil {
			t.Fatal(err)
		}
	}

	down()
	all = append(all, e.insert("messages", 10)...)
	up()
	down() // again, before the reconnect could complete
	all = append(all, e.insert("messages", 10)...)
	e.waitFor("a failed reconnect attempt", func() bool { return e.log.count(kindError) > 0 }, nil)
	up()
	e.waitConnected(2)
	all = append(all, e.insert("messages", 10)...)
	e.waitRows("rows of the double outage", sub, all)

	// Staggered: the third outage follows a completed resume.
	down()
	all = append(all, e.insert("messages", 10)...)
	up()
	e.waitConnected(3)
	e.waitDeliveredOnce("rows of the staggered outage", sub, all)
}

// TestHalfClose: the network delivers a FIN to one side only. Toward the
// client, the client reads EOF; toward the server, the server does and
// closes. Either way the client notices, reconnects and resumes.
func TestHalfClose(t *testing.T) {
	for _, d := range []kalamtest.ProxyDirection{kalamtest.ToClient, kalamtest.ToServer} {
		t.Run(d.String(), func(t *testing.T) {
			e := newEnv(t, envConfig{})
			sub, all := e.liveSubscription("messages", 10)

			e.px.HalfClose(d)
			all = append(all, e.insert("messages", 10)...)
			e.waitConnected(2)
			all = append(all, e.insert("messages", 10)...)
			e.waitDeliveredOnce("rows across the half-close", sub, all)
		})
	}
}
