package techdocs

import (
	"context"
	"testing"

	"github.com/billpay/portal/internal/errs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDerivedNav checks the nav mkdocs derives without a nav key: top-level pages first with the
// index first, README as a directory's index, sections from directory names, case-sensitive
// order, and titles from front matter, then the first H1, then the file name.
func TestDerivedNav(t *testing.T) {
	site := MustBuild(t, mapFS(map[string]string{
		"docs/index.md":                   "Welcome, no heading.",
		"docs/zeta.md":                    "# Zeta page",
		"docs/Alpha.md":                   "---\ntitle: Alpha from front matter\n---\n# Ignored H1",
		"docs/beta-notes.md":              "text\n\n# H1 further down\n",
		"docs/on-call/README.md":          "# On-call handbook",
		"docs/on-call/escalation.md":      "## Only an H2",
		"docs/on-call/deep/steps.md":      "# Steps",
		"docs/on_call/merged.md":          "# Merged into On call",
		"docs/API/index.md":               "# API",
		"docs/runbooks/payment_svc.md":    "plain",
		"docs/runbooks/index.md":          "# Runbooks",
		"docs/runbooks/README.md":         "# Skipped because index.md exists",
		"docs/runbooks/img/graph.png":     "png",
		"docs/runbooks/.hidden.md":        "# hidden",
		"docs/templates/base.md":          "# excluded",
		"docs/runbooks/templates/kept.md": "# Kept",
	}), Options{})

	type item struct {
		Title    string
		URL      string
		Children []item
	}
	var conv func([]NavItem) []item
	conv = func(in []NavItem) []item {
		var out []item
		for _, n := range in {
			out = append(out, item{n.Title, n.URL, conv(n.Children)})
		}
		return out
	}
	assert.Equal(t, []item{
		{Title: "Home", URL: ""},
		{Title: "Alpha from front matter", URL: "Alpha/"},
		{Title: "H1 further down", URL: "beta-notes/"},
		{Title: "Zeta page", URL: "zeta/"},
		{Title: "API", Children: []item{{Title: "API", URL: "API/"}}},
		{Title: "On call", Children: []item{
			{Title: "On-call handbook", URL: "on-call/"},
			{Title: "Escalation", URL: "on-call/escalation/"},
			{Title: "Deep", Children: []item{{Title: "Steps", URL: "on-call/deep/steps/"}}},
			{Title: "Merged into On call", URL: "on_call/merged/"},
		}},
		{Title: "Runbooks", Children: []item{
			{Title: "Runbooks", URL: "runbooks/"},
			{Title: "Payment svc", URL: "runbooks/payment_svc/"},
			{Title: "Templates", Children: []item{{Title: "Kept", URL: "runbooks/templates/kept/"}}},
		}},
	}, conv(site.Nav))
	assert.Contains(t, warningStrings(site), "runbooks/README.md: both index.md and README.md exist; README.md is skipped")
	_, err := site.ReadFile("runbooks/img/graph.png")
	require.NoError(t, err)
	_, err = site.ReadFile("templates/base/index.html")
	require.Error(t, err)
}

func TestExplicitNav(t *testing.T) {
	site := MustBuild(t, mapFS(map[string]string{
		"mkdocs.yml": `site_name: Explicit
nav:
  - Start: index.md
  - Guides:
      - guide.md
      - Renamed: other.md
  - Missing: gone.md
  - External: https://example.com
`,
		"docs/index.md":  "# Index",
		"docs/guide.md":  "# The guide",
		"docs/other.md":  "# Other title",
		"docs/orphan.md": "# Not in nav",
	}), Options{})
	require.Len(t, site.Nav, 3)
	assert.Equal(t, NavItem{Title: "Start", URL: "", Src: "index.md"}, site.Nav[0])
	assert.Equal(t, []NavItem{{Title: "The guide", URL: "guide/", Src: "guide.md"}, {Title: "Renamed", URL: "other/", Src: "other.md"}}, site.Nav[1].Children)
	assert.Equal(t, NavItem{Title: "External", URL: "https://example.com", External: true}, site.Nav[2])
	assert.Equal(t, []string{"mkdocs.yml:7: nav: gone.md is not among the documentation files"}, warningStrings(site))
	pages := map[string]*Page{}
	for _, p := range site.Pages {
		pages[p.Src] = p
	}
	assert.Equal(t, "Renamed", pages["other.md"].Title, "a nav title wins over the page's H1")
	assert.Equal(t, "guide/", *pages["index.md"].Next)
	assert.Equal(t, "other/", *pages["guide.md"].Next)
	assert.Nil(t, pages["orphan.md"].Next, "pages outside nav are built but have no neighbours")
	_, err := site.ReadFile("orphan/index.html")
	require.NoError(t, err)
}

func TestNoConfigUsesDefaults(t *testing.T) {
	t.Run("DocsDir", func(t *testing.T) {
		site := MustBuild(t, mapFS(map[string]string{"docs/index.md": "# Hi"}), Options{SiteName: "payment-service"})
		assert.Equal(t, "payment-service", site.Metadata.SiteName)
		assert.Equal(t, "docs", site.Config.DocsDir)
	})
	t.Run("ReadmeOnlyRepository", func(t *testing.T) {
		site := MustBuild(t, mapFS(map[string]string{"README.md": "# Service readme\n\n![arch](arch.png)", "main.go": "package main",
			"arch.png": "png", "catalog-info.yaml": "kind: Component"}), Options{})
		assert.Equal(t, "Documentation Site", site.Metadata.SiteName)
		assert.Equal(t, "Service readme", site.Pages[0].Title)
		assert.Equal(t, "index.html", site.Pages[0].Output)
		_, err := site.ReadFile("arch.png")
		assert.NoError(t, err, "media the pages show is published")
		for _, name := range []string{"main.go", "catalog-info.yaml"} {
			_, err := site.ReadFile(name)
			assert.Error(t, err, "%s is the repository's, not the site's", name)
		}
	})
	t.Run("RepositoryWithNothingToDocument", func(t *testing.T) {
		_, err := Build(context.Background(), mapFS(map[string]string{"catalog-info.yaml": "kind: Component", "main.go": "package main"}), Options{})
		require.Error(t, err)
		assert.Equal(t, errs.Invalid, errs.CodeOf(err))
		assert.Contains(t, err.Error(), "nothing to document")
	})
}

func TestRelativeURL(t *testing.T) {
	cases := []struct{ target, base, want string }{
		{"guide/", "", "guide/"},
		{"", "guide/", "../"},
		{"", "", "./"},
		{"a/b/", "a/b/", "./"},
		{"a/c/", "a/b/", "../c/"},
		{"img/x.png", "a/b/", "../../img/x.png"},
		{"a/b/img.png", "a/b/", "img.png"},
		{"x.html", "a/", "../x.html"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, relativeURL(c.target, c.base), "%q from %q", c.target, c.base)
	}
}
