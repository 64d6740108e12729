package scaffolder

import (
	"context"
	"time"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// TaskStatus is a task's state, and in log events a step's.
type TaskStatus string

// Task and step statuses, as Backstage names them.
const (
	StatusOpen       TaskStatus = "open"
	StatusProcessing TaskStatus = "processing"
	StatusCompleted  TaskStatus = "completed"
	StatusFailed     TaskStatus = "failed"
	StatusCancelled  TaskStatus = "cancelled"
	// StatusSkipped appears only on steps.
	StatusSkipped TaskStatus = "skipped"
)

// Done reports whether the status is final.
func (s TaskStatus) Done() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCancelled
}

// EventType is the type of a task event.
type EventType string

// Event types, as Backstage's SerializedTaskEvent has them.
const (
	EventLog        EventType = "log"
	EventCompletion EventType = "completion"
	EventCancelled  EventType = "cancelled"
	EventRecovered  EventType = "recovered"
)

// Event is one entry of a task's event stream. The store gives it its id.
type Event struct {
	Type      EventType `json:"type"`
	Body      EventBody `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
}

// EventBody is an event's body: log lines carry Message (and StepID and Status for step transitions);
// the completion event carries the task's Output or Error.
type EventBody struct {
	Message string           `json:"message"`
	StepID  string           `json:"stepId,omitempty"`
	Status  TaskStatus       `json:"status,omitempty"`
	Output  *nunjucks.Object `json:"output,omitempty"`
	Error   *EventError      `json:"error,omitempty"`
}

// EventError is a failed task's error in its completion event.
type EventError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// EventSink receives a task's events in order as the runner produces them. A task store persists
// them (and streams them to /v2/tasks/:id/eventstream); a dry run collects them. An error from Emit
// stops the task: a run whose log cannot be kept is not run.
type EventSink interface {
	Emit(ctx context.Context, e Event) error
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(ctx context.Context, e Event) error

// Emit calls f.
func (f EventSinkFunc) Emit(ctx context.Context, e Event) error { return f(ctx, e) }

// Task is a stored task.
type Task struct {
	ID     string
	Spec   TaskSpec
	Status TaskStatus
	// Secrets are kept only while the task may run, never returned by the API.
	Secrets         map[string]string
	CreatedBy       string
	CreatedAt       time.Time
	LastHeartbeatAt time.Time
	// ClaimedBy names the runner holding a processing task.
	ClaimedBy string
}

// TaskFilter selects tasks for GET /v2/tasks.
type TaskFilter struct {
	CreatedBy []string
	Status    []TaskStatus
	Limit     int
	Offset    int
	// Order is Backstage's "asc:<field>" or "desc:<field>", e.g. "desc:created_at".
	Order string
}

// StoredEvent is an event with the id the store gave it (monotonic across the store).
type StoredEvent struct {
	ID     int64
	TaskID string
	Event
}

// TaskStore is the storage port of the scaffolder: the database adapter implements it, the HTTP
// layer and the Worker use it. Several Portal replicas share one store; ClaimTask must hand each
// open task to exactly one of them (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL).
// internal/scaffolder/taskstoretest holds the contract as a test suite every implementation runs.
type TaskStore interface {
	// CreateTask stores an open task and returns its id.
	CreateTask(ctx context.Context, spec TaskSpec, secrets map[string]string, createdBy string) (string, error)
	// GetTask returns a task; errs.NotFound when there is none with that id.
	GetTask(ctx context.Context, id string) (*Task, error)
	// ListTasks returns the tasks matching f and how many match in all.
	ListTasks(ctx context.Context, f TaskFilter) ([]Task, int, error)
	// ClaimTask marks the oldest open task processing, records runner (unique to this claim) as its
	// holder and returns it with its secrets; errs.NotFound when none is open.
	ClaimTask(ctx context.Context, runner string) (*Task, error)
	// Heartbeat records that runner, which claimed a processing task, is alive, and reports whether a
	// cancel was requested for it. errs.Conflict says the task is no longer runner's (the stale
	// sweep took it away): the runner must stop and leave the task alone.
	Heartbeat(ctx context.Context, id, runner string) (cancelRequested bool, err error)
	// AppendEvent adds an event to a task's stream.
	AppendEvent(ctx context.Context, id string, e Event) (StoredEvent, error)
	// ListEvents returns the events of a task with ids above after, and its completion event if any.
	ListEvents(ctx context.Context, id string, after int64) ([]StoredEvent, error)
	// CompleteTask ends a task: it sets the final status, drops the secrets and appends the
	// completion event, at once, so that nobody sees the task ended without its completion event or
	// the other way round. errs.Invalid when status is not final.
	CompleteTask(ctx context.Context, id string, status TaskStatus, completion Event) error
	// RequestCancel asks the task's runner to stop and writes a cancelled event; errs.Conflict when
	// the task already finished. An open task nobody runs yet ends at once: it is cancelled and its
	// completion event written.
	RequestCancel(ctx context.Context, id string) error
	// RetryTask reopens a failed, cancelled or (for the stale sweep) processing task, with new
	// secrets when secrets is not nil, and writes a recovered event; errs.Conflict for an open or
	// completed task.
	RetryTask(ctx context.Context, id string, secrets map[string]string) error
	// StaleTasks returns processing tasks whose last heartbeat is older than before, with their
	// secrets, and takes them: their heartbeat is set to now, so a sweep running at the same time on
	// another replica does not get them too.
	StaleTasks(ctx context.Context, before time.Time) ([]Task, error)
}

// CancelledEvent is the event a store writes when a cancel is requested.
func CancelledEvent(now time.Time) Event {
	return Event{Type: EventCancelled, Body: EventBody{Message: "Run cancelled"}, CreatedAt: now}
}

// CancelledBeforeStart is the completion event of a task cancelled before a runner claimed it.
func CancelledBeforeStart(now time.Time) Event {
	return RunResult{Status: StatusCancelled, Err: errs.E(errs.Conflict, "The task was cancelled before it started")}.CompletionEvent(now)
}

// RecoveredEvent is the event a store writes when it reopens a task.
func RecoveredEvent(now time.Time) Event {
	return Event{Type: EventRecovered, Body: EventBody{Message: "Task was recovered and will start over"}, CreatedAt: now}
}
