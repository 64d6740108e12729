package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/scaffolderevent"
	"github.com/billpay/portal/ent/scaffoldertask"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
)

// TaskStore is the scaffolder's task store in the database, shared by every replica. A task's
// secrets are sealed with AES-256-GCM under a key kept in the settings table (created by the first
// replica that needs it), bound to the task's id, and deleted when the task ends.
type TaskStore struct {
	s    *Store
	aead cipher.AEAD
	// Now is the clock; nil means the store's (UTC wall time).
	Now func() time.Time
}

var _ scaffolder.TaskStore = (*TaskStore)(nil)

// secretsKeySetting names the settings row holding the key that seals task secrets.
const secretsKeySetting = "scaffolder.secrets-key"

// ScaffolderTasks returns the task store, creating the secrets key on first use.
func (s *Store) ScaffolderTasks(ctx context.Context) (*TaskStore, error) {
	encoded, err := s.Setting(ctx, secretsKeySetting, func() (string, error) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", errs.Wrap(errs.Internal, err, "cannot create the scaffolder secrets key")
		}
		return base64.StdEncoding.EncodeToString(key), nil
	})
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) != 32 {
		return nil, errs.E(errs.Internal, "setting %s is not a base64 256-bit key", secretsKeySetting)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot use the scaffolder secrets key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot use the scaffolder secrets key")
	}
	return &TaskStore{s: s, aead: aead}, nil
}

func (ts *TaskStore) now() time.Time {
	if ts.Now != nil {
		return ts.Now().UTC()
	}
	return ts.s.now()
}

// seal encrypts secrets for the task id; nil or empty secrets store nothing.
func (ts *TaskStore) seal(id string, secrets map[string]string) (*string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot encode secrets")
	}
	nonce := make([]byte, ts.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot seal secrets")
	}
	out := base64.StdEncoding.EncodeToString(ts.aead.Seal(nonce, nonce, plain, []byte(id)))
	return &out, nil
}

func (ts *TaskStore) open(id string, sealed *string) (map[string]string, error) {
	if sealed == nil || *sealed == "" {
		return nil, nil
	}
	raw, err := base64.StdEncoding.DecodeString(*sealed)
	n := ts.aead.NonceSize()
	if err != nil || len(raw) < n {
		return nil, errs.E(errs.Internal, "the secrets of task %s are corrupt", id)
	}
	plain, err := ts.aead.Open(nil, raw[:n], raw[n:], []byte(id))
	if err != nil {
		// The error says nothing about the contents; it is safe to keep.
		return nil, errs.Wrap(errs.Internal, err, "the secrets of task %s cannot be opened (was the secrets key replaced?)", id)
	}
	var out map[string]string
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, errs.E(errs.Internal, "the secrets of task %s are corrupt", id)
	}
	return out, nil
}

