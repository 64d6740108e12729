// Package ratelimit keeps one token bucket per key (a principal, an API key, a client address), for the
// flag keys, the API's and the pages' per-principal change limits, and failed sign-ins.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sweepEvery is how often full buckets are dropped: a full bucket is the same as none, so dropping them
// bounds memory when keys (guests' addresses) keep changing.
const sweepEvery = time.Minute

// Keyed is a token bucket per key. The zero rate turns limiting off.
type Keyed struct {
	perSecond rate.Limit
	burst     int
	now       func() time.Time
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	swept     time.Time
}

// New allows perSecond events per key with bursts of burst (at least one, and perSecond rounded up when 0).
// now nil is time.Now.
func New(perSecond float64, burst int, now func() time.Time) *Keyed {
	if burst <= 0 {
		burst = int(math.Max(1, math.Ceil(perSecond)))
	}
	if now == nil {
		now = time.Now
	}
	return &Keyed{perSecond: rate.Limit(perSecond), burst: burst, now: now, buckets: map[string]*rate.Limiter{}}
}

// Allow spends one token of key's bucket, or says how long until one is available.
func (k *Keyed) Allow(key string) (bool, time.Duration) {
	if k == nil || k.perSecond <= 0 {
		return true, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.swept) > sweepEvery {
		for key, b := range k.buckets {
			if b.TokensAt(now) >= float64(k.burst) {
				delete(k.buckets, key)
			}
		}
		k.swept = now
	}
	b, ok := k.buckets[key]
	if !ok {
		b = rate.NewLimiter(k.perSecond, k.burst)
		k.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Exhausted reports whether key has used up its bucket, and how long until it has a token again, without
// spending one.
func (k *Keyed) Exhausted(key string) (bool, time.Duration) {
	if k == nil || k.perSecond <= 0 {
		return false, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets[key]
	if !ok {
		return false, 0
	}
	if tokens := b.TokensAt(k.now()); tokens < 1 {
		return true, time.Duration((1 - tokens) / float64(k.perSecond) * float64(time.Second))
	}
	return false, 0
}
