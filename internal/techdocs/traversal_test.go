package techdocs

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

// TestTraversalRefused tries every way out of the source directory the builder knows of; each must
// fail with errs.Invalid and a message naming the offending path.
func TestTraversalRefused(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.md"), []byte("# Secret"), 0o600))

	cases := map[string]struct {
		setup func(t *testing.T, root string)
		want  string
	}{
		"ErrDocsDirParent": {
			setup: func(t *testing.T, root string) { write(t, root, "mkdocs.yml", "site_name: x\ndocs_dir: ../\n") },
			want:  `docs_dir: "../" leaves the source directory`,
		},
		"ErrDocsDirAbsolute": {
			setup: func(t *testing.T, root string) { write(t, root, "mkdocs.yml", "site_name: x\ndocs_dir: "+outside+"\n") },
			want:  "is absolute",
		},
		"ErrNavParent": {
			setup: func(t *testing.T, root string) {
				write(t, root, "mkdocs.yml", "site_name: x\nnav:\n  - Secret: ../../secret.md\n")
				write(t, root, "docs/index.md", "# Home")
			},
			want: `mkdocs.yml:3: nav entry "../../secret.md" leaves the docs directory`,
		},
		"ErrSymlinkFileOutside": {
			setup: func(t *testing.T, root string) {
				write(t, root, "docs/index.md", "# Home")
				require.NoError(t, os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(root, "docs", "secret.md")))
			},
			want: "docs/secret.md is a symbolic link to",
		},
		"ErrSymlinkRelativeOutside": {
			setup: func(t *testing.T, root string) {
				write(t, root, "docs/index.md", "# Home")
				rel, err := filepath.Rel(filepath.Join(root, "docs"), filepath.Join(outside, "secret.md"))
				require.NoError(t, err)
				require.NoError(t, os.Symlink(rel, filepath.Join(root, "docs", "leak.md")))
			},
			want: "docs/leak.md is a symbolic link to",
		},
		"ErrSymlinkDirOutside": {
			setup: func(t *testing.T, root string) {
				write(t, root, "docs/index.md", "# Home")
				require.NoError(t, os.Symlink(outside, filepath.Join(root, "docs", "more")))
			},
			want: "docs/more is a symbolic link to",
		},
		"ErrDocsDirSymlinkOutside": {
			setup: func(t *testing.T, root string) {
				require.NoError(t, os.Symlink(outside, filepath.Join(root, "docs")))
			},
			want: "docs is a symbolic link to",
		},
		"ErrConfigSymlinkOutside": {
			setup: func(t *testing.T, root string) {
				write(t, outside, "mkdocs.yml", "site_name: stolen")
				require.NoError(t, os.Symlink(filepath.Join(outside, "mkdocs.yml"), filepath.Join(root, "mkdocs.yml")))
				write(t, root, "docs/index.md", "# Home")
			},
			want: "mkdocs.yml is a symbolic link to",
		},
		"ErrSymlinkChainOutside": {
			setup: func(t *testing.T, root string) {
				write(t, root, "docs/index.md", "# Home")
				require.NoError(t, os.Symlink("hop2.md", filepath.Join(root, "docs", "hop1.md")))
				require.NoError(t, os.Symlink("../../"+filepath.Base(outside)+"/secret.md", filepath.Join(root, "docs", "hop2.md")))
			},
			want: "is a symbolic link to",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			c.setup(t, root)
			for fsName, src := range sources(t, root) {
				_, err := Build(context.Background(), src, Options{})
				require.Error(t, err, fsName)
				assert.Equal(t, errs.Invalid, errs.CodeOf(err), "%s: %v", fsName, err)
				assert.Contains(t, err.Error(), c.want, fsName)
			}
		})
	}
}

// TestSymlinksInsideAreFollowed: links that stay inside the source are ordinary files.
func TestSymlinksInsideAreFollowed(t *testing.T) {
	root := t.TempDir()
	write(t, root, "docs/index.md", "See [shared](shared/page.md).")
	write(t, root, "common/page.md", "# Shared page")
	require.NoError(t, os.Symlink("../common", filepath.Join(root, "docs", "shared")))
	for fsName, src := range sources(t, root) {
		site := MustBuild(t, src, Options{})
		assert.Empty(t, site.Warnings, fsName)
		assert.Contains(t, mustRead(t, site, "index.html"), `href="shared/page/"`, fsName)
		assert.Contains(t, mustRead(t, site, "shared/page/index.html"), "Shared page", fsName)
	}
}

// TestMapFSSymlink covers an fs.FS that is not a directory: fstest.MapFS reports symlinks too.
func TestMapFSSymlink(t *testing.T) {
	src := fstest.MapFS{
		"docs/index.md": {Data: []byte("# Home")},
		"docs/evil.md":  {Data: []byte("../../etc/passwd"), Mode: os.ModeSymlink},
	}
	_, err := Build(context.Background(), src, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `docs/evil.md is a symbolic link to "../../etc/passwd", outside the source directory`)
}

// TestLinksOutsideDocsAreWarnings: a Markdown link is never followed on disk, so one that points
// outside is reported, not read.
func TestLinksOutsideDocsAreWarnings(t *testing.T) {
	site := MustBuild(t, mapFS(map[string]string{
		"docs/index.md": "[a](../../../etc/passwd) ![b](/etc/passwd) <img src=\"../../x.png\">",
	}), Options{})
	assert.Equal(t, []string{
		`docs/index.md:1: link "../../../etc/passwd" points outside the docs directory`,
		`docs/index.md:1: link "../../x.png" points outside the docs directory`,
	}, warningStrings(site))
}

// sources returns the two ways a server hands a directory to Build: os.DirFS, and os.Root's FS,
// which also refuses escaping links on its own.
func sources(t *testing.T, root string) map[string]fs.FS {
	r, err := os.OpenRoot(root)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return map[string]fs.FS{"DirFS": os.DirFS(root), "RootFS": r.FS()}
}

func write(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}
