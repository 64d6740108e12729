package processing

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/billpay/portal/internal/catalog"
)

// Store is the storage the engine needs. Implementations must make claiming safe across replicas:
// a claimed entity is not due again until its next update time, which ClaimDue moves forward in the
// same transaction that selects it.
type Store interface {
	// ClaimDue claims up to limit due entities and schedules their next update after interval.
	ClaimDue(ctx context.Context, limit int, interval time.Duration) ([]Claim, error)
	// Commit writes the results and re-stitches every final entity they may change.
	Commit(ctx context.Context, results []Result) error
	// ReplaceProvider makes the set of entities a provider emits exactly entities; entities it no
	// longer emits are deleted with everything only they emitted.
	ReplaceProvider(ctx context.Context, provider string, entities []catalog.Entity) error
	// StitchDue rebuilds up to limit queued final entities that have waited at least minAge.
	StitchDue(ctx context.Context, limit int, minAge time.Duration) (int, error)
	// Retry releases claimed entities whose results could not be stored and makes them due after
	// the given delay, instead of at their next regular update.
	Retry(ctx context.Context, ids []string, after time.Duration) error
}

// Engine is the processing loop of one replica.
type Engine struct {
	store     Store
	processor *Processor
	log       *slog.Logger
	interval  time.Duration
	batch     int
	workers   int
	wake      chan struct{}
	// committed is told after every stitch, so readers can follow changes at once.
	committed func()
	metrics   *engineMetrics
	// busy is set while the loop works through a backlog, so that background work sharing the database
	// (search indexing) can wait for the end of an ingest instead of competing for its writes.
	busy atomic.Bool
	// beginBurst and restoreGC belong to Run's goroutine: Run raises the collector's target when RunOnce
	// finds work and puts restoreGC back once idle. RunOnce called on its own leaves the collector alone.
	beginBurst func()
	restoreGC  int
}

// Busy reports whether the loop is working through due entities right now.
func (en *Engine) Busy() bool { return en.busy.Load() }

// EngineConfig tunes the loop; zero values take the defaults.
type EngineConfig struct {
	// Interval between two processings of the same entity; each is jittered by up to +25%.
	Interval time.Duration
	// Batch is how many entities are claimed per transaction.
	Batch int
	// Workers bounds how many entities are processed at once.
	Workers int
	// Poll is how often an idle engine looks for due work from other replicas or the clock.
	Poll time.Duration
}

// stitchBatch bounds how many final entities one transaction rebuilds; stitchDelay is how long a
// queued entity may wait while processing is busy.
const (
	retryAfter     = 10 * time.Second
	releaseAfter   = 1000
	releaseDelay   = time.Second
	burstGCPercent = 200
	// burstMemoryLimit is the soft heap limit while a burst runs with burstGCPercent. A 10,000-entity
	// ingest keeps ~185 MB live at its peak: under 200 MiB the collector ran back to back and took a sixth of
	// its CPU; at 256 MiB it still took 0.5 s more CPU and 0.3 s more time than at 320 MiB (peak resident
	// ~275, ~325 and ~385 MiB). A lower limit set for the process (GOMEMLIMIT) still wins.
	burstMemoryLimit = 320 << 20
	stitchBatch      = 1000
	stitchDelay      = 2 * time.Second
)

type engineMetrics struct {
	stitched  prometheus.Counter
	processed *prometheus.CounterVec
	batches   prometheus.Counter
	duration  prometheus.Histogram
}

