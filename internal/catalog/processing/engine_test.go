package processing

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog"
)

// queueStore hands out its claims once, in batches, and records what was committed.
type queueStore struct {
	mu        sync.Mutex
	due       []Claim
	committed int
	// during records the collector's target and Busy while work is processed.
	during []int
	busy   []bool
	engine *Engine
}

func (q *queueStore) ClaimDue(_ context.Context, limit int, _ time.Duration) ([]Claim, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(limit, len(q.due))
	out := q.due[:n]
	q.due = q.due[n:]
	return out, nil
}

func (q *queueStore) Commit(_ context.Context, results []Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.committed += len(results)
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	q.during = append(q.during, gc)
	q.busy = append(q.busy, q.engine.Busy())
	return nil
}

func (q *queueStore) ReplaceProvider(context.Context, string, []catalog.Entity) error { return nil }
func (q *queueStore) StitchDue(context.Context, int, time.Duration) (int, error)      { return 0, nil }
func (q *queueStore) Retry(context.Context, []string, time.Duration) error            { return nil }

// TestEngineBurst: while a backlog is processed the loop says it is busy and collects garbage less often under a
// soft memory limit; once idle it says so and puts the operator's settings back.
func TestEngineBurst(t *testing.T) {
	before := debug.SetGCPercent(60)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	store := &queueStore{}
	for i := range 25 {
		e := catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
			"metadata": map[string]any{"name": "c" + string(rune('a'+i))}, "spec": map[string]any{"type": "service", "lifecycle": "production", "owner": "team"}}
		store.due = append(store.due, Claim{ID: e.Ref().String(), EntityRef: e.Ref().String(), Unprocessed: e})
	}
	en := NewEngine(store, &Processor{Rules: everyKind}, EngineConfig{Batch: 10}, slog.New(slog.DiscardHandler), nil, nil)
	store.engine = en
	require.False(t, en.Busy())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = en.Run(ctx, time.Hour) }()
	require.Eventually(t, func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.committed == 25
	}, 10*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return !en.Busy() }, 10*time.Second, 5*time.Millisecond, "idle once the backlog is done")
	cancel()
	<-done

	require.Equal(t, []int{burstGCPercent, burstGCPercent, burstGCPercent}, store.during, "three batches ran in the burst")
	require.Equal(t, []bool{false, true, true}, store.busy, "busy from the end of the first batch until idle")
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	require.Equal(t, 60, gc, "the collector's target is restored")
	require.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1), "and so is the (absent) memory limit")
}