// fromDBTask maps a row to a task; secrets are opened only when withSecrets is set.
func (ts *TaskStore) fromDBTask(r *ent.ScaffolderTask, withSecrets bool) (*scaffolder.Task, error) {
	t := &scaffolder.Task{ID: r.ID, Status: scaffolder.TaskStatus(r.Status), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), ClaimedBy: r.ClaimedBy}
	if r.LastHeartbeatAt != nil {
		t.LastHeartbeatAt = r.LastHeartbeatAt.UTC()
	}
	if err := json.Unmarshal([]byte(r.Spec), &t.Spec); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the stored spec of task %s is corrupt", r.ID)
	}
	if withSecrets {
		var err error
		if t.Secrets, err = ts.open(r.ID, r.Secrets); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// CreateTask implements scaffolder.TaskStore.
func (ts *TaskStore) CreateTask(ctx context.Context, spec scaffolder.TaskSpec, secrets map[string]string, createdBy string) (string, error) {
	id := uuid.NewString()
	data, err := json.Marshal(spec)
	if err != nil {
		return "", errs.Wrap(errs.Invalid, err, "task spec cannot be stored: %v", err)
	}
	sealed, err := ts.seal(id, secrets)
	if err != nil {
		return "", err
	}
	err = ts.s.client.ScaffolderTask.Create().SetID(id).SetSpec(string(data)).SetStatus(string(scaffolder.StatusOpen)).
		SetCreatedBy(createdBy).SetCreatedAt(ts.now()).SetNillableSecrets(sealed).Exec(ctx)
	if err != nil {
		return "", dbErr(err, "create task")
	}
	return id, nil
}

// GetTask implements scaffolder.TaskStore.
func (ts *TaskStore) GetTask(ctx context.Context, id string) (*scaffolder.Task, error) {
	r, err := ts.s.client.ScaffolderTask.Get(ctx, id)
	if err != nil {
		return nil, dbErr(err, "Task with id %s does not exist", id)
	}
	return ts.fromDBTask(r, true)
}

// taskOrderFields are the columns GET /v2/tasks may order by.
var taskOrderFields = map[string]string{
	"created_at": scaffoldertask.FieldCreatedAt, "createdAt": scaffoldertask.FieldCreatedAt,
	"status": scaffoldertask.FieldStatus, "created_by": scaffoldertask.FieldCreatedBy, "createdBy": scaffoldertask.FieldCreatedBy,
	"last_heartbeat_at": scaffoldertask.FieldLastHeartbeatAt, "lastHeartbeatAt": scaffoldertask.FieldLastHeartbeatAt,
	"id": scaffoldertask.FieldID,
}

// ListTasks implements scaffolder.TaskStore. Tasks come oldest first unless f.Order says otherwise;
// secrets are never read.
func (ts *TaskStore) ListTasks(ctx context.Context, f scaffolder.TaskFilter) ([]scaffolder.Task, int, error) {
	q := ts.s.client.ScaffolderTask.Query()
	if len(f.CreatedBy) > 0 {
		q = q.Where(scaffoldertask.CreatedByIn(f.CreatedBy...))
	}
	if len(f.Status) > 0 {
		st := make([]string, len(f.Status))
		for i, s := range f.Status {
			st[i] = string(s)
		}
		q = q.Where(scaffoldertask.StatusIn(st...))
	}
	total, err := q.Clone().Count(ctx)
	if err != nil {
		return nil, 0, dbErr(err, "count tasks")
	}
	field, desc := scaffoldertask.FieldCreatedAt, false
	if f.Order != "" {
		dir, name, ok := strings.Cut(f.Order, ":")
		col, known := taskOrderFields[name]
		if !ok || (dir != "asc" && dir != "desc") || !known {
			return nil, 0, errs.E(errs.Invalid, "order %q must be asc:<field> or desc:<field> with field one of created_at, status, created_by, last_heartbeat_at, id", f.Order)
		}
		field, desc = col, dir == "desc"
	}
	if desc {
		q = q.Order(ent.Desc(field), ent.Desc(scaffoldertask.FieldID))
	} else {
		q = q.Order(ent.Asc(field), ent.Asc(scaffoldertask.FieldID))
	}
	if f.Offset > 0 {
		q = q.Offset(f.Offset)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	} else if f.Offset > 0 {
		q = q.Limit(1 << 30)
	}
	rows, err := q.Select(scaffoldertask.FieldID, scaffoldertask.FieldSpec, scaffoldertask.FieldStatus, scaffoldertask.FieldCreatedBy,
		scaffoldertask.FieldCreatedAt, scaffoldertask.FieldClaimedBy, scaffoldertask.FieldLastHeartbeatAt).All(ctx)
	if err != nil {
		return nil, 0, dbErr(err, "list tasks")
	}
	out := make([]scaffolder.Task, 0, len(rows))
	for _, r := range rows {
		t, err := ts.fromDBTask(r, false)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *t)
	}
	return out, total, nil
}

// locked adds FOR UPDATE (SKIP LOCKED when skip is set) on PostgreSQL; SQLite transactions take the
// database's write lock up front (BEGIN IMMEDIATE), which serialises them anyway.
func (ts *TaskStore) locked(q *ent.ScaffolderTaskQuery, skip bool) *ent.ScaffolderTaskQuery {
	if ts.s.dialect != dialect.Postgres {
		return q
	}
	if skip {
		return q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
	}
	return q.ForUpdate()
}