// NewEngine builds the loop. committed may be nil.
func NewEngine(store Store, p *Processor, cfg EngineConfig, log *slog.Logger, reg prometheus.Registerer, committed func()) *Engine {
	if cfg.Interval <= 0 {
		cfg.Interval = 100 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0) * 2
	}
	m := &engineMetrics{
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_catalog_entities_processed_total",
			Help: "Entities processed by the catalog processing loop, by outcome.",
		}, []string{"result"}),
		stitched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portal_catalog_entities_stitched_total",
			Help: "Final entities rebuilt by this replica.",
		}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portal_catalog_processing_batches_total",
			Help: "Batches of entities claimed and committed by this replica.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "portal_catalog_processing_batch_seconds",
			Help:    "Time to process and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
	}
	// Both outcomes are exported from the start, so dashboards see zeros rather than nothing.
	m.processed.WithLabelValues("ok")
	m.processed.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.processed, m.stitched, m.batches, m.duration)
	}
	if committed == nil {
		committed = func() {}
	}
	return &Engine{store: store, processor: p, log: log, interval: cfg.Interval, batch: cfg.Batch,
		workers: cfg.Workers, wake: make(chan struct{}, 1), committed: committed, metrics: m}
}

// Wake makes an idle loop look for due work now (after a refresh request or a new location).
func (en *Engine) Wake() {
	select {
	case en.wake <- struct{}{}:
	default:
	}
}

// Run processes due entities until ctx ends. Errors are logged and retried: a database hiccup must
// not stop the catalog.
func (en *Engine) Run(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	burst := 0
	// Processing allocates far more than it keeps (one location can expand into thousands of entities within
	// a single RunOnce): from the first claimed entity until the loop is idle again, collect less often.
	restoreLimit := int64(-1)
	en.beginBurst = func() {
		if en.restoreGC == 0 {
			en.restoreGC = debug.SetGCPercent(burstGCPercent)
			// A soft limit keeps the rarer collections from letting a big ingest's heap grow without bound; a
			// lower limit the operator set (GOMEMLIMIT) stays.
			restoreLimit = debug.SetMemoryLimit(-1)
			if restoreLimit > burstMemoryLimit {
				debug.SetMemoryLimit(burstMemoryLimit)
			}
		}
	}
	endBurst := func() {
		if en.restoreGC != 0 {
			debug.SetGCPercent(en.restoreGC)
			debug.SetMemoryLimit(restoreLimit)
			en.restoreGC = 0
		}
	}
	defer func() { endBurst(); en.beginBurst = nil }()
	for {
		n, err := en.RunOnce(ctx)
		if n > 0 {
			en.busy.Store(true)
		}
		burst += n
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			en.log.Error("catalog processing failed; retrying", "err", err)
		}
		// While a backlog is being processed, stitch only what has waited a while: an entity that
		// many others point at is then rebuilt once per burst, not once per batch.
		minAge := time.Duration(0)
		if n >= en.batch {
			minAge = stitchDelay
		}
		stitched, serr := en.store.StitchDue(ctx, stitchBatch, minAge)
		if serr != nil && ctx.Err() == nil {
			en.log.Error("catalog stitching failed; retrying", "err", serr)
		}
		if stitched > 0 {
			en.metrics.stitched.Add(float64(stitched))
			en.committed()
		}
		if (n > 0 && err == nil) || (stitched > 0 && serr == nil) {
			continue
		}
		if en.restoreGC != 0 {
			endBurst()
			if burst >= releaseAfter {
				// A big ingest's parse and write scratch goes back to the OS rather than staying at the
				// high-water mark until the scavenger gets to it; a moment later, because releasing holds the
				// heap's lock while the index is still taking the last commit.
				time.AfterFunc(releaseDelay, debug.FreeOSMemory)
			}
		}
		burst = 0
		en.busy.Store(false)
		timer.Reset(poll)
		select {
		case <-ctx.Done():
			return nil
		case <-en.wake:
		case <-timer.C:
		}
	}
}

