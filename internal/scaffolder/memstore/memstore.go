// Package memstore is an in-memory scaffolder.TaskStore, for tests, dry-run tooling and a single
// Portal process without a database. It follows the contract the database store must meet, so the
// Worker's tests here describe that contract too.
package memstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// Store keeps tasks and events in memory. It is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	tasks  map[string]*task
	order  []string
	events []scaffolder.StoredEvent
	nextID int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

type task struct {
	scaffolder.Task
	cancelRequested bool
	output          *nunjucks.Object
}

var _ scaffolder.TaskStore = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{tasks: map[string]*task{}} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// CreateTask implements scaffolder.TaskStore.
func (s *Store) CreateTask(_ context.Context, spec scaffolder.TaskSpec, secrets map[string]string, createdBy string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newID()
	now := s.now()
	s.tasks[id] = &task{Task: scaffolder.Task{ID: id, Spec: spec, Status: scaffolder.StatusOpen, Secrets: maps.Clone(secrets), CreatedBy: createdBy, CreatedAt: now}}
	s.order = append(s.order, id)
	return id, nil
}

func (s *Store) get(id string) (*task, error) {
	t, ok := s.tasks[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "task %q not found", id)
	}
	return t, nil
}

// GetTask implements scaffolder.TaskStore.
func (s *Store) GetTask(_ context.Context, id string) (*scaffolder.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.get(id)
	if err != nil {
		return nil, err
	}
	c := t.Task
	return &c, nil
}

// Output returns a finished task's output.
func (s *Store) Output(id string) *nunjucks.Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tasks[id]; ok {
		return t.output
	}
	return nil
}

// ListTasks implements scaffolder.TaskStore.
func (s *Store) ListTasks(_ context.Context, f scaffolder.TaskFilter) ([]scaffolder.Task, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []scaffolder.Task
	for _, id := range s.order {
		t := s.tasks[id]
		if len(f.CreatedBy) > 0 && !slices.Contains(f.CreatedBy, t.CreatedBy) {
			continue
		}
		if len(f.Status) > 0 && !slices.Contains(f.Status, t.Status) {
			continue
		}
		out = append(out, t.Task)
	}
	if strings.HasPrefix(f.Order, "desc:") {
		sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	}
	total := len(out)
	if f.Offset > 0 {
		out = out[min(f.Offset, len(out)):]
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, total, nil
}

// ClaimTask implements scaffolder.TaskStore.
func (s *Store) ClaimTask(_ context.Context, runner string) (*scaffolder.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		t := s.tasks[id]
		if t.Status == scaffolder.StatusOpen {
			t.Status = scaffolder.StatusProcessing
			t.LastHeartbeatAt = s.now()
			t.ClaimedBy = runner
			c := t.Task
			return &c, nil
		}
	}
	return nil, errs.E(errs.NotFound, "no open task")
}

// Heartbeat implements scaffolder.TaskStore.
func (s *Store) Heartbeat(_ context.Context, id, runner string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.get(id)
	if err != nil {
		return false, err
	}
	if t.Status != scaffolder.StatusProcessing || t.ClaimedBy != runner {
		return false, errs.E(errs.Conflict, "task %q is no longer run by %s", id, runner)
	}
	t.LastHeartbeatAt = s.now()
	return t.cancelRequested, nil
}

// AppendEvent implements scaffolder.TaskStore.
func (s *Store) AppendEvent(_ context.Context, id string, e scaffolder.Event) (scaffolder.StoredEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(id); err != nil {
		return scaffolder.StoredEvent{}, err
	}
	s.nextID++
	se := scaffolder.StoredEvent{ID: s.nextID, TaskID: id, Event: e}
	s.events = append(s.events, se)
	return se, nil
}

// ListEvents implements scaffolder.TaskStore.
func (s *Store) ListEvents(_ context.Context, id string, after int64) ([]scaffolder.StoredEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(id); err != nil {
		return nil, err
	}
	var out []scaffolder.StoredEvent
	for _, e := range s.events {
		if e.TaskID == id && (e.ID > after || e.Type == scaffolder.EventCompletion) {
			out = append(out, e)
		}
	}
	return out, nil
}

// CompleteTask implements scaffolder.TaskStore.
func (s *Store) CompleteTask(_ context.Context, id string, status scaffolder.TaskStatus, completion scaffolder.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.get(id)
	if err != nil {
		return err
	}
	if !status.Done() {
		return errs.E(errs.Invalid, "status %q is not final", status)
	}
	t.Status, t.output, t.Secrets, t.ClaimedBy = status, completion.Body.Output, nil, ""
	s.nextID++
	s.events = append(s.events, scaffolder.StoredEvent{ID: s.nextID, TaskID: id, Event: completion})
	return nil
}

// RequestCancel implements scaffolder.TaskStore.
func (s *Store) RequestCancel(ctx context.Context, id string) error {
	s.mu.Lock()
	t, err := s.get(id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if t.Status.Done() {
		s.mu.Unlock()
		return errs.E(errs.Conflict, "task %q has already %s", id, t.Status)
	}
	t.cancelRequested = true
	open := t.Status == scaffolder.StatusOpen
	if open {
		// Nobody runs it yet: it ends here.
		t.Status, t.Secrets = scaffolder.StatusCancelled, nil
	}
	s.mu.Unlock()
	if _, err := s.AppendEvent(ctx, id, scaffolder.CancelledEvent(s.now())); err != nil {
		return err
	}
	if open {
		_, err = s.AppendEvent(ctx, id, scaffolder.CancelledBeforeStart(s.now()))
	}
	return err
}

// RetryTask implements scaffolder.TaskStore.
func (s *Store) RetryTask(ctx context.Context, id string, secrets map[string]string) error {
	s.mu.Lock()
	t, err := s.get(id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if t.Status == scaffolder.StatusOpen || t.Status == scaffolder.StatusCompleted {
		s.mu.Unlock()
		return errs.E(errs.Conflict, "task %q is %s and cannot be retried", id, t.Status)
	}
	t.Status, t.cancelRequested, t.output, t.ClaimedBy = scaffolder.StatusOpen, false, nil, ""
	if secrets != nil {
		t.Secrets = maps.Clone(secrets)
	}
	s.mu.Unlock()
	_, err = s.AppendEvent(ctx, id, scaffolder.RecoveredEvent(s.now()))
	return err
}

// StaleTasks implements scaffolder.TaskStore.
func (s *Store) StaleTasks(_ context.Context, before time.Time) ([]scaffolder.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []scaffolder.Task
	for _, id := range s.order {
		t := s.tasks[id]
		if t.Status == scaffolder.StatusProcessing && t.LastHeartbeatAt.Before(before) {
			t.LastHeartbeatAt = s.now()
			c := t.Task
			c.Secrets = maps.Clone(t.Secrets)
			out = append(out, c)
		}
	}
	return out, nil
}
