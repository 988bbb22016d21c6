package session

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestParseRefreshPolicy(t *testing.T) {
	good := map[string]RefreshPolicy{
		"":             Manual(),
		"manual":       Manual(),
		"every 55m":    Periodic(55 * time.Minute),
		"every:10s":    Periodic(10 * time.Second),
		"before 80%":   BeforeExpiryFraction(0.8),
		"before 0.5":   BeforeExpiryFraction(0.5),
		"Before 1m30s": BeforeExpiryLead(90 * time.Second),
		// The palette's words before it shared this grammar.
		"periodic 30s":     Periodic(30 * time.Second),
		"before-expiry 1m": BeforeExpiryLead(time.Minute),
	}
	for in, want := range good {
		got, err := ParseRefreshPolicy(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
		// String round-trips.
		back, err := ParseRefreshPolicy(got.String())
		if err != nil || back != got {
			t.Errorf("%q → %q → %+v, %v", in, got.String(), back, err)
		}
	}
	if p, err := ParseRefreshPolicy(DefaultRefreshPolicy); err != nil || p.Kind != PolicyBeforeExpiry {
		t.Errorf("default policy %q: %+v, %v", DefaultRefreshPolicy, p, err)
	}
	for _, bad := range []string{"every", "every -1s", "every x", "before 150%", "before 0", "sometimes 5m", "before 1.5", "every 10ms"} {
		if _, err := ParseRefreshPolicy(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestNextDue(t *testing.T) {
	iat := time.Unix(2_000_000, 0)
	access := DecodeToken(signClaims(t, jwt.MapClaims{"sub": "a", "iat": iat.Unix(), "exp": iat.Add(100 * time.Second).Unix()}))
	last := iat.Add(7 * time.Second)
	if d, ok := Periodic(10*time.Second).NextDue(last, access); !ok || !d.Equal(last.Add(10*time.Second)) {
		t.Errorf("periodic %v %v", d, ok)
	}
	if d, ok := BeforeExpiryFraction(0.8).NextDue(last, access); !ok || !d.Equal(iat.Add(80*time.Second)) {
		t.Errorf("fraction %v %v", d, ok)
	}
	if d, ok := BeforeExpiryLead(30*time.Second).NextDue(last, access); !ok || !d.Equal(iat.Add(70*time.Second)) {
		t.Errorf("lead %v %v", d, ok)
	}
	if _, ok := Manual().NextDue(last, access); ok {
		t.Error("manual scheduled")
	}
	if _, ok := BeforeExpiryLead(time.Second).NextDue(last, TokenState{}); ok {
		t.Error("before-expiry without a token scheduled")
	}
}

func TestFakeClockRunsTimersInOrder(t *testing.T) {
	c := NewFakeClock(time.Unix(0, 0))
	var got []int
	c.AfterFunc(3*time.Second, func() { got = append(got, 3) })
	c.AfterFunc(time.Second, func() {
		got = append(got, 1)
		// Scheduled during Advance and due inside the span: runs too.
		c.AfterFunc(time.Second, func() { got = append(got, 2) })
	})
	stopped := c.AfterFunc(2500*time.Millisecond, func() { got = append(got, 99) })
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop should report true once")
	}
	c.Advance(3 * time.Second)
	if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("order %v", got)
	}
	if !c.Now().Equal(time.Unix(3, 0)) || c.Pending() != 0 {
		t.Errorf("now %v pending %d", c.Now(), c.Pending())
	}
}
