package scaffolder

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/billpay/portal/internal/errs"
)

// StaleMessage is the log line of a task failed because its runner stopped sending heartbeats.
const StaleMessage = "This task was marked as stale as it exceeded its timeout"

// Worker claims open tasks from a TaskStore and runs them, one at a time per worker. Run several
// workers (in one process or across replicas) against one store to run tasks in parallel; the
// store's ClaimTask makes sure each task runs once.
type Worker struct {
	Store  TaskStore
	Runner *Runner
	// ID names the worker in the tasks it claims ("<host>/<n>"); each claim adds a random suffix.
	ID string
	// PollInterval is how long Run waits after finding no open task; default 1 s.
	PollInterval time.Duration
	// HeartbeatInterval is how often a running task's heartbeat is recorded, which is also how
	// quickly a cancel request takes effect; default 5 s.
	HeartbeatInterval time.Duration
	// StaleAfter is how long a processing task may go without a heartbeat before SweepStale fails or
	// restarts it; default 2 minutes.
	StaleAfter time.Duration
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run claims and runs tasks until ctx ends, sweeping stale tasks every StaleAfter/2.
func (w *Worker) Run(ctx context.Context) error {
	poll := w.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	sweepEvery := w.staleAfter() / 2
	lastSweep := time.Time{}
	for {
		if w.now().Sub(lastSweep) >= sweepEvery {
			if _, err := w.SweepStale(ctx); err != nil && ctx.Err() == nil {
				w.logger().Error("scaffolder: sweeping stale tasks failed", "err", err)
			}
			lastSweep = w.now()
		}
		ran, err := w.RunOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.logger().Error("scaffolder: task failed to run", "err", err)
		}
		if ran {
			continue
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (w *Worker) staleAfter() time.Duration {
	if w.StaleAfter > 0 {
		return w.StaleAfter
	}
	return 2 * time.Minute
}

// RunOnce claims one open task and runs it to its end. ran is false when no task was open. The
// error reports a store failure; a task that fails is not an error here, it is a failed task.
func (w *Worker) RunOnce(ctx context.Context) (ran bool, err error) {
	runner := w.ID + "#" + randomID()[:8]
	task, err := w.Store.ClaimTask(ctx, runner)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	taskCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.heartbeat(taskCtx, task.ID, runner, cancel)
	}()
	sink := EventSinkFunc(func(ctx context.Context, e Event) error {
		_, err := w.Store.AppendEvent(ctx, task.ID, e)
		return err
	})
	res := w.Runner.Run(taskCtx, RunRequest{TaskID: task.ID, CreatedBy: task.CreatedBy, Spec: task.Spec, Secrets: task.Secrets, Sink: sink})
	cancel(nil)
	wg.Wait()
	if errors.Is(context.Cause(taskCtx), errTaskLost) {
		// The stale sweep gave the task to someone else (this runner missed its heartbeats): it is
		// no longer ours to complete.
		w.logger().Warn("scaffolder: task taken away from a runner that missed its heartbeats", "task", task.ID, "runner", runner)
		return true, nil
	}
	if ctx.Err() != nil && res.Status == StatusCancelled {
		// The worker itself is stopping (shutdown), not the user: leave the task to the stale sweep,
		// which fails or restarts it, rather than report a cancel nobody asked for.
		return true, nil
	}
	return true, w.Store.CompleteTask(context.WithoutCancel(ctx), task.ID, res.Status, res.CompletionEvent(w.now()))
}

func (w *Worker) heartbeat(ctx context.Context, id, runner string, cancel context.CancelCauseFunc) {
	every := w.HeartbeatInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cancelRequested, err := w.Store.Heartbeat(ctx, id, runner)
		if errs.Is(err, errs.Conflict) {
			cancel(errTaskLost)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				w.logger().Error("scaffolder: heartbeat failed", "task", id, "err", err)
			}
			continue
		}
		if cancelRequested {
			cancel(errCancelRequested)
			return
		}
	}
}

var (
	errCancelRequested = errors.New("cancel requested")
	errTaskLost        = errors.New("task taken over after missed heartbeats")
)

// SweepStale handles tasks whose runner died: each processing task without a heartbeat for
// StaleAfter is failed with StaleMessage, or reopened when its spec asks for the startOver recovery.
// It returns how many tasks it handled.
func (w *Worker) SweepStale(ctx context.Context) (int, error) {
	stale, err := w.Store.StaleTasks(ctx, w.now().Add(-w.staleAfter()))
	if err != nil {
		return 0, err
	}
	for _, t := range stale {
		if t.Spec.Recovery.Strategy == RecoveryStartOver {
			if err := w.Store.RetryTask(ctx, t.ID, t.Secrets); err != nil {
				return 0, err
			}
			continue
		}
		if _, err := w.Store.AppendEvent(ctx, t.ID, Event{Type: EventLog, Body: EventBody{Message: StaleMessage, Status: StatusFailed}, CreatedAt: w.now()}); err != nil {
			return 0, err
		}
		res := RunResult{Status: StatusFailed, Err: errs.E(errs.Unavailable, StaleMessage)}
		if err := w.Store.CompleteTask(ctx, t.ID, StatusFailed, res.CompletionEvent(w.now())); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}
