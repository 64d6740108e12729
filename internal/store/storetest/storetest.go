// Package storetest gives tests a database of their own: a fresh PostgreSQL schema on the server
// that PORTAL_TEST_DATABASE_URL names, dropped when the test ends.
package storetest

import (
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// EnvDatabaseURL names the PostgreSQL server tests use. CI sets it; there a missing value fails
// the test instead of skipping, so the suite never silently runs on SQLite alone.
const EnvDatabaseURL = "PORTAL_TEST_DATABASE_URL"

// PostgresURL returns the configured server's URL, skipping the test (failing it in CI) when none is.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run PostgreSQL tests: set %s", EnvDatabaseURL)
		}
		t.Skipf("%s not set", EnvDatabaseURL)
	}
	return base
}

// PostgresSchema creates a fresh schema on base so that concurrent test runs never collide, drops
// it when the test ends, and returns a URL whose connections use it.
func PostgresSchema(t testing.TB, base string) string {
	t.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvDatabaseURL, err)
	}
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
