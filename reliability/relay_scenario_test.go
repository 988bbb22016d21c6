package reliability_test

import (
	"sync"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/proxy"
)

// relayLog is what kalamdash proxy's relay observed in a scenario.
type relayLog struct {
	mu     sync.Mutex
	types  map[string]int // observed WebSocket messages by direction and type ("in change")
	opened int
	ended  int
}

func (l *relayLog) frame(_ string, f client.Frame) {
	if f.Opcode != client.OpText && f.Opcode != client.OpBinary {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.types[f.Direction.String()+" "+f.Type]++
}

func (l *relayLog) conn(ev proxy.ConnEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Opened {
		l.opened++
	} else {
		l.ended++
	}
}

func (l *relayLog) counts() (types map[string]int, opened int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	types = make(map[string]int, len(l.types))
	for k, v := range l.types {
		types[k] = v
	}
	return types, l.opened
}

// startRelay serves a relay to upstream on loopback until the test ends
// and returns its URL and log.
func startRelay(t *testing.T, upstream string) (string, *relayLog) {
	t.Helper()
	l := &relayLog{types: map[string]int{}}
	_, url := testkit.ServeRelay(t, upstream, proxy.Options{OnFrame: l.frame, OnConn: l.conn})
	return url, l
}

// TestScenariosThroughRelay runs scenarios with the relay in the path
// (client → fault proxy → relay → kalamtest): drops, outages and resumes
// of a real client behave as without it — every row exactly once, every
// resume acknowledged — and the relay saw each socket the client made and
// the messages that crossed it, decoded.
func TestScenariosThroughRelay(t *testing.T) {
	for name, run := range map[string]func(*testing.T, envConfig) *env{
		"SocketDropAndResume":          socketDropAndResume,
		"UpdateDeleteAcrossResume":     updateDeleteAcrossResume,
		"MultipleSubscriptionsBounced": multipleSubscriptionsBounced,
	} {
		t.Run(name, func(t *testing.T) {
			e := run(t, envConfig{relay: true})
			if t.Failed() {
				return
			}
			types, opened := e.relayed.counts()
			if connected := e.log.count(kindConnected); opened < connected {
				t.Errorf("the relay opened %d sockets, the client announced %d", opened, connected)
			}
			for _, want := range []string{"in auth_success", "out subscribe", "in subscription_ack", "in change"} {
				if types[want] == 0 {
					t.Errorf("the relay observed no %q message: %v", want, types)
				}
			}
		})
	}
}
