package main

import (
	"context"
	"net/http"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// A quiet spell is one check interval without a request; 16 MiB beyond the live heap is worth a collection.
const (
	reclaimEvery = 2 * time.Second
	reclaimSlack = 16 << 20
)

// reclaimer hands memory back to the operating system once the server is quiet after a burst of requests. The
// runtime otherwise keeps the heap a burst grew to until its forced collection two minutes later, and returns
// the freed pages slowly after that; a portal is idle most of the time, so that memory is better given back.
type reclaimer struct {
	requests atomic.Int64
	// busy reports other work that allocates on purpose (an ingest); nil for none.
	busy func() bool
	// slack is how much more than the live heap the runtime may hold before a quiet spell reclaims it.
	slack uint64
	// reclaims counts the collections it made.
	reclaims atomic.Int64
}

// wrap counts the requests h serves.
func (r *reclaimer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		h.ServeHTTP(w, req)
	})
}

// run checks every interval until ctx ends: a check that sees no request since the one before, while the heap
// holds more than slack beyond what is live, collects and releases.
func (r *reclaimer) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	seen := r.requests.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := r.requests.Load()
		quiet := n == seen
		seen = n
		if !quiet || (r.busy != nil && r.busy()) {
			continue
		}
		if heapBeyondLive() > r.slack {
			debug.FreeOSMemory()
			r.reclaims.Add(1)
		}
	}
}

// heapBeyondLive is the heap memory the runtime holds from the operating system beyond the live objects of
// the last collection: garbage not yet collected, free spans not yet released, unused parts of spans.
func heapBeyondLive() uint64 {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(samples)
	for _, s := range samples {
		if s.Value.Kind() != metrics.KindUint64 {
			return 0
		}
	}
	held := samples[0].Value.Uint64() + samples[1].Value.Uint64() + samples[2].Value.Uint64()
	live := samples[3].Value.Uint64()
	if held <= live {
		return 0
	}
	return held - live
}
