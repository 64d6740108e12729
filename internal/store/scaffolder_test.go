package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/taskstoretest"
	"github.com/billpay/portal/internal/store"
)

func TestScaffolderTaskStore(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			taskstoretest.Run(t, func(t *testing.T, now func() time.Time) scaffolder.TaskStore {
				ts, err := open(t).ScaffolderTasks(context.Background())
				require.NoError(t, err)
				ts.Now = now
				return ts
			})

			t.Run("SecretsAreSealedAtRestAndDroppedAtTheEnd", func(t *testing.T) {
				dir := t.TempDir()
				var st *store.Store
				if name == "sqlite" {
					st = MustOpen(t, "", dir)
				} else {
					st = open(t)
				}
				ctx := context.Background()
				ts, err := st.ScaffolderTasks(ctx)
				require.NoError(t, err)
				spec := scaffolder.TaskSpec{APIVersion: scaffolder.TemplateAPIVersion}
				id, err := ts.CreateTask(ctx, spec, map[string]string{"token": "ghp_plaintextsecret"}, "user:default/jane")
				require.NoError(t, err)

				raw := rawSecrets(t, st, id)
				require.NotEmpty(t, raw)
				require.NotContains(t, raw, "ghp_plaintextsecret")

				// A second handle (another replica) shares the key.
				other, err := st.ScaffolderTasks(ctx)
				require.NoError(t, err)
				task, err := other.GetTask(ctx, id)
				require.NoError(t, err)
				require.Equal(t, "ghp_plaintextsecret", task.Secrets["token"])

				require.NoError(t, ts.CompleteTask(ctx, id, scaffolder.StatusFailed, scaffolder.RunResult{Status: scaffolder.StatusFailed}.CompletionEvent(time.Now())))
				require.Empty(t, rawSecrets(t, st, id))
			})

			t.Run("PurgesOldTasks", func(t *testing.T) {
				ctx := context.Background()
				ts, err := open(t).ScaffolderTasks(ctx)
				require.NoError(t, err)
				clock := taskstoretest.NewClock()
				ts.Now = clock.Now
				old, err := ts.CreateTask(ctx, scaffolder.TaskSpec{APIVersion: scaffolder.TemplateAPIVersion}, nil, "")
				require.NoError(t, err)
				running, err := ts.CreateTask(ctx, scaffolder.TaskSpec{APIVersion: scaffolder.TemplateAPIVersion}, nil, "")
				require.NoError(t, err)
				_, err = ts.AppendEvent(ctx, old, scaffolder.Event{Type: scaffolder.EventLog})
				require.NoError(t, err)
				require.NoError(t, ts.CompleteTask(ctx, old, scaffolder.StatusCompleted, scaffolder.RunResult{Status: scaffolder.StatusCompleted}.CompletionEvent(clock.Now())))
				clock.Advance(48 * time.Hour)
				n, err := ts.PurgeTasks(ctx, clock.Now().Add(-24*time.Hour))
				require.NoError(t, err)
				require.Equal(t, 1, n)
				_, err = ts.GetTask(ctx, old)
				require.Error(t, err)
				_, err = ts.GetTask(ctx, running)
				require.NoError(t, err)
			})
		})
	}
}

// rawSecrets reads the secrets column as stored, with database/sql.
func rawSecrets(t *testing.T, st *store.Store, id string) string {
	t.Helper()
	var v sql.NullString
	q := "SELECT secrets FROM scaffolder_tasks WHERE id = ?"
	if st.Dialect() == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	require.NoError(t, st.DB().QueryRowContext(context.Background(), q, id).Scan(&v))
	return v.String
}
