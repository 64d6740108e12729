// Package store implements every domain's storage port with ent, on SQLite (the embedded default)
// and PostgreSQL (for several replicas). ent types and driver errors stop here: callers see domain
// types and errs codes.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"entgo.io/ent/dialect"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the pure-Go "sqlite" driver: no cgo, one static binary

	"github.com/billpay/portal/ent"
	"github.com/billpay/portal/ent/catalogversion"
	"github.com/billpay/portal/internal/errs"
)

// Store is Portal's database.
type Store struct {
	client  *ent.Client
	db      *sql.DB
	dialect string
	now     func() time.Time
	// OmitLegacyRelationTarget drops relations' legacy "target" objects from stitched entities.
	OmitLegacyRelationTarget bool
	// stopCheckpoints ends SQLite's checkpoint loop and waits for it.
	stopCheckpoints func()
	// follower is told what each processing commit stitched (FollowCommits).
	follower atomic.Pointer[CommitFollower]
}

// Open connects to the database that databaseURL names: "" opens SQLite at dataDir/portal.db;
// postgres:// or postgresql:// opens PostgreSQL; sqlite:// or file: names an SQLite file.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	drv, dsn, dia, err := driverFor(databaseURL, dataDir)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(drv, dsn)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "cannot open database: %v", err)
	}
	if dia == dialect.Postgres {
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
	} else {
		// SQLite allows one writer; every transaction is BEGIN IMMEDIATE, so a few connections suffice.
		db.SetMaxOpenConns(4)
	}
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, errs.Wrap(errs.Unavailable, err, "cannot reach database: %v", err)
	}
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dia, db)))
	// UTC: SQLite compares times as text, which local offsets break around clock changes.
	s := &Store{client: client, db: db, dialect: dia, now: func() time.Time { return time.Now().UTC() }, stopCheckpoints: func() {}}
	if dia == dialect.SQLite {
		loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); s.checkpointLoop(loopCtx, checkpointEvery) }()
		s.stopCheckpoints = func() { cancel(); <-done }
	}
	return s, nil
}

// checkpointEvery is how often SQLite's write-ahead log is copied back into the database file.
const checkpointEvery = time.Second

// checkpointLoop copies committed pages from SQLite's write-ahead log into the database file. A passive
// checkpoint never blocks readers or writers, so a large commit returns as soon as its log is written and the
// copy happens here; without it the log would grow without bound.
func (s *Store) checkpointLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Errors (a busy database, say) are left to the next tick: a checkpoint is housekeeping, and the log
		// stays readable and durable until it runs.
		_, _ = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

func driverFor(databaseURL, dataDir string) (driver, dsn, dia string, err error) {
	switch {
	case databaseURL == "":
		if dataDir == "" {
			dataDir = "data"
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return "", "", "", errs.Wrap(errs.Invalid, err, "cannot create data directory %s: %v", dataDir, err)
		}
		return "sqlite", sqliteDSN(filepath.Join(dataDir, "portal.db")), dialect.SQLite, nil
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return "pgx", databaseURL, dialect.Postgres, nil
	case strings.HasPrefix(databaseURL, "sqlite://"):
		return "sqlite", sqliteDSN(strings.TrimPrefix(databaseURL, "sqlite://")), dialect.SQLite, nil
	case strings.HasPrefix(databaseURL, "file:"):
		return "sqlite", sqliteDSN(strings.TrimPrefix(databaseURL, "file:")), dialect.SQLite, nil
	}
	return "", "", "", errs.E(errs.Invalid, "database.url %q: expected postgres://, postgresql://, sqlite:// or file:", redactURL(databaseURL))
}

func sqliteDSN(path string) string {
	q := url.Values{}
	// wal_autocheckpoint(0): the Store checkpoints in the background (checkpointLoop) rather than in the
	// commit that crosses the threshold, which made a large ingest wait for the copy of its whole WAL.
	for _, p := range []string{"foreign_keys(1)", "journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	// Immediate transactions take the write lock up front: a deferred transaction that reads and then
	// writes can fail with SQLITE_BUSY instead of waiting.
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// redactURL hides a password so that errors and logs never carry it.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// Migrate brings the schema up to date. It is idempotent and safe to run from several replicas.
func (s *Store) Migrate(ctx context.Context) error {
	if s.dialect == dialect.Postgres {
		// Replicas starting together would race to create the same tables and types.
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return errs.Wrap(errs.Unavailable, err, "database unreachable: %v", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext('portal-migrate'))"); err != nil {
			return errs.Wrap(errs.Unavailable, err, "cannot lock for migration: %v", err)
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext('portal-migrate'))")
		}()
	}
	if err := s.client.Schema.Create(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "database migration failed: %v", err)
	}
	// The version counter's single row must exist before the first stitch takes its lock.
	err := s.client.CatalogVersion.Create().SetID(1).OnConflictColumns(catalogversion.FieldID).DoNothing().Exec(ctx)
	if err != nil && !isNoRows(err) {
		return errs.Wrap(errs.Unavailable, err, "cannot initialise catalog version: %v", err)
	}
	return nil
}

// Ready reports whether the database answers and is migrated.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "database unreachable: %v", err)
	}
	n, err := s.client.CatalogVersion.Query().Count(ctx)
	if err != nil || n == 0 {
		return errs.E(errs.Unavailable, "database not migrated")
	}
	return nil
}

// Dialect returns "sqlite3" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Close releases the database. SQLite checkpoints what is left in its log as the last connection closes.
func (s *Store) Close() error {
	s.stopCheckpoints()
	return s.client.Close()
}

// withTx runs fn in a transaction, rolling back on error or panic.
func (s *Store) withTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	return inTx(func() (*ent.Tx, error) { return s.client.Tx(ctx) }, fn)
}

// inTx is the one transaction discipline of the store, for ent's transactions and database/sql's:
// begin, run fn, roll back on an error or a panic, commit otherwise.
func inTx[T interface {
	Commit() error
	Rollback() error
}](begin func() (T, error), fn func(T) error) error {
	tx, err := begin()
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "cannot begin transaction: %v", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return errs.Wrap(errs.Unavailable, err, "commit failed: %v", err)
	}
	return nil
}

// dbErr maps a driver error to an errs code.
func dbErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if ent.IsNotFound(err) {
		return errs.Wrap(errs.NotFound, err, format, args...)
	}
	if ent.IsConstraintError(err) {
		return errs.Wrap(errs.Conflict, err, format, args...)
	}
	// The driver's text stays in Err for logs; callers see only what failed.
	return errs.Wrap(errs.Internal, err, "database error: %s", fmt.Sprintf(format, args...))
}

// isNoRows tells an ON CONFLICT DO NOTHING that skipped its row, which ent reports as an error.
func isNoRows(err error) bool {
	return err != nil && (errors.Is(err, sql.ErrNoRows) || strings.Contains(err.Error(), "no rows in result set"))
}