// ClaimTask implements scaffolder.TaskStore. Replicas claiming together skip each other's locked
// row, so each open task goes to one of them.
func (ts *TaskStore) ClaimTask(ctx context.Context, runner string) (*scaffolder.Task, error) {
	var claimed *scaffolder.Task
	err := ts.s.withTx(ctx, func(tx *ent.Tx) error {
		q := tx.ScaffolderTask.Query().Where(scaffoldertask.StatusEQ(string(scaffolder.StatusOpen))).
			Order(ent.Asc(scaffoldertask.FieldCreatedAt), ent.Asc(scaffoldertask.FieldID)).Limit(1)
		rows, err := ts.locked(q, true).All(ctx)
		if err != nil {
			return dbErr(err, "claim a task")
		}
		if len(rows) == 0 {
			return errs.E(errs.NotFound, "no open task")
		}
		now := ts.now()
		r := rows[0]
		n, err := tx.ScaffolderTask.Update().Where(scaffoldertask.IDEQ(r.ID), scaffoldertask.StatusEQ(string(scaffolder.StatusOpen))).
			SetStatus(string(scaffolder.StatusProcessing)).SetClaimedBy(runner).SetLastHeartbeatAt(now).SetCancelRequested(false).Save(ctx)
		if err != nil {
			return dbErr(err, "claim task %s", r.ID)
		}
		if n != 1 {
			return errs.E(errs.NotFound, "no open task")
		}
		r.Status, r.ClaimedBy, r.LastHeartbeatAt = string(scaffolder.StatusProcessing), runner, &now
		claimed, err = ts.fromDBTask(r, true)
		return err
	})
	return claimed, err
}

// Heartbeat implements scaffolder.TaskStore.
func (ts *TaskStore) Heartbeat(ctx context.Context, id, runner string) (bool, error) {
	n, err := ts.s.client.ScaffolderTask.Update().
		Where(scaffoldertask.IDEQ(id), scaffoldertask.StatusEQ(string(scaffolder.StatusProcessing)), scaffoldertask.ClaimedByEQ(runner)).
		SetLastHeartbeatAt(ts.now()).Save(ctx)
	if err != nil {
		return false, dbErr(err, "heartbeat of task %s", id)
	}
	r, err := ts.s.client.ScaffolderTask.Query().Where(scaffoldertask.IDEQ(id)).
		Select(scaffoldertask.FieldCancelRequested, scaffoldertask.FieldStatus).Only(ctx)
	if err != nil {
		return false, dbErr(err, "Task with id %s does not exist", id)
	}
	if n == 0 {
		return false, errs.E(errs.Conflict, "task %s is no longer run by %s (it is %s)", id, runner, r.Status)
	}
	return r.CancelRequested, nil
}

func (ts *TaskStore) requireTask(ctx context.Context, client *ent.ScaffolderTaskClient, id string) error {
	ok, err := client.Query().Where(scaffoldertask.IDEQ(id)).Exist(ctx)
	if err != nil {
		return dbErr(err, "find task %s", id)
	}
	if !ok {
		return errs.E(errs.NotFound, "Task with id %s does not exist", id)
	}
	return nil
}

func (ts *TaskStore) insertEvent(ctx context.Context, client *ent.ScaffolderEventClient, id string, e scaffolder.Event) (scaffolder.StoredEvent, error) {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = ts.now()
	}
	e.CreatedAt = e.CreatedAt.UTC()
	body, err := json.Marshal(e.Body)
	if err != nil {
		return scaffolder.StoredEvent{}, errs.Wrap(errs.Invalid, err, "event cannot be stored: %v", err)
	}
	r, err := client.Create().SetTaskID(id).SetType(string(e.Type)).SetBody(string(body)).SetCreatedAt(e.CreatedAt).Save(ctx)
	if err != nil {
		return scaffolder.StoredEvent{}, dbErr(err, "append an event to task %s", id)
	}
	return scaffolder.StoredEvent{ID: int64(r.ID), TaskID: id, Event: e}, nil
}

