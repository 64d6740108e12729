package store_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/store"
	"github.com/billpay/portal/internal/store/storetest"
)

// The upgrade test loads a database as an earlier release left it — testdata/schema-v1.<engine>.sql,
// the schema and the seed rows captured from that release — runs today's migrations over it, and
// checks that nothing was lost and that the change is one a rolling update survives: the previous
// release keeps running against the migrated schema until its last replica is replaced, so every
// table and column it knew must still be there, and every new column must be nullable or have a
// default (old replicas insert rows without it).
//
// At a release, capture the snapshot again so the next release is checked against it:
//
//	go test ./internal/store -run TestUpgrade -update-snapshot   (PostgreSQL too: needs pg_dump and PORTAL_TEST_DATABASE_URL)
var updateSnapshot = flag.Bool("update-snapshot", false, "capture testdata/schema-v1.*.sql from the current schema and seed rows")

const snapshotVersion = "v1"

func TestUpgrade(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join("testdata", "schema-"+snapshotVersion+".sqlite.sql")
		if *updateSnapshot {
			captureSQLite(t, path)
		}
		dir := t.TempDir()
		db := MustOpenRaw(t, "sqlite", "file:"+filepath.Join(dir, "portal.db")+"?_pragma=foreign_keys(1)")
		MustExecScript(t, db, MustRead(t, path))
		before := dumpTables(t, db, "sqlite")
		st, err := store.Open(context.Background(), "", dir)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		checkUpgrade(t, db, "sqlite", st, before)
	})
	t.Run("postgres", func(t *testing.T) {
		base := storetest.PostgresURL(t)
		path := filepath.Join("testdata", "schema-"+snapshotVersion+".postgres.sql")
		if *updateSnapshot {
			capturePostgres(t, base, path)
		}
		url := storetest.PostgresSchema(t, base)
		db := MustOpenRaw(t, "pgx", url)
		MustExecScript(t, db, MustRead(t, path))
		before := dumpTables(t, db, "postgres")

		// Replicas of the new release start together: each migrates, one at a time under the lock.
		stores := make([]*store.Store, 3)
		for i := range stores {
			st, err := store.Open(context.Background(), url, "")
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			stores[i] = st
		}
		var wg sync.WaitGroup
		errs := make([]error, len(stores))
		for i, st := range stores {
			wg.Go(func() { errs[i] = migrateAll(context.Background(), st) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		checkUpgrade(t, db, "postgres", stores[0], before)
	})
}

// migrateAll runs every migration `portal serve` runs at start.
func migrateAll(ctx context.Context, st *store.Store) error {
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	return st.MigrateSearch(ctx)
}

func checkUpgrade(t *testing.T, db *sql.DB, engine string, st *store.Store, before map[string]table) {
	ctx := context.Background()
	require.NoError(t, migrateAll(ctx, st))
	require.NoError(t, migrateAll(ctx, st), "migrations are idempotent")
	require.NoError(t, st.Ready(ctx))
	require.NotEmpty(t, before["final_entities"].rows, "the snapshot holds seed rows")

	after := dumpTables(t, db, engine)
	for name, old := range before {
		t.Run("table "+name, func(t *testing.T) {
			cur, ok := after[name]
			require.True(t, ok, "table %s was dropped: the previous release still uses it", name)
			for _, col := range old.columns {
				c, ok := cur.column(col.name)
				require.True(t, ok, "column %s.%s was dropped or renamed: the previous release still uses it", name, col.name)
				require.Equal(t, col.typ, c.typ, "column %s.%s changed type", name, col.name)
			}
			for _, c := range cur.columns {
				if _, old := old.column(c.name); !old {
					require.True(t, c.nullable || c.hasDefault,
						"new column %s.%s is NOT NULL without a default: inserts from the previous release would fail", name, c.name)
				}
			}
			// Every row the previous release wrote is still there, unchanged.
			require.Equal(t, old.rows, projectRows(t, db, name, old), "rows of %s", name)
		})
	}

	// Today's code reads what the previous release wrote.
	h := newHarness(t, st)
	require.NoError(t, h.svc.Sync(ctx))
	for _, ref := range []string{"component:default/upgrade-service", "api:default/upgrade-api", "group:default/upgrade-team", "system:default/upgrade-system"} {
		e := h.entity(ref)
		require.NotNil(t, e, "%s after the upgrade", ref)
	}
	svc := h.entity("component:default/upgrade-service")
	require.Equal(t, "group:default/upgrade-team", svc["spec"].(map[string]any)["owner"])
	versions, err := st.EnvironmentVersions(ctx)
	require.NoError(t, err)
	require.Contains(t, versions, "production")
	v, err := st.Setting(ctx, "upgrade-test", func() (string, error) { return "new", nil })
	require.NoError(t, err)
	require.Equal(t, "kept", v, "a setting written by the previous release")
}

const seedCatalog = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: upgrade-service
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: group:default/upgrade-team
  system: upgrade-system
  providesApis: [upgrade-api]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: upgrade-api
spec:
  type: openapi
  lifecycle: production
  owner: group:default/upgrade-team
  definition: "openapi: 3.1.0"
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: upgrade-system
spec:
  owner: group:default/upgrade-team
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: upgrade-team
spec:
  type: team
  children: []
  members: [upgrade-user]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: upgrade-user
spec:
  memberOf: [upgrade-team]
`

// seed writes what a running portal writes: a catalog location and its entities, relations and
// search rows; flag environments; a setting.
func seed(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	h := newHarness(t, st)
	h.configLocation(h.write("catalog-info.yaml", seedCatalog))
	h.drain()
	require.NotNil(t, h.entity("component:default/upgrade-service"))
	require.NoError(t, st.EnsureEnvironments(ctx, []string{"dev", "staging", "production"}))
	_, err := st.Setting(ctx, "upgrade-test", func() (string, error) { return "kept", nil })
	require.NoError(t, err)
}

// captureSQLite migrates a fresh SQLite database with today's code, seeds it and writes it out
// as SQL.
func captureSQLite(t *testing.T, path string) {
	dir := t.TempDir()
	st := MustOpen(t, "", dir)
	seed(t, st)
	require.NoError(t, st.Close())
	db := MustOpenRaw(t, "sqlite", "file:"+filepath.Join(dir, "portal.db"))
	var b strings.Builder
	b.WriteString(snapshotHeader("SQLite"))
	rows, err := db.Query(`SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
		ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, name`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var typ, name, ddl string
		require.NoError(t, rows.Scan(&typ, &name, &ddl))
		b.WriteString(ddl + ";\n")
		if typ == "table" {
			tables = append(tables, name)
		}
	}
	require.NoError(t, rows.Err())
	tables = append(tables, "sqlite_sequence")
	for _, name := range tables {
		cols, data := selectAll(t, db, name, "rowid")
		for _, r := range data {
			fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES (%s);\n", name, strings.Join(cols, ", "), strings.Join(r, ", "))
		}
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
}

// capturePostgres does the same with pg_dump, into a script that loads into whatever schema the
// connection's search_path names.
func capturePostgres(t *testing.T, base, path string) {
	url := storetest.PostgresSchema(t, base)
	st := MustOpen(t, url, "")
	seed(t, st)
	schema := regexp.MustCompile(`search_path=([a-z0-9_]+)`).FindStringSubmatch(url)[1]
	out, err := exec.Command("pg_dump", "--dbname", strings.Split(base, "?")[0], "--schema", schema, "--inserts",
		"--no-owner", "--no-privileges", "--no-comments", "--no-tablespaces").Output()
	require.NoError(t, err, "pg_dump")
	var b strings.Builder
	b.WriteString(snapshotHeader("PostgreSQL"))
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, `\`), strings.HasPrefix(line, "--"), strings.HasPrefix(line, "CREATE SCHEMA"),
			strings.Contains(line, "set_config('search_path'"), strings.HasPrefix(line, "SET "):
			continue
		}
		line = strings.ReplaceAll(line, schema+".", "")
		if strings.TrimSpace(line) == "" && strings.HasSuffix(b.String(), "\n\n") {
			continue
		}
		b.WriteString(line + "\n")
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
}

func snapshotHeader(engine string) string {
	return fmt.Sprintf("-- Portal's %s schema and seed rows as release %s left them; see internal/store/upgrade_test.go.\n"+
		"-- Captured %s by `go test ./internal/store -run TestUpgrade -update-snapshot`. Do not edit.\n",
		engine, snapshotVersion, time.Now().UTC().Format("2006-01-02"))
}

type column struct {
	name       string
	typ        string
	nullable   bool
	hasDefault bool
}

type table struct {
	columns []column
	rows    [][]string
}

func (t table) column(name string) (column, bool) {
	for _, c := range t.columns {
		if c.name == name {
			return c, true
		}
	}
	return column{}, false
}

// dumpTables reads every table's columns and rows (ordered, values as SQL literals).
func dumpTables(t *testing.T, db *sql.DB, engine string) map[string]table {
	t.Helper()
	out := map[string]table{}
	var names []string
	if engine == "sqlite" {
		names = queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
			AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE 'search_fts_%'`)
	} else {
		names = queryStrings(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	}
	for _, name := range names {
		var tb table
		if engine == "sqlite" {
			rows, err := db.Query(fmt.Sprintf(`SELECT name, type, "notnull", dflt_value IS NOT NULL, pk FROM pragma_table_info('%s')`, name))
			require.NoError(t, err)
			for rows.Next() {
				var c column
				var notNull, pk int
				require.NoError(t, rows.Scan(&c.name, &c.typ, &notNull, &c.hasDefault, &pk))
				c.typ = strings.ToLower(c.typ)
				// An INTEGER PRIMARY KEY is the rowid: it always has a value.
				c.nullable = notNull == 0 || pk > 0
				tb.columns = append(tb.columns, c)
			}
			require.NoError(t, rows.Err())
		} else {
			rows, err := db.Query(`SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL OR is_identity = 'YES' OR is_generated = 'ALWAYS'
				FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, name)
			require.NoError(t, err)
			for rows.Next() {
				var c column
				require.NoError(t, rows.Scan(&c.name, &c.typ, &c.nullable, &c.hasDefault))
				tb.columns = append(tb.columns, c)
			}
			require.NoError(t, rows.Err())
		}
		tb.rows = projectRows(t, db, name, tb)
		out[name] = tb
	}
	return out
}

// projectRows selects the given table's columns, in a stable order.
func projectRows(t *testing.T, db *sql.DB, name string, tb table) [][]string {
	t.Helper()
	var cols []string
	for _, c := range tb.columns {
		if c.typ == "tsvector" {
			continue
		}
		cols = append(cols, `"`+c.name+`"`)
	}
	rows, err := db.Query(fmt.Sprintf(`SELECT %s FROM "%s"`, strings.Join(cols, ", "), name))
	require.NoError(t, err)
	out := scanLiterals(t, rows)
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], "\x00") < strings.Join(out[j], "\x00") })
	return out
}

func selectAll(t *testing.T, db *sql.DB, name, order string) ([]string, [][]string) {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf(`SELECT * FROM "%s" ORDER BY %s`, name, order))
	require.NoError(t, err)
	cols, err := rows.Columns()
	require.NoError(t, err)
	for i, c := range cols {
		cols[i] = `"` + c + `"`
	}
	return cols, scanLiterals(t, rows)
}

// scanLiterals reads rows as SQL literals that both engines accept.
func scanLiterals(t *testing.T, rows *sql.Rows) [][]string {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = literal(v)
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

func literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int64, int32, int, float64, float32:
		return fmt.Sprint(v)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case []byte:
		return fmt.Sprintf("X'%x'", v)
	case time.Time:
		return "'" + v.UTC().Format("2006-01-02 15:04:05.999999999-07:00") + "'"
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", "''") + "'"
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	sort.Strings(out)
	return out
}

// MustOpenRaw opens a database/sql handle without the store, closed when the test ends.
func MustOpenRaw(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// MustExecScript runs a SQL script in one transaction.
func MustExecScript(t *testing.T, db *sql.DB, script string) {
	t.Helper()
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec(script)
	if err != nil {
		_ = tx.Rollback()
		t.Fatalf("loading the snapshot: %v", err)
	}
	require.NoError(t, tx.Commit())
}

func MustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err, "no snapshot: go test ./internal/store -run TestUpgrade -update-snapshot")
	return string(data)
}
