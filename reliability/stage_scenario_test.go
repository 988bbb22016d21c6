package reliability_test

import (
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// TestCutBetweenAckAndFirstBatch: the connection dies right after the
// subscription is acknowledged, inside its (large) first batch. With
// nothing delivered yet there is no _seq to resume from, so the client
// must ask for the whole snapshot again, and still deliver each row once.
func TestCutBetweenAckAndFirstBatch(t *testing.T) {
	e := newEnv(t, envConfig{clientOpts: []client.Option{client.WithDisableCompression(true), quietKeepalive}})
	all := e.insertBulk("messages", 500)

	// 2 KiB lets the subscribe and its ack through but not a 500-row batch.
	e.px.SetDropAfter(2 << 10)
	done := e.subscribeAsync("messages", client.WithBatchSize(500))
	e.waitFor("the cut", func() bool { return e.log.count(kindDisconnected) >= 1 }, nil)
	e.px.SetDropAfter(0)
	sub := e.subscribed("across the cut", done)
	all = append(all, e.insert("messages", 5)...)
	e.waitDeliveredOnce("the snapshot on the next socket", sub, all)
	if sub.resumes() < 1 {
		t.Error("the subscription was never resumed: the cut did not land after the ack")
	}
}

// TestMixedStageRecovery: one outage hits three subscriptions in three
// stages at once — one live, one half-way through a paged load, one whose
// subscribe is still unanswered. Each recovers from its own stage.
func TestMixedStageRecovery(t *testing.T) {
	e := newEnv(t, envConfig{tables: []string{"live", "big", "late"}})
	live := e.subscribe("live")
	liveRows := e.insert("live", 5)
	bigRows := e.insertBulk("big", 400)
	e.waitRows("live rows", live, liveRows)

	e.px.SetLatency(8*time.Millisecond, 0) // slow pages, so the load is cut mid-way
	big := e.subscribe("big", client.WithBatchSize(25))
	e.waitFor("part of the load", func() bool { return big.count(client.SubBatch) >= 3 }, nil)

	e.px.SetBlackhole(true) // the late subscribe goes out into the void
	done := e.subscribeAsync("late")
	lateRows := e.insert("late", 5)
	liveRows = append(liveRows, e.insert("live", 5)...)
	e.down()
	e.px.SetBlackhole(false)
	e.px.SetLatency(0, 0)
	e.waitFailedAttempts(2)
	e.up()

	late := e.subscribed("sent into the blackhole", done)
	lateRows = append(lateRows, e.insert("late", 5)...)
	liveRows = append(liveRows, e.insert("live", 5)...)
	bigRows = append(bigRows, e.insert("big", 5)...)
	for _, w := range []struct {
		c   *collector
		ids []int64
	}{{live, liveRows}, {big, bigRows}, {late, lateRows}} {
		e.waitRows("rows of "+w.c.s.SQL(), w.c, w.ids)
		w.c.checkExactlyOnce(t, w.ids)
	}
	e.checkProvider()
}