// AppendEvent implements scaffolder.TaskStore.
func (ts *TaskStore) AppendEvent(ctx context.Context, id string, e scaffolder.Event) (scaffolder.StoredEvent, error) {
	if err := ts.requireTask(ctx, ts.s.client.ScaffolderTask, id); err != nil {
		return scaffolder.StoredEvent{}, err
	}
	return ts.insertEvent(ctx, ts.s.client.ScaffolderEvent, id, e)
}

// ListEvents implements scaffolder.TaskStore.
func (ts *TaskStore) ListEvents(ctx context.Context, id string, after int64) ([]scaffolder.StoredEvent, error) {
	if err := ts.requireTask(ctx, ts.s.client.ScaffolderTask, id); err != nil {
		return nil, err
	}
	rows, err := ts.s.client.ScaffolderEvent.Query().
		Where(scaffolderevent.TaskIDEQ(id), scaffolderevent.Or(scaffolderevent.IDGT(int(after)), scaffolderevent.TypeEQ(string(scaffolder.EventCompletion)))).
		Order(ent.Asc(scaffolderevent.FieldID)).All(ctx)
	if err != nil {
		return nil, dbErr(err, "list the events of task %s", id)
	}
	out := make([]scaffolder.StoredEvent, 0, len(rows))
	for _, r := range rows {
		e := scaffolder.StoredEvent{ID: int64(r.ID), TaskID: r.TaskID, Event: scaffolder.Event{Type: scaffolder.EventType(r.Type), CreatedAt: r.CreatedAt.UTC()}}
		if err := json.Unmarshal([]byte(r.Body), &e.Body); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "event %d of task %s is corrupt", r.ID, id)
		}
		out = append(out, e)
	}
	return out, nil
}

// CompleteTask implements scaffolder.TaskStore: the status and the completion event are written in
// one transaction.
func (ts *TaskStore) CompleteTask(ctx context.Context, id string, status scaffolder.TaskStatus, completion scaffolder.Event) error {
	if !status.Done() {
		return errs.E(errs.Invalid, "status %q is not final", status)
	}
	return ts.s.withTx(ctx, func(tx *ent.Tx) error {
		n, err := tx.ScaffolderTask.Update().Where(scaffoldertask.IDEQ(id)).SetStatus(string(status)).ClearSecrets().
			SetCancelRequested(false).SetClaimedBy("").SetFinishedAt(ts.now()).Save(ctx)
		if err != nil {
			return dbErr(err, "complete task %s", id)
		}
		if n == 0 {
			return errs.E(errs.NotFound, "Task with id %s does not exist", id)
		}
		_, err = ts.insertEvent(ctx, tx.ScaffolderEvent, id, completion)
		return err
	})
}

func (ts *TaskStore) lockTask(ctx context.Context, tx *ent.Tx, id string) (*ent.ScaffolderTask, error) {
	rows, err := ts.locked(tx.ScaffolderTask.Query().Where(scaffoldertask.IDEQ(id)), false).All(ctx)
	if err != nil {
		return nil, dbErr(err, "find task %s", id)
	}
	if len(rows) == 0 {
		return nil, errs.E(errs.NotFound, "Task with id %s does not exist", id)
	}
	return rows[0], nil
}

// RequestCancel implements scaffolder.TaskStore.
func (ts *TaskStore) RequestCancel(ctx context.Context, id string) error {
	return ts.s.withTx(ctx, func(tx *ent.Tx) error {
		r, err := ts.lockTask(ctx, tx, id)
		if err != nil {
			return err
		}
		status := scaffolder.TaskStatus(r.Status)
		if status.Done() {
			return errs.E(errs.Conflict, "task %s has already %s", id, status)
		}
		now := ts.now()
		upd := tx.ScaffolderTask.UpdateOneID(id).SetCancelRequested(true)
		if status == scaffolder.StatusOpen {
			upd = upd.SetStatus(string(scaffolder.StatusCancelled)).ClearSecrets().SetFinishedAt(now)
		}
		if err := upd.Exec(ctx); err != nil {
			return dbErr(err, "cancel task %s", id)
		}
		if _, err := ts.insertEvent(ctx, tx.ScaffolderEvent, id, scaffolder.CancelledEvent(now)); err != nil {
			return err
		}
		if status == scaffolder.StatusOpen {
			_, err = ts.insertEvent(ctx, tx.ScaffolderEvent, id, scaffolder.CancelledBeforeStart(now))
		}
		return err
	})
}

