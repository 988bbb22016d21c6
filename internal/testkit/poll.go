package testkit

import (
	"testing"
	"time"
)

// Deadline bounds how long Poll and Eventually wait. It only stops a hang
// from lasting forever; a loaded machine must never reach it, and no test
// asserts on it.
const Deadline = 20 * time.Second

// pollEvery is how often Poll asks again.
const pollEvery = 5 * time.Millisecond

// Poll calls get until ok accepts what it returns, and returns that. After
// Deadline it fails the test, naming what it waited for and the last value.
func Poll[V any](t testing.TB, what string, get func() V, ok func(V) bool) V {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for {
		v := get()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: %+v", what, v)
			return v
		}
		time.Sleep(pollEvery)
	}
}

// Eventually waits until cond holds, failing the test after Deadline.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Poll(t, what, cond, func(held bool) bool { return held })
}
