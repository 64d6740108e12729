// Package taskstoretest is the contract of scaffolder.TaskStore as a test suite. Every implementation
// runs it: the in-memory store (scaffolder/memstore) and the database store on SQLite and PostgreSQL
// (internal/store). It drives the stores directly and through the real Worker and Runner.
package taskstoretest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// Factory returns an empty store whose clock is now.
type Factory func(t *testing.T, now func() time.Time) scaffolder.TaskStore

// Clock is a clock tests move by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at the current time, truncated to the microsecond as databases keep it.
func NewClock() *Clock { return &Clock{t: time.Now().UTC().Truncate(time.Microsecond)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	store scaffolder.TaskStore
	clock *Clock
}

func newEnv(t *testing.T, f Factory) *env {
	clock := NewClock()
	return &env{t: t, store: f(t, clock.Now), clock: clock}
}

// MustWorker returns a Worker with the built-in actions that polls and heartbeats every 10 ms.
func MustWorker(t testing.TB, store scaffolder.TaskStore, id string) *scaffolder.Worker {
	t.Helper()
	reg, err := scaffolder.NewRegistry(action.Builtins(action.Options{})...)
	if err != nil {
		t.Fatal(err)
	}
	return &scaffolder.Worker{
		Store: store, ID: id,
		Runner:            &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}), WorkDir: t.TempDir()},
		HeartbeatInterval: 10 * time.Millisecond,
		PollInterval:      10 * time.Millisecond,
	}
}

func (e *env) worker(id string) *scaffolder.Worker {
	w := MustWorker(e.t, e.store, id)
	w.Now = e.clock.Now
	w.StaleAfter = time.Minute
	return w
}

// spec builds a task spec from step YAML (indented four spaces) and extra spec keys (two spaces).
func spec(t testing.TB, steps, extra string) scaffolder.TaskSpec {
	t.Helper()
	tpl, err := scaffolder.ParseTemplate([]byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n" + extra + "  steps:\n" + steps +
		"  output:\n    said: ${{ parameters.word }}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return tpl.NewTaskSpec(nunjucks.ObjectOf("word", "hello"), scaffolder.UserInfo{Ref: "user:default/jane"}, "")
}

func (e *env) task(steps, extra string) string {
	e.t.Helper()
	id, err := e.store.CreateTask(context.Background(), spec(e.t, steps, extra), map[string]string{"token": "s3cret-token"}, "user:default/jane")
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) get(id string) *scaffolder.Task {
	e.t.Helper()
	task, err := e.store.GetTask(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return task
}

func (e *env) events(id string, after int64) []scaffolder.StoredEvent {
	e.t.Helper()
	evs, err := e.store.ListEvents(context.Background(), id, after)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) messages(id string) string {
	e.t.Helper()
	var out []string
	for _, ev := range e.events(id, 0) {
		out = append(out, string(ev.Type)+": "+ev.Body.Message)
	}
	return strings.Join(out, "\n")
}

func (e *env) waitStatus(id string, want scaffolder.TaskStatus) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if e.get(id).Status == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("task %s never became %s; events:\n%s", id, want, e.messages(id))
}

// end is the completion event of a run that ended with status.
func end(e *env, status scaffolder.TaskStatus) scaffolder.Event {
	return scaffolder.RunResult{Status: status}.CompletionEvent(e.clock.Now())
}

func requireCode(t testing.TB, err error, code errs.Code) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("got %v (%s), want %s", err, errs.CodeOf(err), code)
	}
}

const (
	logStep  = "    - {id: log, action: debug:log, input: {message: 'token ${{ secrets.token }}'}}\n"
	waitStep = "    - {id: wait, action: debug:wait, input: {seconds: 30}}\n"
)

// Run runs the whole contract against the stores newStore makes.
func Run(t *testing.T, newStore Factory) {
	t.Run("StoresTasks", func(t *testing.T) { testStoresTasks(t, newStore) })
	t.Run("ListsTasks", func(t *testing.T) { testListsTasks(t, newStore) })
	t.Run("Events", func(t *testing.T) { testEvents(t, newStore) })
	t.Run("ClaimsOnce", func(t *testing.T) { testClaimsOnce(t, newStore) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, newStore) })
	t.Run("Retry", func(t *testing.T) { testRetry(t, newStore) })
	t.Run("Stale", func(t *testing.T) { testStale(t, newStore) })
	t.Run("Worker", func(t *testing.T) { testWorker(t, newStore) })
}