// RunOnce claims and processes one batch and returns how many entities it processed, children
// processed in the same pass included.
func (en *Engine) RunOnce(ctx context.Context) (int, error) {
	start := time.Now()
	claims, err := en.store.ClaimDue(ctx, en.batch, en.nextInterval())
	if err != nil || len(claims) == 0 {
		return 0, err
	}
	if en.beginBurst != nil {
		en.beginBurst()
	}
	results := make([]Result, len(claims))
	en.parallel(len(claims), func(i int) { results[i] = en.processor.Process(ctx, claims[i]) })
	eager := en.processChildren(ctx, results)
	if err := en.store.Commit(ctx, results); err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		if len(results) == 1 {
			if rerr := en.store.Retry(ctx, []string{results[0].Claim.ID}, retryAfter); rerr != nil {
				en.log.Error("cannot reschedule an entity", "err", rerr)
			}
			return 0, err
		}
		// One entity the database refuses must not hold back the others claimed with it: commit
		// them one by one and leave the refused ones, logged, for their next turn.
		en.log.Warn("committing a processing batch failed; retrying entity by entity", "err", err, "entities", len(results))
		var failed []string
		for i := range results {
			if err := en.store.Commit(ctx, results[i:i+1]); err != nil {
				en.log.Error("cannot store a processed entity", "entity", results[i].Claim.EntityRef, "err", err)
				failed = append(failed, results[i].Claim.ID)
			}
		}
		// A transient failure (a deadlock, a lost connection) must not park these entities until
		// their next regular update.
		if err := en.store.Retry(ctx, failed, retryAfter); err != nil {
			en.log.Error("cannot reschedule entities", "err", err)
		}
	}
	for _, r := range results {
		en.count(r)
	}
	stored := 0
	for _, c := range eager {
		if c.Stored {
			en.count(*c.Result)
			stored++
		}
	}
	en.metrics.batches.Inc()
	en.metrics.duration.Observe(time.Since(start).Seconds())
	// Storage may stitch as it commits (SQLite does), so readers are told now rather than at their next poll.
	en.committed()
	return len(claims) + stored, nil
}

// nextInterval is the processing interval plus up to 25% jitter, so that entities read together
// drift apart instead of coming due in one burst forever.
func (en *Engine) nextInterval() time.Duration {
	return en.interval + time.Duration(rand.Int64N(int64(en.interval/4)+1))
}

func (en *Engine) count(r Result) {
	if r.Processed != nil {
		en.metrics.processed.WithLabelValues("ok").Inc()
	} else {
		en.metrics.processed.WithLabelValues("error").Inc()
	}
}

// parallel runs fn for 0..n-1 on the engine's workers.
func (en *Engine) parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(en.workers, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// processChildren processes, in the same pass, the children that changed parents emitted, so that
// a file read for the first time needs one transaction rather than one per batch of its entities.
// Locations are left to their own claim: reading their targets is the parent's job, not this pass's.
// Storage uses a result only for a child it creates; others take the usual path.
func (en *Engine) processChildren(ctx context.Context, results []Result) []*Child {
	var jobs []*Child
	for i := range results {
		r := &results[i]
		if r.Processed == nil || (r.Hash == r.Claim.ResultHash && r.Claim.ResultHash != "") {
			continue
		}
		for j := range r.Children {
			c := &r.Children[j]
			if !strings.EqualFold(c.Entity.Kind(), "Location") {
				jobs = append(jobs, c)
			}
		}
	}
	en.parallel(len(jobs), func(i int) {
		c := jobs[i]
		res := en.processor.Process(ctx, Claim{EntityRef: c.Entity.Ref().String(), Unprocessed: c.Entity})
		c.Result, c.NextUpdateAt = &res, time.Now().Add(en.nextInterval())
	})
	return jobs
}

// GeneratedLocation is the synthetic Location entity Backstage creates for a registered or
// configured location: named after a hash of "type:target", pointing at the target.
func GeneratedLocation(loc LocationSpec) catalog.Entity {
	ref := loc.Type + ":" + loc.Target
	spec := map[string]any{"type": loc.Type, "target": loc.Target}
	if loc.Presence != "" {
		spec["presence"] = loc.Presence
	}
	return catalog.Entity{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Location",
		"metadata": map[string]any{
			"name":      GeneratedLocationName(loc.Type, loc.Target),
			"namespace": catalog.DefaultNamespace,
			"annotations": map[string]any{
				catalog.AnnotationManagedByLocation:       ref,
				catalog.AnnotationManagedByOriginLocation: ref,
			},
		},
		"spec": spec,
	}
}

// LocationSpec is a location as registered: Backstage's {type, target, presence}.
type LocationSpec struct {
	Type     string
	Target   string
	Presence string
}
