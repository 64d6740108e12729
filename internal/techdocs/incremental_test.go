package techdocs

import (
	"encoding/json"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIncrementalBuild(t *testing.T) {
	src := mapFS(map[string]string{
		"mkdocs.yml":    "site_name: Incremental",
		"docs/index.md": "# Home\n\nSee [setup](b.md#install).",
		"docs/b.md":     "# B\n\n## Install\n",
		"docs/c.md":     "# C\n\nLinks to [d](d.md), which does not exist yet.",
	})
	first := MustBuild(t, src, Options{})
	assert.ElementsMatch(t, []string{"index.md", "b.md", "c.md"}, first.Rendered)
	assert.Empty(t, first.Reused)
	assert.Equal(t, []string{`docs/c.md:3: link "d.md": d.md is not among the documentation files`}, warningStrings(first))

	t.Run("NothingChanged", func(t *testing.T) {
		again := MustBuild(t, src, Options{Cache: first.Cache})
		assert.Empty(t, again.Rendered)
		assert.ElementsMatch(t, []string{"index.md", "b.md", "c.md"}, again.Reused)
		assertSameOutput(t, first, again)
	})

	t.Run("OnlyTheChangedPageIsRendered", func(t *testing.T) {
		changed := cloneFS(src)
		changed["docs/b.md"] = &fstest.MapFile{Data: []byte("# B\n\n## Installation\n")}
		again := MustBuild(t, changed, Options{Cache: first.Cache})
		assert.Equal(t, []string{"b.md"}, again.Rendered)
		// index.md was not rendered again, yet its link into b.md is checked against b.md's new
		// anchors.
		assert.Contains(t, warningStrings(again), `docs/index.md:3: link "b.md#install": no anchor #install on b.md`)
	})

	t.Run("ANewLinkTargetRerendersTheLinkingPage", func(t *testing.T) {
		changed := cloneFS(src)
		changed["docs/d.md"] = &fstest.MapFile{Data: []byte("# D")}
		again := MustBuild(t, changed, Options{Cache: first.Cache})
		assert.ElementsMatch(t, []string{"c.md", "d.md"}, again.Rendered)
		assert.Empty(t, again.Warnings)
		assert.Contains(t, mustRead(t, again, "c/index.html"), `href="../d/"`)
	})

	t.Run("ConfigChangeRerendersEverything", func(t *testing.T) {
		changed := cloneFS(src)
		changed["mkdocs.yml"] = &fstest.MapFile{Data: []byte("site_name: Incremental\nuse_directory_urls: false\n")}
		again := MustBuild(t, changed, Options{Cache: first.Cache})
		assert.Len(t, again.Rendered, 3)
	})

	t.Run("CacheSurvivesJSON", func(t *testing.T) {
		b, err := json.Marshal(first.Cache)
		require.NoError(t, err)
		var cache Cache
		require.NoError(t, json.Unmarshal(b, &cache))
		again := MustBuild(t, src, Options{Cache: &cache})
		assert.Empty(t, again.Rendered)
		assertSameOutput(t, first, again)
	})

	t.Run("CacheFromAnotherVersionIsIgnored", func(t *testing.T) {
		old := *first.Cache
		old.Version = "techdocs-0"
		again := MustBuild(t, src, Options{Cache: &old})
		assert.Len(t, again.Rendered, 3)
	})
}

func cloneFS(src fstest.MapFS) fstest.MapFS {
	out := fstest.MapFS{}
	for k, v := range src {
		out[k] = v
	}
	return out
}

func assertSameOutput(t *testing.T, a, b *Site) {
	t.Helper()
	require.Equal(t, a.Files(), b.Files())
	for _, name := range a.Files() {
		assert.Equal(t, mustRead(t, a, name), mustRead(t, b, name), name)
	}
}
