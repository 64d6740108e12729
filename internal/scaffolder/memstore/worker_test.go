package memstore_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/memstore"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

func mustWorker(t *testing.T, store *memstore.Store) *scaffolder.Worker {
	t.Helper()
	reg, err := scaffolder.NewRegistry(action.Builtins(action.Options{})...)
	if err != nil {
		t.Fatal(err)
	}
	return &scaffolder.Worker{
		Store:             store,
		Runner:            &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}), WorkDir: t.TempDir()},
		HeartbeatInterval: 10 * time.Millisecond,
		PollInterval:      10 * time.Millisecond,
	}
}

func mustTask(t *testing.T, store *memstore.Store, steps string, extra string) string {
	t.Helper()
	tpl, err := scaffolder.ParseTemplate([]byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n" + extra + "  steps:\n" + steps +
		"  output:\n    said: ${{ parameters.word }}\n"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := store.CreateTask(context.Background(), tpl.NewTaskSpec(nunjucks.ObjectOf("word", "hello"), scaffolder.UserInfo{Ref: "user:default/jane"}, ""),
		map[string]string{"token": "s3cret-token"}, "user:default/jane")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func messages(t *testing.T, store *memstore.Store, id string) []string {
	t.Helper()
	evs, err := store.ListEvents(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type)+": "+e.Body.Message)
	}
	return out
}

func waitStatus(t *testing.T, store *memstore.Store, id string, want scaffolder.TaskStatus) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		task, err := store.GetTask(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if task.Status == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("task %s never became %s; events:\n%s", id, want, strings.Join(messages(t, store, id), "\n"))
}

