package techdocs

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSiteIsAnFS runs the standard library's fs.FS conformance checks over a built site, since
// publishers and the server walk it as one.
func TestSiteIsAnFS(t *testing.T) {
	site := MustBuild(t, os.DirFS("testdata/features"), Options{})
	require.NoError(t, fstest.TestFS(site, site.Files()...))
	assert.Equal(t, MetadataFile, site.Files()[len(site.Files())-1], "metadata is last in publish order")
	order, err := PublishOrder(site)
	require.NoError(t, err)
	assert.Equal(t, site.Files(), order)
}

func TestMetadataAndSearchIndexShapes(t *testing.T) {
	site := MustBuild(t, mapFS(map[string]string{
		"mkdocs.yml":    "site_name: Shapes\nsite_description: Checking output formats\n",
		"docs/index.md": "# Home\n\nIntro.\n\n## Part one\n\nFirst part.\n\n## Part one\n\nAgain.\n",
	}), Options{Etag: "abc123"})
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(mustRead(t, site, MetadataFile)), &meta))
	assert.Equal(t, "Shapes", meta["site_name"])
	assert.Equal(t, "Checking output formats", meta["site_description"])
	assert.Equal(t, "abc123", meta["etag"])
	assert.Equal(t, float64(fixedNow().UnixMilli()), meta["build_timestamp"])
	assert.Equal(t, []any{"index.html", "nav.json", "search/search_index.json", "techdocs_metadata.json"}, meta["files"])

	var idx SearchIndex
	require.NoError(t, json.Unmarshal([]byte(mustRead(t, site, SearchIndexFile)), &idx))
	assert.Equal(t, []SearchEntry{
		{Location: "", Title: "Home", Text: "Home Intro. Part one First part. Part one Again."},
		{Location: "#home", Title: "Home", Text: "Intro."},
		{Location: "#part-one", Title: "Part one", Text: "First part."},
		{Location: "#part-one_1", Title: "Part one", Text: "Again."},
	}, idx.Docs)
}

func TestContentEtagFollowsContent(t *testing.T) {
	src := mapFS(map[string]string{"docs/index.md": "# A", "docs/img.png": "one"})
	build := func(src fstest.MapFS) string {
		site, err := Build(context.Background(), src, Options{Now: fixedNow})
		require.NoError(t, err)
		return site.Metadata.Etag
	}
	first := build(src)
	assert.Equal(t, first, build(src))
	changed := cloneFS(src)
	changed["docs/img.png"] = &fstest.MapFile{Data: []byte("two")}
	assert.NotEqual(t, first, build(changed), "an asset change changes the etag")
}

func TestProgressAndCancellation(t *testing.T) {
	files := map[string]string{}
	for i := range 120 {
		files["docs/p"+string(rune('a'+i%26))+string(rune('a'+i/26))+".md"] = "# Page"
	}
	var phases []string
	site := MustBuild(t, mapFS(files), Options{Progress: func(p Progress) { phases = append(phases, p.Phase) }})
	assert.Len(t, site.Pages, 120)
	assert.Equal(t, "config", phases[0])
	assert.Contains(t, phases, "render")
	assert.Equal(t, "done", phases[len(phases)-1])

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Build(ctx, mapFS(files), Options{})
	assert.ErrorIs(t, err, context.Canceled)
}
