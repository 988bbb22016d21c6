package reliability_test

import "testing"

// TestBlackholeDuringSubscribe: the network swallows everything (no FIN, no
// RST) just as a subscription is sent. Only the client's keepalive can
// notice; reconnect attempts stall too until the network heals. Then the
// pending Subscribe completes on a new socket and every row arrives once.
func TestBlackholeDuringSubscribe(t *testing.T) {
	e := newEnv(t, envConfig{})
	all := e.insert("messages", 10)

	e.px.SetBlackhole(true)
	done := e.subscribeAsync("messages")
	all = append(all, e.insert("messages", 10)...)
	// The keepalive must declare the silent socket dead while the
	// blackhole still stands.
	e.waitFor("the client to notice the dead socket", func() bool { return e.log.count(kindDisconnected) >= 1 }, nil)
	select {
	case r := <-done:
		t.Fatalf("Subscribe returned during the blackhole: %v", r.err)
	default:
	}

	e.px.SetBlackhole(false)
	sub := e.subscribed("after the network healed", done)
	all = append(all, e.insert("messages", 10)...)
	e.waitDeliveredOnce("every row", sub, all)
}

// TestBlackholeLiveSubscription: a live subscription's network goes
// silent. The keepalive declares the socket dead without any help from the
// network, a reconnect attempt stalls in the blackhole, and after healing
// (which lets that attempt through) the subscription resumes with nothing
// lost.
func TestBlackholeLiveSubscription(t *testing.T) {
	e := newEnv(t, envConfig{})
	sub, all := e.liveSubscription("messages", 10)

	e.px.SetBlackhole(true)
	all = append(all, e.insert("messages", 10)...)
	e.waitFor("the client to notice the dead socket", func() bool { return e.log.count(kindDisconnected) >= 1 }, nil)
	e.waitFor("a reconnect attempt into the blackhole", func() bool { return e.log.count(kindConnecting) >= 2 }, nil)
	e.px.SetBlackhole(false)

	e.waitConnected(2)
	all = append(all, e.insert("messages", 10)...)
	e.waitDeliveredOnce("every row", sub, all)
}
