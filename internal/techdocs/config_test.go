package techdocs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

func TestParseConfig(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		cfg, diags, err := ParseConfig("mkdocs.yml", []byte(`
site_name: Payments
site_description: How payments work
docs_dir: ./documentation/
repo_url: https://github.com/billpay/payment-service
edit_uri: edit/main/documentation/
use_directory_urls: false
nav:
  - Home: index.md
  - guide.md
  - Runbooks:
      - On call: runbooks/on-call.md
      - runbooks/rollback.md
  - Status page: https://status.example.com
  - Shared: '!include ../shared/mkdocs.yml'
  - Other: !include ../other/mkdocs.yml
markdown_extensions:
  - admonition
  - toc:
      permalink: "#"
      separator: "_"
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
plugins:
  - techdocs-core
`))
		require.NoError(t, err)
		assert.Empty(t, diags)
		assert.Equal(t, "Payments", cfg.SiteName)
		assert.Equal(t, "How payments work", cfg.SiteDescription)
		assert.Equal(t, "documentation", cfg.DocsDir)
		assert.False(t, cfg.UseDirectoryURLs)
		assert.Equal(t, []string{"admonition", "toc", "pymdownx.superfences"}, cfg.MarkdownExtensions)
		assert.Equal(t, TOCConfig{Separator: "_", Permalink: "#"}, cfg.TOC)
		require.Len(t, cfg.Nav, 6)
		assert.Equal(t, NavEntry{Title: "Home", Path: "index.md", Line: 9}, cfg.Nav[0])
		assert.Equal(t, "guide.md", cfg.Nav[1].Path)
		assert.Equal(t, "Runbooks", cfg.Nav[2].Title)
		assert.Equal(t, "runbooks/rollback.md", cfg.Nav[2].Children[1].Path)
		assert.Equal(t, "https://status.example.com", cfg.Nav[3].URL)
		assert.Equal(t, "!include ../shared/mkdocs.yml", cfg.Nav[4].Path, "a quoted !include is a plain string")
		assert.Equal(t, "../other/mkdocs.yml", cfg.Nav[5].Include)
	})

	t.Run("PythonTagsAreDataNeverErrors", func(t *testing.T) {
		cfg, diags, err := ParseConfig("mkdocs.yml", []byte(`
site_name: !ENV [SITE_NAME, "Fallback name"]
site_description: !ENV DESCRIPTION
markdown_extensions:
  - pymdownx.emoji:
      emoji_index: !!python/name:material.extensions.emoji.twemoji
      emoji_generator: !!python/name:material.extensions.emoji.to_svg
  - toc:
      slugify: !!python/object/apply:pymdownx.slugs.slugify {kwds: {case: lower}}
  - pymdownx.snippets:
      base_path: !relative $config_dir
hooks:
  - !!python/object/new:os.system [echo pwned]
theme:
  name: material
  icon:
    repo: !!python/name:os.system
`))
		require.NoError(t, err)
		assert.Equal(t, "Fallback name", cfg.SiteName, "!ENV uses its default; the environment is never read")
		assert.Equal(t, "", cfg.SiteDescription)
		assert.Equal(t, []string{"pymdownx.emoji", "toc", "pymdownx.snippets"}, cfg.MarkdownExtensions)
		var msgs []string
		for _, d := range diags {
			msgs = append(msgs, d.String())
		}
		assert.Contains(t, msgs, "mkdocs.yml:3: site_description: !ENV DESCRIPTION has no default; environment variables are not read")
		assert.Contains(t, msgs, `mkdocs.yml:12: unknown key "hooks" ignored`)
		assert.Contains(t, msgs, "mkdocs.yml:9: toc.slugify !!python/object/apply:pymdownx.slugs.slugify is not supported; anchors use Python-Markdown's default slugify")
	})

	t.Run("UnicodeSlugify", func(t *testing.T) {
		cfg, _, err := ParseConfig("mkdocs.yml", []byte("site_name: x\nmarkdown_extensions:\n  - toc:\n      slugify: !!python/name:markdown.extensions.toc.slugify_unicode\n"))
		require.NoError(t, err)
		assert.True(t, cfg.TOC.UnicodeSlugs)
	})

	t.Run("Empty", func(t *testing.T) {
		cfg, diags, err := ParseConfig("mkdocs.yml", nil)
		require.NoError(t, err)
		assert.Empty(t, diags)
		assert.Equal(t, DefaultConfig(), cfg)
	})

	t.Run("AliasBombEndsInAWarning", func(t *testing.T) {
		_, diags, err := ParseConfig("mkdocs.yml", []byte(`
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
nav: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
site_name: bomb
`))
		require.NoError(t, err)
		assert.NotEmpty(t, diags)
	})

	for name, doc := range map[string]string{
		"ErrDocsDirAbsolute":  "site_name: x\ndocs_dir: /etc\n",
		"ErrDocsDirEscapes":   "site_name: x\ndocs_dir: ../../etc\n",
		"ErrDocsDirSneaky":    "site_name: x\ndocs_dir: docs/../../etc\n",
		"ErrDocsDirWindows":   "site_name: x\ndocs_dir: 'C:\\\\Windows'\n",
		"ErrNotAMapping":      "- a\n- b\n",
		"ErrInvalidYAML":      "site_name: [unclosed\n",
		"ErrDocsDirBackslash": "site_name: x\ndocs_dir: '..\\\\..\\\\etc'\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := ParseConfig("mkdocs.yml", []byte(doc))
			require.Error(t, err)
			assert.Equal(t, errs.Invalid, errs.CodeOf(err))
		})
	}
}
