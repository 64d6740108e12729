package main

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var sink [][]byte

// TestReclaimerReleasesAfterABurst: while requests keep coming nothing is collected; once a check sees none,
// the heap a burst left behind goes back to the operating system.
func TestReclaimerReleasesAfterABurst(t *testing.T) {
	r := &reclaimer{slack: 1 << 20}
	h := r.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// A burst's worth of garbage.
		for range 64 {
			sink = append(sink, make([]byte, 64<<10))
		}
		sink = nil
	}))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
				time.Sleep(time.Millisecond)
			}
		}
	}()
	runtime.GC() // the live heap the slack is measured from
	go r.run(t.Context(), 200*time.Millisecond)
	time.Sleep(700 * time.Millisecond)
	require.Zero(t, r.reclaims.Load(), "nothing is collected while requests keep coming")
	close(stop)
	<-done
	// Other tests in this binary allocate too, so the heap itself is not a measure here; bench/catalog
	// measures what a reclaim gives back.
	require.Eventually(t, func() bool { return r.reclaims.Load() > 0 }, 5*time.Second, 20*time.Millisecond)
}

// TestReclaimerWaitsForBusyWork: an ingest allocates on purpose; the reclaimer leaves it alone.
func TestReclaimerWaitsForBusyWork(t *testing.T) {
	r := &reclaimer{slack: 0, busy: func() bool { return true }}
	go r.run(t.Context(), 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	require.Zero(t, r.reclaims.Load())
}
