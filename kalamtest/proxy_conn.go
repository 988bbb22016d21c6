package kalamtest

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// proxyConn is one client connection through a Proxy and its upstream
// connection to the target. Each direction has a reader goroutine, which
// stamps chunks with their arrival time, and a writer goroutine, which
// delivers them when the faults allow; the queue between them keeps latency
// from throttling throughput and keeps order.
type proxyConn struct {
	p      *Proxy
	client *net.TCPConn
	done   chan struct{} // closed by teardown
	cancel context.CancelFunc
	once   sync.Once

	// budget is the number of bytes still allowed before the connection is
	// cut by SetDropAfter; negative means unlimited.
	budget atomic.Int64
	// half marks directions shut by HalfClose; their data is discarded.
	half [2]atomic.Bool
	// open counts directions whose EOF has not been forwarded yet.
	open atomic.Int32

	mu     sync.Mutex
	server *net.TCPConn // nil until dialled
	dead   bool         // set by teardown, under mu
}

// chunk is what a reader read in one call: data, and how the stream ended
// if it did.
type chunk struct {
	b   []byte
	at  time.Time
	end chunkEnd
}

type chunkEnd uint8

const (
	endNone  chunkEnd = iota
	endEOF            // the source shut its write half: forward a FIN
	endReset          // the source failed (RST or error): reset the other side
)

// proxyDialTimeout bounds how long a connection waits for the target.
const proxyDialTimeout = 10 * time.Second

// run dials the target and pumps both directions until the connection ends.
func (c *proxyConn) run(ctx context.Context) {
	defer c.p.wg.Done()
	d := net.Dialer{Timeout: proxyDialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.p.target)
	if err != nil {
		// The target is down: tell the client the same way a dead host
		// behind a load balancer would, with a reset.
		c.teardown(true)
		return
	}
	server := nc.(*net.TCPConn)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		_ = server.Close()
		return
	}
	c.server = server
	c.mu.Unlock()
	if c.half[ToServer].Load() {
		_ = server.CloseWrite()
	}

	c.open.Store(2)
	toServer := make(chan chunk, 8)
	toClient := make(chan chunk, 8)
	c.p.wg.Add(3)
	go c.read(c.client, toServer)
	go c.read(server, toClient)
	go func() {
		defer c.p.wg.Done()
		c.write(ToClient, c.client, toClient)
	}()
	c.write(ToServer, server, toServer)
}

// read copies src into q, one chunk per Read, until src ends or the
// connection is torn down.
func (c *proxyConn) read(src *net.TCPConn, q chan<- chunk) {
	defer c.p.wg.Done()
	for {
		buf := make([]byte, 16<<10)
		n, err := src.Read(buf)
		ch := chunk{b: buf[:n], at: time.Now()}
		switch {
		case err == nil && n == 0:
			continue
		case errors.Is(err, io.EOF):
			ch.end = endEOF
		case err != nil:
			ch.end = endReset
		}
		select {
		case q <- ch:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// write delivers chunks from q to dst in direction d, applying latency,
// jitter, blackhole, bandwidth and drop-after as they stand at each moment.
func (c *proxyConn) write(d ProxyDirection, dst *net.TCPConn, q <-chan chunk) {
	var last time.Time // delivery time of the previous chunk, to keep order
	var next time.Time // earliest time the bandwidth limit allows a write
	for {
		var ch chunk
		select {
		case ch = <-q:
		case <-c.done:
			return
		}

		// Latency: the jitter draw is made once per chunk, so changing the
		// latency while a chunk waits moves its delivery consistently.
		j := rand.Float64()*2 - 1
		at, ok := c.wait(func(f faults) time.Time {
			delay := max(f.latency+time.Duration(j*float64(f.jitter)), 0)
			return later(ch.at.Add(delay), last)
		})
		if !ok {
			return
		}
		last = at

		for b := ch.b; len(b) > 0; {
			if c.half[d].Load() {
				break // shut by HalfClose: swallow
			}
			n := len(b)
			var rate int64
			if _, ok := c.wait(func(f faults) time.Time {
				rate = f.rate
				if rate <= 0 {
					n = len(b)
					return time.Time{}
				}
				n = min(len(b), int(max(rate/20, 1)))
				return next
			}); !ok {
				return
			}
			n, cut := c.take(n)
			if n > 0 {
				w, err := dst.Write(b[:n])
				c.p.bytes[d].Add(int64(w))
				if err != nil {
					if c.half[d].Load() {
						break
					}
					c.teardown(true)
					return
				}
				if rate > 0 {
					next = later(next, time.Now()).Add(time.Duration(n) * time.Second / time.Duration(rate))
				}
			}
			if cut {
				c.teardown(false)
				return
			}
			b = b[n:]
		}

		switch ch.end {
		case endEOF:
			_ = dst.CloseWrite()
			if c.open.Add(-1) == 0 {
				c.teardown(false)
			}
			return
		case endReset:
			c.teardown(true)
			return
		}
	}
}

// wait blocks until the time computed by target from the current faults has
// come and no blackhole stands, re-reading the faults whenever they change.
// It returns the time reached, or false if the connection was torn down.
func (c *proxyConn) wait(target func(faults) time.Time) (time.Time, bool) {
	for {
		f, wake := c.p.state()
		var timer *time.Timer
		var fire <-chan time.Time
		if !f.blackhole {
			at := target(f)
			d := time.Until(at)
			if d <= 0 {
				return at, true
			}
			timer = time.NewTimer(d)
			fire = timer.C
		}
		select {
		case <-c.done:
		case <-wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-c.done:
			return time.Time{}, false
		default:
		}
	}
}

// take reserves up to n bytes of the drop-after budget. It returns how many
// may be written and whether the budget is then exhausted, which means the
// connection must be cut after writing them.
func (c *proxyConn) take(n int) (int, bool) {
	for {
		rem := c.budget.Load()
		if rem < 0 {
			return n, false
		}
		k := min(int64(n), rem)
		if c.budget.CompareAndSwap(rem, rem-k) {
			return int(k), rem-k == 0
		}
	}
}

// halfClose shuts the write half toward direction d's receiver.
func (c *proxyConn) halfClose(d ProxyDirection) {
	c.half[d].Store(true)
	if d == ToClient {
		_ = c.client.CloseWrite()
		return
	}
	c.mu.Lock()
	s := c.server
	c.mu.Unlock()
	if s != nil {
		_ = s.CloseWrite()
	}
}

// teardown closes both sockets once, with an RST if rst is set, and stops
// the connection's goroutines.
func (c *proxyConn) teardown(rst bool) {
	c.once.Do(func() {
		c.mu.Lock()
		c.dead = true
		s := c.server
		c.mu.Unlock()
		close(c.done)
		c.cancel()
		// Forget the connection before closing its sockets, so Stats
		// never counts one that a peer has already seen end.
		c.p.remove(c)
		for _, nc := range []*net.TCPConn{c.client, s} {
			if nc == nil {
				continue
			}
			if rst {
				_ = nc.SetLinger(0)
			}
			_ = nc.Close()
		}
	})
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
