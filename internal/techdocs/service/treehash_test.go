package service

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTreeHashesRereadOnlyChangedTrees: a tree whose files keep their names, sizes, modes and times keeps
// its hash without being read again; any of those changing makes it hashed anew.
func TestTreeHashesRereadOnlyChangedTrees(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tree := fstest.MapFS{
		"mkdocs.yml":    {Data: []byte("site_name: Payments\n"), ModTime: at},
		"docs/index.md": {Data: []byte("# Payments\n"), ModTime: at},
		".git/HEAD":     {Data: []byte("ref: refs/heads/main\n"), ModTime: at},
	}
	var c treeHashes
	remembered := func(dir string, fsys fstest.MapFS) string {
		t.Helper()
		h, err := c.hash(dir, fsys)
		require.NoError(t, err)
		return h
	}
	content := func() string {
		t.Helper()
		h, err := hashTree(tree)
		require.NoError(t, err)
		return h
	}
	first := remembered("/repo", tree)
	require.Equal(t, content(), first)

	// Same names, sizes and times: remembered, so a content change that keeps them is not seen.
	tree["docs/index.md"] = &fstest.MapFile{Data: []byte("# Paymentz\n"), ModTime: at}
	require.Equal(t, first, remembered("/repo", tree))

	// A new modification time: hashed again, and the content change shows.
	tree["docs/index.md"] = &fstest.MapFile{Data: []byte("# Paymentz\n"), ModTime: at.Add(time.Nanosecond)}
	changed := remembered("/repo", tree)
	require.NotEqual(t, first, changed)
	require.Equal(t, content(), changed)

	// A new file, and a file of another size.
	tree["docs/more.md"] = &fstest.MapFile{Data: []byte("more\n"), ModTime: at}
	withNew := remembered("/repo", tree)
	require.NotEqual(t, changed, withNew)
	tree["mkdocs.yml"] = &fstest.MapFile{Data: []byte("site_name: Payments!\n"), ModTime: at}
	resized := remembered("/repo", tree)
	require.NotEqual(t, withNew, resized)

	// Hidden files are not part of the docs: changing them changes nothing.
	tree[".git/HEAD"] = &fstest.MapFile{Data: []byte("ref: refs/heads/other-branch\n"), ModTime: at.Add(time.Hour)}
	require.Equal(t, resized, remembered("/repo", tree))

	// Another directory is remembered apart.
	other := remembered("/other", fstest.MapFS{"index.md": {Data: []byte("x"), ModTime: at}})
	require.NotEqual(t, resized, other)
	require.Equal(t, resized, remembered("/repo", tree))
}
