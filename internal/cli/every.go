package cli

import "time"

// every calls tick every d, in a goroutine of its own, until the returned
// stop is called; stop then calls last there (when not nil) and returns
// once it has, so nothing is written after stop returns.
func every(d time.Duration, tick, last func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				tick()
			case <-done:
				if last != nil {
					last()
				}
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