func testStoresTasks(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ctx := context.Background()
	sp := spec(t, logStep, "  EXPERIMENTAL_recovery:\n    EXPERIMENTAL_strategy: startOver\n")
	id, err := e.store.CreateTask(ctx, sp, map[string]string{"token": "s3cret-token"}, "user:default/jane")
	if err != nil {
		t.Fatal(err)
	}
	task := e.get(id)
	if task.ID != id || task.Status != scaffolder.StatusOpen || task.CreatedBy != "user:default/jane" || !task.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("stored task %+v", task)
	}
	want, _ := json.Marshal(sp)
	got, _ := json.Marshal(task.Spec)
	if string(got) != string(want) {
		t.Fatalf("spec came back as\n%s\nwant\n%s", got, want)
	}
	if task.Spec.Recovery.Strategy != scaffolder.RecoveryStartOver {
		t.Fatalf("recovery %+v", task.Spec.Recovery)
	}
	if task.Secrets["token"] != "s3cret-token" {
		t.Fatalf("secrets %v", task.Secrets)
	}
	_, err = e.store.GetTask(ctx, "00000000-0000-0000-0000-000000000000")
	requireCode(t, err, errs.NotFound)

	noSecrets, err := e.store.CreateTask(ctx, sp, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := e.get(noSecrets).Secrets; len(s) != 0 {
		t.Fatalf("secrets %v", s)
	}
}

