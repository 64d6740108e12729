package localpublisher_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/techdocs/localpublisher"
	"github.com/billpay/portal/internal/techdocs/publishertest"
)

func TestPublisher(t *testing.T) {
	dir := t.TempDir()
	p, err := localpublisher.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	publishertest.Run(t, p)

	// Backstage's layout on disk: <namespace>/<kind>/<name>, lowercased.
	_, err = os.Stat(filepath.Join(dir, "default", "component", "payment-service", "techdocs_metadata.json"))
	require.NoError(t, err)
	leftovers, _ := filepath.Glob(filepath.Join(dir, "default", "component", "payment-service", ".tmp-*"))
	assert.Empty(t, leftovers)
}

// TestSymlinkInPublishDirCannotEscape: a link planted in the publish directory (by a bad actor or
// an old tool) must not make a publish write outside it.
func TestSymlinkInPublishDirCannotEscape(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "default", "component"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "default", "component", "payment-service")))
	p, err := localpublisher.New(dir)
	require.NoError(t, err)
	defer p.Close()
	err = p.Publish(t.Context(), publishertest.Entity, publishertest.MustBuild(t, map[string]string{"index.md": "# x"}))
	require.Error(t, err)
	entries, _ := os.ReadDir(outside)
	assert.Empty(t, entries)
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stale.html"), []byte("old"), 0o644))
	site := publishertest.MustBuild(t, map[string]string{"index.md": "# Home", "a/b.md": "# B"})
	require.NoError(t, localpublisher.WriteDir(t.Context(), dir, site))
	for _, name := range site.Files() {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		assert.NoError(t, err, name)
	}
	_, err := os.Stat(filepath.Join(dir, "stale.html"))
	assert.True(t, os.IsNotExist(err))
}
