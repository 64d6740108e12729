package techdocs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzRender renders arbitrary Markdown as a page of a small site: it must never panic, never
// leave script in the output, and always produce anchors that are unique on the page.
func FuzzRender(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	corpus, _ := filepath.Glob("testdata/features/docs/*.md")
	for _, p := range corpus {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(string(b))
	}
	for _, s := range []string{"!!! note\n    a\n  b", "=== \"a\"\n===! \"b\"\n    x", "???+\n", "~~a~b~~", "^^^x^^^", "==a==b==",
		"{: #x}", "# {#}", "*[]: x", "| a |\n|---|\n| {: .x} |", "---\na: &a [*a]\n---\n", "[^1]:\n[^1]"} {
		f.Add(s)
	}
	idx := &siteIndex{pages: map[string]*Page{}, dirIndex: map[string]*Page{}, assets: map[string]bool{"img/x.png": true}, useDirURLs: true}
	other := &Page{Src: "other.md", URL: "other/"}
	idx.pages["other.md"] = other
	cfg := DefaultConfig()
	st := &pageState{site: idx, cfg: &cfg}
	md := newMarkdown(st)
	var buf bytes.Buffer
	f.Fuzz(func(t *testing.T, src string) {
		pg := &Page{Src: "dir/page.md", URL: "dir/page/"}
		res := renderPage(md, st, &buf, pg, []byte(src))
		assertInert(t, res.HTML)
		seen := map[string]bool{}
		var walk func([]TOCEntry)
		walk = func(es []TOCEntry) {
			for _, e := range es {
				if seen[e.ID] {
					t.Fatalf("duplicate heading id %q", e.ID)
				}
				seen[e.ID] = true
				walk(e.Children)
			}
		}
		walk(res.TOC)
		for _, d := range res.Diags {
			if d.Line < 0 || d.Line > strings.Count(src, "\n")+1 {
				t.Fatalf("diagnostic line %d outside the %d-line source: %s", d.Line, strings.Count(src, "\n")+1, d)
			}
		}
	})
}

// FuzzMkdocsConfig feeds arbitrary YAML to the mkdocs.yml reader: it must never panic, and a
// docs_dir it accepts must stay inside the source.
func FuzzMkdocsConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/features/mkdocs.yml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(string(b))
	}
	for _, s := range []string{
		"site_name: x\ndocs_dir: ../x\n", "nav: [a.md, {b: [c.md, {d: e.md}]}]\n", "a: &a [*a]\n",
		"site_name: !ENV [A, B]\n", "markdown_extensions: [{toc: {slugify: !!python/name:x}}]\n",
		"nav:\n  - !include x\n", "docs_dir: !!binary aGVsbG8=\n", "? [a]\n: b\n", "site_name: {a: b}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, _, err := ParseConfig("mkdocs.yml", []byte(doc))
		if err != nil {
			return
		}
		if strings.HasPrefix(cfg.DocsDir, "/") || cfg.DocsDir == ".." || strings.HasPrefix(cfg.DocsDir, "../") {
			t.Fatalf("docs_dir %q escapes the source", cfg.DocsDir)
		}
	})
}
