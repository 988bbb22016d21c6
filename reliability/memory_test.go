package reliability_test

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// Memory bounds every scenario holds (issue 8: "memory bounded"). The
// scenarios run one at a time, so the heap they see is their own. The
// peak allows a 5 000-row snapshot and a write burst several times over;
// the retained bound catches state that outlives Close (a subscription
// queue, a tap, a server cache).
const (
	maxPeakHeap     = 512 << 20
	maxRetainedHeap = 32 << 20
	memSampleEvery  = 10 * time.Millisecond
)

// memoryCheck samples the heap while t runs and fails t if the peak or
// what is still live after every cleanup exceeds the bounds. Call it
// before anything that registers cleanups, so its final check runs after
// them all.
func memoryCheck(t *testing.T) {
	t.Helper()
	base := heapAfterGC()
	t.Cleanup(func() {
		if grew := int64(heapAfterGC()) - int64(base); grew > maxRetainedHeap {
			t.Errorf("heap still holds %d MiB more than before the scenario after every Close (bound %d MiB)", grew>>20, maxRetainedHeap>>20)
		}
	})
	stop := make(chan struct{})
	var (
		wg   sync.WaitGroup
		peak uint64
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(memSampleEvery)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		if peak > maxPeakHeap {
			t.Errorf("heap peaked at %d MiB during the scenario (bound %d MiB)", peak>>20, maxPeakHeap>>20)
		}
	})
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