// RetryTask implements scaffolder.TaskStore.
func (ts *TaskStore) RetryTask(ctx context.Context, id string, secrets map[string]string) error {
	return ts.s.withTx(ctx, func(tx *ent.Tx) error {
		r, err := ts.lockTask(ctx, tx, id)
		if err != nil {
			return err
		}
		status := scaffolder.TaskStatus(r.Status)
		if status == scaffolder.StatusOpen || status == scaffolder.StatusCompleted {
			return errs.E(errs.Conflict, "task %s is %s and cannot be retried", id, status)
		}
		upd := tx.ScaffolderTask.UpdateOneID(id).SetStatus(string(scaffolder.StatusOpen)).SetCancelRequested(false).
			SetClaimedBy("").ClearFinishedAt()
		if secrets != nil {
			sealed, err := ts.seal(id, secrets)
			if err != nil {
				return err
			}
			if sealed == nil {
				upd = upd.ClearSecrets()
			} else {
				upd = upd.SetSecrets(*sealed)
			}
		}
		if err := upd.Exec(ctx); err != nil {
			return dbErr(err, "retry task %s", id)
		}
		_, err = ts.insertEvent(ctx, tx.ScaffolderEvent, id, scaffolder.RecoveredEvent(ts.now()))
		return err
	})
}

// StaleTasks implements scaffolder.TaskStore. The rows are locked with SKIP LOCKED on PostgreSQL and
// their heartbeat moved to now in the same transaction, so two sweeps never take the same task.
func (ts *TaskStore) StaleTasks(ctx context.Context, before time.Time) ([]scaffolder.Task, error) {
	var out []scaffolder.Task
	err := ts.s.withTx(ctx, func(tx *ent.Tx) error {
		q := tx.ScaffolderTask.Query().Where(scaffoldertask.StatusEQ(string(scaffolder.StatusProcessing)),
			scaffoldertask.Or(scaffoldertask.LastHeartbeatAtIsNil(), scaffoldertask.LastHeartbeatAtLT(before.UTC()))).
			Order(ent.Asc(scaffoldertask.FieldCreatedAt)).Limit(100)
		rows, err := ts.locked(q, true).All(ctx)
		if err != nil {
			return dbErr(err, "find stale tasks")
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			t, err := ts.fromDBTask(r, true)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		if err := tx.ScaffolderTask.Update().Where(scaffoldertask.IDIn(ids...)).SetLastHeartbeatAt(ts.now()).Exec(ctx); err != nil {
			return dbErr(err, "take stale tasks")
		}
		return nil
	})
	return out, err
}

// PurgeTasks deletes tasks that ended before finishedBefore, with their events, and reports how many
// went: the retention of scaffolder.taskRetention.
func (ts *TaskStore) PurgeTasks(ctx context.Context, finishedBefore time.Time) (int, error) {
	var n int
	err := ts.s.withTx(ctx, func(tx *ent.Tx) error {
		ids, err := tx.ScaffolderTask.Query().Where(scaffoldertask.FinishedAtLT(finishedBefore.UTC()),
			scaffoldertask.StatusIn(string(scaffolder.StatusCompleted), string(scaffolder.StatusFailed), string(scaffolder.StatusCancelled))).
			Limit(1000).IDs(ctx)
		if err != nil || len(ids) == 0 {
			return dbErr(err, "find old tasks")
		}
		if _, err := tx.ScaffolderEvent.Delete().Where(scaffolderevent.TaskIDIn(ids...)).Exec(ctx); err != nil {
			return dbErr(err, "delete old task events")
		}
		if n, err = tx.ScaffolderTask.Delete().Where(scaffoldertask.IDIn(ids...)).Exec(ctx); err != nil {
			return dbErr(err, "delete old tasks")
		}
		return nil
	})
	return n, err
}
