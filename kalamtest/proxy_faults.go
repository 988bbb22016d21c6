package kalamtest

import (
	"fmt"
	"net"
	"time"
)

// SetLatency delays every chunk of data, in each direction, by latency plus
// a uniformly random amount in [-jitter, +jitter] (the total never goes below
// zero). Order is preserved: a chunk is never delivered before the one read
// before it. It applies at once to existing and new connections; zero values
// remove the delay.
func (p *Proxy) SetLatency(latency, jitter time.Duration) {
	p.update(func(f *faults) {
		f.latency = max(latency, 0)
		f.jitter = max(jitter, 0)
	})
}

// SetBandwidth limits each direction of each connection to bytesPerSecond;
// zero or less removes the limit. Data is written in slices of about 50 ms
// worth, so a limited stream trickles rather than bursts. It applies at once
// to existing and new connections.
func (p *Proxy) SetBandwidth(bytesPerSecond int64) {
	p.update(func(f *faults) { f.rate = max(bytesPerSecond, 0) })
}

// SetBlackhole makes the network stall in both directions while on: new
// connections are still accepted and existing ones stay open, but no byte is
// delivered either way (reading stops once a small buffer is full, so TCP
// back-pressure reaches the sender). Nothing is lost: when the blackhole is
// lifted, held data flows again, as TCP retransmission would make it. A
// client that wants to notice must do so by its own timeouts or keepalives.
func (p *Proxy) SetBlackhole(on bool) {
	p.update(func(f *faults) { f.blackhole = on })
}

// SetDropAfter cuts connections after n more bytes have crossed them (both
// directions counted together): exactly n bytes are delivered, then both
// sockets are closed. It applies to existing connections, counting from
// this call, and to every new connection, counting from its start, until it
// is called again with n <= 0, which removes the limit.
func (p *Proxy) SetDropAfter(n int64) {
	budget := int64(-1)
	if n > 0 {
		budget = n
	}
	for _, c := range p.update(func(f *faults) { f.dropAfter = max(n, 0) }) {
		c.budget.Store(budget)
	}
}

// Reset abruptly ends every existing connection: both of its sockets are
// closed with SO_LINGER 0, so the client and the server each see a TCP RST
// ("connection reset by peer"). New connections are not affected.
func (p *Proxy) Reset() {
	p.mu.Lock()
	conns := p.snapshotLocked()
	p.mu.Unlock()
	for _, c := range conns {
		c.teardown(true)
	}
}

// HalfClose shuts the write half of every existing connection in direction
// d: the receiving side reads EOF while the other direction keeps flowing.
// Later data in direction d on those connections is read and discarded. New
// connections are not affected.
func (p *Proxy) HalfClose(d ProxyDirection) {
	if d != ToServer && d != ToClient {
		return
	}
	p.mu.Lock()
	conns := p.snapshotLocked()
	p.mu.Unlock()
	for _, c := range conns {
		c.halfClose(d)
	}
}

// SetRefuse makes the proxy refuse new connections while on, the way a host
// with nothing listening does: the listener is closed, so clients get
// "connection refused". Existing connections are not affected. Turning it off
// listens again on the same address; that fails only if another socket took
// the port in between, which the returned error then says.
func (p *Proxy) SetRefuse(on bool) error {
	if on {
		p.mu.Lock()
		if p.closed || p.refusing {
			p.mu.Unlock()
			return nil
		}
		p.refusing = true
		ln := p.ln
		p.ln = nil
		p.mu.Unlock()
		return ln.Close()
	}

	p.mu.Lock()
	if p.closed || !p.refusing {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()

	// The old listener's port is free but, being ephemeral, may briefly be
	// taken by an outgoing connection's local end; retry for a moment.
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("kalamtest: proxy cannot listen on %s again: %w", p.addr, err)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.refusing {
		// Closed or un-refused concurrently: this listener is surplus.
		return ln.Close()
	}
	p.refusing = false
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
	return nil
}

// Heal removes every standing fault: latency, bandwidth limit, blackhole,
// drop-after and refuse. It cannot undo a reset or a half-close that already
// happened.
func (p *Proxy) Heal() error {
	for _, c := range p.update(func(f *faults) { *f = faults{} }) {
		c.budget.Store(-1)
	}
	return p.SetRefuse(false)
}