func TestWorker(t *testing.T) {
	t.Run("Completes", func(t *testing.T) {
		store := memstore.New()
		w := mustWorker(t, store)
		id := mustTask(t, store, "    - {id: log, action: debug:log, input: {message: 'token ${{ secrets.token }}'}}\n", "")
		ran, err := w.RunOnce(context.Background())
		if err != nil || !ran {
			t.Fatalf("ran %v err %v", ran, err)
		}
		task, _ := store.GetTask(context.Background(), id)
		if task.Status != scaffolder.StatusCompleted || task.Secrets != nil {
			t.Fatalf("status %s, secrets kept: %v", task.Status, task.Secrets)
		}
		if out := store.Output(id); out == nil || toJSON(out) != `{"said":"hello"}` {
			t.Fatalf("output %v", out)
		}
		all := strings.Join(messages(t, store, id), "\n")
		if !strings.HasSuffix(all, "completion: Run completed with status: completed") || !strings.Contains(all, "log: ***") {
			t.Fatalf("events:\n%s", all)
		}
		if strings.Contains(all, "s3cret") {
			t.Fatal("secret in the stored events")
		}
		if ran, _ := w.RunOnce(context.Background()); ran {
			t.Fatal("ran a task twice")
		}
	})

	t.Run("CancelStopsTheRunningStep", func(t *testing.T) {
		store := memstore.New()
		w := mustWorker(t, store)
		id := mustTask(t, store, "    - {id: wait, action: debug:wait, input: {seconds: 30}}\n    - {id: after, action: debug:log}\n", "")
		done := make(chan struct{})
		go func() { _, _ = w.RunOnce(context.Background()); close(done) }()
		waitStatus(t, store, id, scaffolder.StatusProcessing)
		time.Sleep(30 * time.Millisecond)
		if err := store.RequestCancel(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the cancelled task kept running")
		}
		waitStatus(t, store, id, scaffolder.StatusCancelled)
		all := strings.Join(messages(t, store, id), "\n")
		if !strings.Contains(all, "cancelled: Run cancelled") || !strings.HasSuffix(all, "completion: Run completed with status: cancelled") || strings.Contains(all, "Beginning step debug:log") {
			t.Fatalf("events:\n%s", all)
		}
	})

	t.Run("KilledRunnerFailsAfterTheHeartbeatTimeout", func(t *testing.T) {
		store := memstore.New()
		clock := &fakeClock{t: time.Now()}
		store.Now = clock.now
		w := mustWorker(t, store)
		w.Now, w.StaleAfter = clock.now, time.Minute
		id := mustTask(t, store, "    - {id: wait, action: debug:wait, input: {seconds: 30}}\n", "")
		// The runner "dies": its context ends mid-step and it never completes the task.
		ctx, kill := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _, _ = w.RunOnce(ctx); close(done) }()
		waitStatus(t, store, id, scaffolder.StatusProcessing)
		kill()
		<-done
		if task, _ := store.GetTask(context.Background(), id); task.Status != scaffolder.StatusProcessing {
			t.Fatalf("status %s right after the runner died", task.Status)
		}
		if n, _ := w.SweepStale(context.Background()); n != 0 {
			t.Fatal("a task with a fresh heartbeat was swept")
		}
		clock.advance(2 * time.Minute)
		if n, err := w.SweepStale(context.Background()); n != 1 || err != nil {
			t.Fatalf("swept %d, err %v", n, err)
		}
		task, _ := store.GetTask(context.Background(), id)
		if task.Status != scaffolder.StatusFailed {
			t.Fatalf("status %s", task.Status)
		}
		if all := strings.Join(messages(t, store, id), "\n"); !strings.Contains(all, scaffolder.StaleMessage) || !strings.HasSuffix(all, "status: failed") {
			t.Fatalf("events:\n%s", all)
		}
	})

	t.Run("KilledRunnerStartsOverWhenTheTemplateAsks", func(t *testing.T) {
		store := memstore.New()
		clock := &fakeClock{t: time.Now()}
		store.Now = clock.now
		w := mustWorker(t, store)
		w.Now, w.StaleAfter = clock.now, time.Minute
		id := mustTask(t, store, "    - {id: log, action: debug:log, input: {message: again}}\n", "  EXPERIMENTAL_recovery:\n    EXPERIMENTAL_strategy: startOver\n")
		if _, err := store.ClaimTask(context.Background()); err != nil { // a runner took it, then died
			t.Fatal(err)
		}
		clock.advance(2 * time.Minute)
		if n, err := w.SweepStale(context.Background()); n != 1 || err != nil {
			t.Fatalf("swept %d, err %v", n, err)
		}
		waitStatus(t, store, id, scaffolder.StatusOpen)
		if ran, err := w.RunOnce(context.Background()); !ran || err != nil {
			t.Fatalf("ran %v err %v", ran, err)
		}
		waitStatus(t, store, id, scaffolder.StatusCompleted)
		if all := strings.Join(messages(t, store, id), "\n"); !strings.Contains(all, "recovered: Task was recovered") {
			t.Fatalf("events:\n%s", all)
		}
	})

	t.Run("ReplicasRunEachTaskOnce", func(t *testing.T) {
		store := memstore.New()
		var ids []string
		for range 12 {
			ids = append(ids, mustTask(t, store, "    - {id: log, action: debug:log, input: {message: x}}\n", ""))
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var runs atomic.Int32
		for range 3 {
			w := mustWorker(t, store)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					ran, _ := w.RunOnce(ctx)
					if ran {
						runs.Add(1)
					} else {
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}
		for _, id := range ids {
			waitStatus(t, store, id, scaffolder.StatusCompleted)
		}
		cancel()
		wg.Wait()
		if runs.Load() != 12 {
			t.Fatalf("%d runs for 12 tasks", runs.Load())
		}
		for _, id := range ids {
			if n := strings.Count(strings.Join(messages(t, store, id), "\n"), "Starting up task"); n != 1 {
				t.Fatalf("task %s started %d times", id, n)
			}
		}
	})
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func toJSON(o *nunjucks.Object) string {
	b, _ := o.MarshalJSON()
	return string(b)
}
