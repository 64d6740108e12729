package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// changeLimiter throttles each principal's changes through the pages: a token bucket per principal.
type changeLimiter struct {
	perSecond rate.Limit
	burst     int
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	swept     time.Time
}

func newChangeLimiter(perSecond float64, burst int) *changeLimiter {
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &changeLimiter{perSecond: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// allow spends one change of key's bucket, or says how long until one is available.
func (l *changeLimiter) allow(key string) (bool, time.Duration) {
	if l.perSecond <= 0 {
		return true, 0
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > 10*time.Minute {
		// A full bucket is the same as none; dropping them bounds memory.
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.perSecond, l.burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
