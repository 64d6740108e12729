package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSQLiteCheckpointsInTheBackground: commits leave their pages in the write-ahead log (no commit pays for a
// checkpoint), and the store copies them into the database file on its own shortly after.
func TestSQLiteCheckpointsInTheBackground(t *testing.T) {
	dir := t.TempDir()
	st := MustOpen(t, "", dir)
	db := st.DB()
	var every int
	require.NoError(t, db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&every))
	require.Zero(t, every, "commits must not checkpoint")

	dbFile := filepath.Join(dir, "portal.db")
	size := func() int64 {
		fi, err := os.Stat(dbFile)
		require.NoError(t, err)
		return fi.Size()
	}
	before := size()
	_, err := db.Exec("CREATE TABLE checkpoint_probe (body TEXT)")
	require.NoError(t, err)
	tx, err := db.Begin()
	require.NoError(t, err)
	for i := range 2000 {
		_, err := tx.Exec("INSERT INTO checkpoint_probe (body) VALUES (?)", fmt.Sprint(i, strings.Repeat("x", 2000)))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.Eventually(t, func() bool { return size() > before+2000*2000 }, 10*time.Second, 50*time.Millisecond,
		"the database file never received the committed pages")
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM checkpoint_probe").Scan(&n))
	require.Equal(t, 2000, n)
}