func testListsTasks(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ctx := context.Background()
	var ids []string
	for i, who := range []string{"user:default/jane", "user:default/bob", "user:default/jane"} {
		id, err := e.store.CreateTask(ctx, spec(t, logStep, ""), nil, who)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if i == 1 {
			if _, err := e.store.ClaimTask(ctx, "r1"); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.Advance(time.Second)
	}
	list := func(f scaffolder.TaskFilter) ([]string, int) {
		t.Helper()
		tasks, total, err := e.store.ListTasks(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, task := range tasks {
			out = append(out, task.ID)
			if task.Secrets != nil {
				t.Fatal("ListTasks returned secrets")
			}
		}
		return out, total
	}
	check := func(name string, f scaffolder.TaskFilter, want []string, wantTotal int) {
		t.Helper()
		got, total := list(f)
		if !slices.Equal(got, want) || total != wantTotal {
			t.Fatalf("%s: got %v (total %d), want %v (total %d)", name, got, total, want, wantTotal)
		}
	}
	check("all, oldest first", scaffolder.TaskFilter{}, ids, 3)
	check("newest first", scaffolder.TaskFilter{Order: "desc:created_at"}, []string{ids[2], ids[1], ids[0]}, 3)
	check("by creator", scaffolder.TaskFilter{CreatedBy: []string{"user:default/jane"}}, []string{ids[0], ids[2]}, 2)
	check("by status", scaffolder.TaskFilter{Status: []scaffolder.TaskStatus{scaffolder.StatusProcessing}}, []string{ids[0]}, 1)
	check("by statuses", scaffolder.TaskFilter{Status: []scaffolder.TaskStatus{scaffolder.StatusOpen, scaffolder.StatusCompleted}}, []string{ids[1], ids[2]}, 2)
	check("a page", scaffolder.TaskFilter{Limit: 1, Offset: 1}, []string{ids[1]}, 3)
	check("past the end", scaffolder.TaskFilter{Offset: 5}, nil, 3)
}

func testEvents(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ctx := context.Background()
	a, b := e.task(logStep, ""), e.task(logStep, "")
	_, err := e.store.AppendEvent(ctx, "no-such-task", scaffolder.Event{Type: scaffolder.EventLog})
	requireCode(t, err, errs.NotFound)
	_, err = e.store.ListEvents(ctx, "no-such-task", 0)
	requireCode(t, err, errs.NotFound)

	var last int64
	for i := range 3 {
		for _, id := range []string{a, b} {
			se, err := e.store.AppendEvent(ctx, id, scaffolder.Event{Type: scaffolder.EventLog,
				Body: scaffolder.EventBody{Message: fmt.Sprintf("line %d", i), StepID: "s", Status: scaffolder.StatusProcessing}, CreatedAt: e.clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if se.ID <= last || se.TaskID != id {
				t.Fatalf("event id %d after %d, task %q", se.ID, last, se.TaskID)
			}
			last = se.ID
		}
	}
	out := nunjucks.ObjectOf("b", "x", "a", []any{1.0, true})
	done := scaffolder.RunResult{Status: scaffolder.StatusCompleted, Output: out}.CompletionEvent(e.clock.Now())
	completion, err := e.store.AppendEvent(ctx, a, done)
	if err != nil {
		t.Fatal(err)
	}
	all := e.events(a, 0)
	if len(all) != 4 || all[0].Body.Message != "line 0" || all[0].Body.StepID != "s" || all[0].Body.Status != scaffolder.StatusProcessing ||
		!all[0].CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("events %+v", all)
	}
	if got, _ := json.Marshal(all[3].Body); string(got) != `{"message":"Run completed with status: completed","output":{"b":"x","a":[1,true]}}` {
		t.Fatalf("completion body %s", got)
	}
	after := e.events(a, all[1].ID)
	if len(after) != 2 || after[0].ID != all[2].ID {
		t.Fatalf("after %d: %+v", all[1].ID, after)
	}
	if tail := e.events(a, completion.ID); len(tail) != 1 || tail[0].Type != scaffolder.EventCompletion {
		t.Fatalf("the completion event is always listed: %+v", tail)
	}
	if other := e.events(b, 0); len(other) != 3 {
		t.Fatalf("task b has %d events", len(other))
	}
}

func testClaimsOnce(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ctx := context.Background()
	_, err := e.store.ClaimTask(ctx, "r0")
	requireCode(t, err, errs.NotFound)
	first := e.task(logStep, "")
	e.clock.Advance(time.Second)
	second := e.task(logStep, "")
	got, err := e.store.ClaimTask(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first || got.Status != scaffolder.StatusProcessing || got.Secrets["token"] != "s3cret-token" || got.ClaimedBy != "r1" {
		t.Fatalf("claimed %+v", got)
	}
	task := e.get(first)
	if task.Status != scaffolder.StatusProcessing || !task.LastHeartbeatAt.Equal(e.clock.Now()) || task.ClaimedBy != "r1" {
		t.Fatalf("claimed task %+v", task)
	}
	e.clock.Advance(time.Second)
	if cancel, err := e.store.Heartbeat(ctx, first, "r1"); err != nil || cancel {
		t.Fatalf("heartbeat: %v %v", cancel, err)
	}
	if hb := e.get(first).LastHeartbeatAt; !hb.Equal(e.clock.Now()) {
		t.Fatalf("heartbeat at %v, want %v", hb, e.clock.Now())
	}
	_, err = e.store.Heartbeat(ctx, first, "someone-else")
	requireCode(t, err, errs.Conflict)
	_, err = e.store.Heartbeat(ctx, second, "r1")
	requireCode(t, err, errs.Conflict)

	// Many claimers at once get each task once.
	const n = 20
	var ids []string
	for range n {
		ids = append(ids, e.task(logStep, ""))
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				task, err := e.store.ClaimTask(ctx, fmt.Sprintf("w%d", w))
				if errs.Is(err, errs.NotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				claimed[task.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if claimed[second] != 1 {
		t.Fatalf("the second task was claimed %d times", claimed[second])
	}
	for _, id := range ids {
		if claimed[id] != 1 {
			t.Fatalf("task %s claimed %d times", id, claimed[id])
		}
	}
}

func testCancel(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ctx := context.Background()
	requireCode(t, e.store.RequestCancel(ctx, "no-such-task"), errs.NotFound)

	t.Run("OpenTaskEndsAtOnce", func(t *testing.T) {
		id := e.task(logStep, "")
		if err := e.store.RequestCancel(ctx, id); err != nil {
			t.Fatal(err)
		}
		task := e.get(id)
		if task.Status != scaffolder.StatusCancelled || len(task.Secrets) != 0 {
			t.Fatalf("task %+v", task)
		}
		evs := e.events(id, 0)
		if len(evs) != 2 || evs[0].Type != scaffolder.EventCancelled || evs[1].Type != scaffolder.EventCompletion ||
			evs[1].Body.Message != "Run completed with status: cancelled" {
			t.Fatalf("events %+v", evs)
		}
		requireCode(t, e.store.RequestCancel(ctx, id), errs.Conflict)
		if task, err := e.store.ClaimTask(ctx, "r"); err == nil {
			t.Fatalf("claimed a cancelled task %s", task.ID)
		}
	})

	t.Run("ProcessingTaskIsAskedToStop", func(t *testing.T) {
		id := e.task(logStep, "")
		if _, err := e.store.ClaimTask(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if err := e.store.RequestCancel(ctx, id); err != nil {
			t.Fatal(err)
		}
		if task := e.get(id); task.Status != scaffolder.StatusProcessing {
			t.Fatalf("status %s: the runner ends a running task", task.Status)
		}
		if cancel, err := e.store.Heartbeat(ctx, id, "r1"); err != nil || !cancel {
			t.Fatalf("heartbeat: %v %v", cancel, err)
		}
		if err := e.store.CompleteTask(ctx, id, scaffolder.StatusCancelled, end(e, scaffolder.StatusCancelled)); err != nil {
			t.Fatal(err)
		}
		task := e.get(id)
		if task.Status != scaffolder.StatusCancelled || len(task.Secrets) != 0 {
			t.Fatalf("task %+v", task)
		}
		if msgs := e.messages(id); !strings.HasSuffix(msgs, "cancelled: Run cancelled\ncompletion: Run completed with status: cancelled") {
			t.Fatalf("CompleteTask wrote no completion event:\n%s", msgs)
		}
		requireCode(t, e.store.RequestCancel(ctx, id), errs.Conflict)
		requireCode(t, e.store.CompleteTask(ctx, id, scaffolder.StatusProcessing, end(e, scaffolder.StatusProcessing)), errs.Invalid)
	})
}

func testRetry(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ctx := context.Background()
	requireCode(t, e.store.RetryTask(ctx, "no-such-task", nil), errs.NotFound)
	id := e.task(logStep, "")
	requireCode(t, e.store.RetryTask(ctx, id, nil), errs.Conflict)
	if _, err := e.store.ClaimTask(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CompleteTask(ctx, id, scaffolder.StatusFailed, end(e, scaffolder.StatusFailed)); err != nil {
		t.Fatal(err)
	}
	if err := e.store.RetryTask(ctx, id, map[string]string{"token": "new-token"}); err != nil {
		t.Fatal(err)
	}
	task := e.get(id)
	if task.Status != scaffolder.StatusOpen || task.Secrets["token"] != "new-token" {
		t.Fatalf("retried task %+v", task)
	}
	if msgs := e.messages(id); !strings.HasSuffix(msgs, "recovered: Task was recovered and will start over") {
		t.Fatalf("events:\n%s", msgs)
	}
	claimed, err := e.store.ClaimTask(ctx, "r2")
	if err != nil || claimed.ID != id {
		t.Fatalf("claim after retry: %v %v", claimed, err)
	}
	if err := e.store.CompleteTask(ctx, id, scaffolder.StatusCompleted, end(e, scaffolder.StatusCompleted)); err != nil {
		t.Fatal(err)
	}
	requireCode(t, e.store.RetryTask(ctx, id, nil), errs.Conflict)
}

func testStale(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ctx := context.Background()
	id := e.task(logStep, "")
	e.clock.Advance(time.Second)
	fresh := e.task(logStep, "")
	if _, err := e.store.ClaimTask(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := e.store.ClaimTask(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	stale, err := e.store.StaleTasks(ctx, e.clock.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 1 || stale[0].ID != id || stale[0].Secrets["token"] != "s3cret-token" {
		t.Fatalf("stale %+v", stale)
	}
	again, err := e.store.StaleTasks(ctx, e.clock.Now().Add(-time.Minute))
	if err != nil || len(again) != 0 {
		t.Fatalf("a stale task was handed out twice: %+v %v", again, err)
	}
	// The sweep restarts it: the runner that lost it must stop when it next beats.
	if err := e.store.RetryTask(ctx, id, stale[0].Secrets); err != nil {
		t.Fatal(err)
	}
	_, err = e.store.Heartbeat(ctx, id, "r1")
	requireCode(t, err, errs.Conflict)
	if task := e.get(id); task.Status != scaffolder.StatusOpen || task.Secrets["token"] != "s3cret-token" {
		t.Fatalf("restarted task %+v", task)
	}
	if task := e.get(fresh); task.Status != scaffolder.StatusProcessing {
		t.Fatalf("fresh task %+v", task)
	}
}

func testWorker(t *testing.T, f Factory) {
	t.Run("Completes", func(t *testing.T) {
		e := newEnv(t, f)
		w := e.worker("w1")
		id := e.task(logStep, "")
		ran, err := w.RunOnce(context.Background())
		if err != nil || !ran {
			t.Fatalf("ran %v err %v", ran, err)
		}
		task := e.get(id)
		if task.Status != scaffolder.StatusCompleted || len(task.Secrets) != 0 {
			t.Fatalf("status %s, secrets kept: %v", task.Status, task.Secrets)
		}
		evs := e.events(id, 0)
		last := evs[len(evs)-1]
		if out, _ := json.Marshal(last.Body.Output); last.Type != scaffolder.EventCompletion || string(out) != `{"said":"hello"}` {
			t.Fatalf("completion %+v output %s", last, out)
		}
		all := e.messages(id)
		if !strings.HasSuffix(all, "completion: Run completed with status: completed") || !strings.Contains(all, "\nlog: ***\n") {
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
		e := newEnv(t, f)
		w := e.worker("w1")
		id := e.task(waitStep+"    - {id: after, action: debug:log}\n", "")
		done := make(chan struct{})
		go func() { _, _ = w.RunOnce(context.Background()); close(done) }()
		e.waitStatus(id, scaffolder.StatusProcessing)
		time.Sleep(30 * time.Millisecond)
		if err := e.store.RequestCancel(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the cancelled task kept running")
		}
		e.waitStatus(id, scaffolder.StatusCancelled)
		all := e.messages(id)
		if !strings.Contains(all, "cancelled: Run cancelled") || !strings.HasSuffix(all, "completion: Run completed with status: cancelled") || strings.Contains(all, "Beginning step debug:log") {
			t.Fatalf("events:\n%s", all)
		}
	})

	t.Run("KilledRunnerFailsAfterTheHeartbeatTimeout", func(t *testing.T) {
		e := newEnv(t, f)
		w := e.worker("w1")
		id := e.task(waitStep, "")
		// The runner "dies": its context ends mid-step and it never completes the task.
		ctx, kill := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _, _ = w.RunOnce(ctx); close(done) }()
		e.waitStatus(id, scaffolder.StatusProcessing)
		kill()
		<-done
		if task := e.get(id); task.Status != scaffolder.StatusProcessing {
			t.Fatalf("status %s right after the runner died", task.Status)
		}
		if n, _ := w.SweepStale(context.Background()); n != 0 {
			t.Fatal("a task with a fresh heartbeat was swept")
		}
		e.clock.Advance(2 * time.Minute)
		if n, err := w.SweepStale(context.Background()); n != 1 || err != nil {
			t.Fatalf("swept %d, err %v", n, err)
		}
		task := e.get(id)
		if task.Status != scaffolder.StatusFailed || len(task.Secrets) != 0 {
			t.Fatalf("task %+v", task)
		}
		if all := e.messages(id); !strings.Contains(all, scaffolder.StaleMessage) || !strings.HasSuffix(all, "status: failed") {
			t.Fatalf("events:\n%s", all)
		}
	})

	t.Run("KilledRunnerStartsOverWhenTheTemplateAsks", func(t *testing.T) {
		e := newEnv(t, f)
		w := e.worker("w1")
		id := e.task(logStep, "  EXPERIMENTAL_recovery:\n    EXPERIMENTAL_strategy: startOver\n")
		if _, err := e.store.ClaimTask(context.Background(), "dead-runner"); err != nil { // a runner took it, then died
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		if n, err := w.SweepStale(context.Background()); n != 1 || err != nil {
			t.Fatalf("swept %d, err %v", n, err)
		}
		e.waitStatus(id, scaffolder.StatusOpen)
		if ran, err := w.RunOnce(context.Background()); !ran || err != nil {
			t.Fatalf("ran %v err %v", ran, err)
		}
		e.waitStatus(id, scaffolder.StatusCompleted)
		all := e.messages(id)
		if !strings.Contains(all, "recovered: Task was recovered") || !strings.Contains(all, "\nlog: ***\n") {
			t.Fatalf("the secrets did not survive the restart; events:\n%s", all)
		}
	})

	t.Run("ReplicasRunEachTaskOnce", func(t *testing.T) {
		e := newEnv(t, f)
		var ids []string
		for range 12 {
			ids = append(ids, e.task("    - {id: log, action: debug:log, input: {message: x}}\n", ""))
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var runs atomic.Int32
		for i := range 3 {
			w := e.worker(fmt.Sprintf("w%d", i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					ran, err := w.RunOnce(ctx)
					if err != nil && ctx.Err() == nil {
						t.Error(err)
					}
					if ran {
						runs.Add(1)
					} else {
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}
		for _, id := range ids {
			e.waitStatus(id, scaffolder.StatusCompleted)
		}
		cancel()
		wg.Wait()
		if runs.Load() != 12 {
			t.Fatalf("%d runs for 12 tasks", runs.Load())
		}
		for _, id := range ids {
			if n := strings.Count(e.messages(id), "Starting up task"); n != 1 {
				t.Fatalf("task %s started %d times", id, n)
			}
		}
	})
}
