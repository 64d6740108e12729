// Package publishertest is the behaviour every techdocs.Publisher must have, as a test suite each
// implementation runs against its real storage.
package publishertest

import (
	"context"
	"io"
	"io/fs"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/techdocs"
)

// Entity is the mixed-case entity the suite publishes; implementations check their own layout
// against its lowercased path, "default/component/payment-service".
var Entity = catalog.Ref{Kind: "Component", Namespace: "Default", Name: "Payment-Service"}

// MustBuild builds a small site from Markdown files under docs/.
func MustBuild(t *testing.T, pages map[string]string) *techdocs.Site {
	t.Helper()
	src := fstest.MapFS{"mkdocs.yml": {Data: []byte("site_name: Payment service\nsite_description: How payments work\n")}}
	for name, content := range pages {
		src["docs/"+name] = &fstest.MapFile{Data: []byte(content)}
	}
	site, err := techdocs.Build(context.Background(), src, techdocs.Options{
		Etag: "etag-" + time.Now().String(), Now: func() time.Time { return time.UnixMilli(1_700_000_000_000) },
	})
	require.NoError(t, err)
	return site
}

// MustRead reads one published file.
func MustRead(t *testing.T, p techdocs.Publisher, entity catalog.Ref, name string) string {
	t.Helper()
	r, err := p.Open(context.Background(), entity, name)
	require.NoError(t, err, name)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}

// Run runs the suite against the publisher p.
func Run(t *testing.T, p techdocs.Publisher) {
	ctx := context.Background()

	t.Run("PublishThenRead", func(t *testing.T) {
		site := MustBuild(t, map[string]string{"index.md": "# Home\n\n![logo](img/logo.png)", "guide.md": "# Guide", "img/logo.png": "PNG"})
		require.NoError(t, p.Publish(ctx, Entity, site))
		assert.Contains(t, MustRead(t, p, Entity, "index.html"), "<h1 id=\"home\">Home")
		assert.Equal(t, "PNG", MustRead(t, p, Entity, "img/logo.png"))
		assert.Contains(t, MustRead(t, p, Entity, "/guide/index.html"), "Guide", "a leading slash is tolerated")
		lower := catalog.Ref{Kind: "component", Namespace: "default", Name: "payment-service"}
		assert.Contains(t, MustRead(t, p, lower, "index.html"), "Home", "the triplet is case-insensitive")
		meta, err := techdocs.ReadMetadata(ctx, p, Entity)
		require.NoError(t, err)
		assert.Equal(t, site.Metadata, *meta)
	})

	t.Run("RepublishRemovesStaleFiles", func(t *testing.T) {
		first := MustBuild(t, map[string]string{"index.md": "# Home", "old.md": "# Old", "img/a.png": "A"})
		require.NoError(t, p.Publish(ctx, Entity, first))
		second := MustBuild(t, map[string]string{"index.md": "# Home again", "new.md": "# New"})
		require.NoError(t, p.Publish(ctx, Entity, second))
		assert.Contains(t, MustRead(t, p, Entity, "index.html"), "Home again")
		assert.Contains(t, MustRead(t, p, Entity, "new/index.html"), "New")
		for _, gone := range []string{"old/index.html", "img/a.png"} {
			_, err := p.Open(ctx, Entity, gone)
			assert.Equal(t, errs.NotFound, errs.CodeOf(err), gone)
		}
		meta, err := techdocs.ReadMetadata(ctx, p, Entity)
		require.NoError(t, err)
		assert.Equal(t, second.Metadata.Files, meta.Files)
	})

	t.Run("MetadataIsWrittenLast", func(t *testing.T) {
		site := MustBuild(t, map[string]string{"index.md": "# Home", "a.md": "# A", "b.md": "# B", "c/d.md": "# D"})
		var checked atomic.Bool
		watch := &watchFS{FS: site, onMetadata: func() {
			checked.Store(true)
			for _, name := range site.Files()[:len(site.Files())-1] {
				want, _ := site.ReadFile(name)
				assert.Equal(t, string(want), MustRead(t, p, Entity, name), "%s must be published before the metadata", name)
			}
		}}
		require.NoError(t, p.Publish(ctx, Entity, watch))
		assert.True(t, checked.Load())
	})

	t.Run("OtherEntitiesAreUntouched", func(t *testing.T) {
		other := catalog.Ref{Kind: "component", Namespace: "default", Name: "user-service"}
		require.NoError(t, p.Publish(ctx, other, MustBuild(t, map[string]string{"index.md": "# Users"})))
		require.NoError(t, p.Publish(ctx, Entity, MustBuild(t, map[string]string{"index.md": "# Payments"})))
		assert.Contains(t, MustRead(t, p, other, "index.html"), "Users")
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		never := catalog.Ref{Kind: "component", Namespace: "default", Name: "never-built"}
		_, err := techdocs.ReadMetadata(ctx, p, never)
		assert.Equal(t, errs.NotFound, errs.CodeOf(err))
		_, err = p.Open(ctx, Entity, "no/such/file.html")
		assert.Equal(t, errs.NotFound, errs.CodeOf(err))
	})

	t.Run("ErrInvalidPaths", func(t *testing.T) {
		for _, name := range []string{"../user-service/index.html", "a/../../x", "", `..\x`, "a//b"} {
			_, err := p.Open(ctx, Entity, name)
			assert.Equal(t, errs.Invalid, errs.CodeOf(err), "%q", name)
		}
		for _, bad := range []catalog.Ref{
			{Kind: "component", Namespace: "default", Name: "../../etc"},
			{Kind: "component", Namespace: "..", Name: "x"},
			{Kind: "", Namespace: "default", Name: "x"},
			{Kind: "component", Namespace: "default", Name: "a/b"},
		} {
			_, err := p.Open(ctx, bad, "index.html")
			assert.Equal(t, errs.Invalid, errs.CodeOf(err), "%v", bad)
			err = p.Publish(ctx, bad, MustBuild(t, map[string]string{"index.md": "x"}))
			assert.Equal(t, errs.Invalid, errs.CodeOf(err), "%v", bad)
		}
	})

	t.Run("ErrSiteWithoutMetadata", func(t *testing.T) {
		err := p.Publish(ctx, Entity, fstest.MapFS{"index.html": {Data: []byte("x")}})
		assert.Equal(t, errs.Invalid, errs.CodeOf(err))
	})
}

// watchFS calls onMetadata when the publisher opens techdocs_metadata.json.
type watchFS struct {
	fs.FS
	onMetadata func()
}

func (w *watchFS) Open(name string) (fs.File, error) {
	if name == techdocs.MetadataFile {
		w.onMetadata()
	}
	return w.FS.Open(name)
}
