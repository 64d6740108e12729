package techdocs

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/billpay/portal/internal/errs"
)

// Config is the part of mkdocs.yml the builder uses. It is read as data only: keys are picked out of
// the YAML tree, tags such as !!python/name or !ENV are kept as text and never resolved, and keys
// we do not know are reported and otherwise ignored.
type Config struct {
	SiteName        string `json:"site_name"`
	SiteDescription string `json:"site_description,omitempty"`
	// DocsDir is the docs directory relative to the source root, cleaned, never empty ("." for
	// the root itself) and never leaving the root.
	DocsDir string `json:"docs_dir"`
	RepoURL string `json:"repo_url,omitempty"`
	EditURI string `json:"edit_uri,omitempty"`
	// UseDirectoryURLs is mkdocs' use_directory_urls: foo.md is served at foo/ rather than
	// foo.html. Defaults to true, as in mkdocs.
	UseDirectoryURLs bool `json:"use_directory_urls"`
	// Nav is the explicit navigation, or nil when mkdocs.yml has none and the nav is derived.
	Nav []NavEntry `json:"nav,omitempty"`
	// MarkdownExtensions lists the extension names in mkdocs.yml, in order. The builder always
	// renders the techdocs-core feature set; the names only select options that change output
	// (the toc slugify function, separator and permalink).
	MarkdownExtensions []string  `json:"markdown_extensions,omitempty"`
	TOC                TOCConfig `json:"toc"`
}

// TOCConfig holds the options of the toc extension that change anchors and permalinks.
type TOCConfig struct {
	Separator string `json:"separator"`
	// UnicodeSlugs selects Python-Markdown's slugify_unicode (or pymdownx.slugs.uslugify).
	UnicodeSlugs bool `json:"unicode_slugs,omitempty"`
	// Permalink is the text of the heading anchor link; empty turns permalinks off. techdocs-core
	// forces permalinks on, with mkdocs' "¶".
	Permalink string `json:"permalink"`
}

// NavEntry is one item of an explicit nav: a page (Path set), a link (URL set) or a section
// (Children set). Title may be empty for pages, which then take their own title.
type NavEntry struct {
	Title    string     `json:"title,omitempty"`
	Path     string     `json:"path,omitempty"`
	URL      string     `json:"url,omitempty"`
	Children []NavEntry `json:"children,omitempty"`
	// Include holds the target of a monorepo `!include` entry, which we do not follow.
	Include string `json:"include,omitempty"`
	// Line is the line of the entry in mkdocs.yml, for diagnostics.
	Line int `json:"-"`
}

// DefaultConfig is what mkdocs assumes when a key is absent.
func DefaultConfig() Config {
	return Config{
		DocsDir:          "docs",
		UseDirectoryURLs: true,
		TOC:              TOCConfig{Separator: "-", Permalink: "¶"},
	}
}

// knownKeys are the mkdocs.yml keys that Backstage keeps (its ALLOWED_MKDOCS_KEYS); the ones we
// do not use are accepted without a warning because they are legitimate in a TechDocs site.
var knownKeys = map[string]bool{
	"site_name": true, "site_url": true, "site_description": true, "site_author": true, "repo_url": true,
	"repo_name": true, "edit_uri": true, "edit_uri_template": true, "docs_dir": true, "site_dir": true,
	"nav": true, "exclude_docs": true, "not_in_nav": true, "theme": true, "plugins": true,
	"markdown_extensions": true, "extra": true, "extra_css": true, "use_directory_urls": true,
	"strict": true, "dev_addr": true, "watch": true, "copyright": true, "remote_branch": true,
	"remote_name": true, "validation": true, "google_analytics": true,
}

// maxYAMLNodes bounds the work of walking a mkdocs.yml, whose aliases could otherwise make a
// small file expand into an enormous tree.
const maxYAMLNodes = 100_000

// ParseConfig reads mkdocs.yml (or mkdocs.yaml) data. name is the file name used in diagnostics.
// It returns errs.Invalid for YAML that does not parse, a top level that is not a mapping, or a
// docs_dir that is absolute or leaves the source directory; everything else it cannot use becomes
// a warning.
func ParseConfig(name string, data []byte) (Config, []Diagnostic, error) {
	cfg := DefaultConfig()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return cfg, nil, errs.Wrap(errs.Invalid, err, "%s: %v", name, err)
	}
	p := &configParser{file: name, budget: maxYAMLNodes}
	if doc.Kind == 0 {
		return cfg, nil, nil
	}
	root := p.deref(&doc)
	if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = p.deref(root.Content[0])
	}
	if root == nil || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return cfg, p.diags, nil
	}
	if root.Kind != yaml.MappingNode {
		return cfg, nil, errs.E(errs.Invalid, "%s:%d: the top level must be a mapping of keys", name, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := p.deref(root.Content[i]), p.deref(root.Content[i+1])
		if k == nil || v == nil {
			continue
		}
		key := k.Value
		switch key {
		case "site_name":
			cfg.SiteName = p.str(key, v)
		case "site_description":
			cfg.SiteDescription = p.str(key, v)
		case "docs_dir":
			dir, err := cleanDocsDir(p.str(key, v))
			if err != nil {
				return cfg, p.diags, errs.Wrap(errs.Invalid, err, "%s:%d: docs_dir: %v", name, v.Line, err)
			}
			cfg.DocsDir = dir
		case "repo_url":
			cfg.RepoURL = p.str(key, v)
		case "edit_uri":
			cfg.EditURI = p.str(key, v)
		case "use_directory_urls":
			if b, ok := p.boolean(key, v); ok {
				cfg.UseDirectoryURLs = b
			}
		case "nav":
			cfg.Nav = p.nav(v)
			if cfg.Nav == nil {
				cfg.Nav = []NavEntry{}
			}
		case "markdown_extensions":
			p.extensions(v, &cfg)
		default:
			if !knownKeys[key] {
				p.warn(k.Line, "unknown key %q ignored", key)
			}
		}
	}
	return cfg, p.diags, nil
}

// cleanDocsDir refuses docs_dir values that escape the source, as Backstage's validateMkdocsYaml
// does, since the builder must never read outside the tree it was given.
func cleanDocsDir(dir string) (string, error) {
	if dir == "" {
		return "docs", nil
	}
	if strings.HasPrefix(dir, "/") || strings.HasPrefix(dir, `\`) || (len(dir) > 1 && dir[1] == ':') {
		return "", fmt.Errorf("%q is absolute; it must be a path inside the source directory", dir)
	}
	clean := path.Clean(strings.ReplaceAll(dir, `\`, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%q leaves the source directory", dir)
	}
	return clean, nil
}

type configParser struct {
	file   string
	diags  []Diagnostic
	budget int
}

func (p *configParser) warn(line int, format string, args ...any) {
	p.diags = append(p.diags, Diagnostic{File: p.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// deref follows aliases, charging every visit to the budget so an alias bomb ends in a warning.
func (p *configParser) deref(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth > 32 {
			return nil
		}
		n = n.Alias
	}
	p.budget--
	if p.budget < 0 {
		if p.budget == -1 {
			p.warn(0, "configuration too large after expanding aliases; the rest is ignored")
		}
		return nil
	}
	return n
}

// str returns a scalar as text. A tagged scalar (!ENV, !!python/...) is configuration for code we
// do not run; !ENV's default value is used because it is plain data, and environment variables of
// the build host are never read into a user's site.
func (p *configParser) str(key string, v *yaml.Node) string {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!ENV" {
			p.warn(v.Line, "%s: !ENV %s has no default; environment variables are not read", key, v.Value)
			return ""
		}
		if v.Tag == "!!null" {
			return ""
		}
		return v.Value
	case yaml.SequenceNode:
		if v.Tag == "!ENV" && len(v.Content) > 1 {
			if d := p.deref(v.Content[len(v.Content)-1]); d != nil && d.Kind == yaml.ScalarNode {
				return d.Value
			}
		}
	}
	p.warn(v.Line, "%s: expected a string", key)
	return ""
}

func (p *configParser) boolean(key string, v *yaml.Node) (bool, bool) {
	if v.Kind == yaml.ScalarNode {
		switch strings.ToLower(v.Value) {
		case "true", "yes", "on":
			return true, true
		case "false", "no", "off":
			return false, true
		}
	}
	p.warn(v.Line, "%s: expected true or false", key)
	return false, false
}

func (p *configParser) nav(v *yaml.Node) []NavEntry {
	if v.Kind != yaml.SequenceNode {
		p.warn(v.Line, "nav: expected a list")
		return nil
	}
	var out []NavEntry
	for _, item := range v.Content {
		item = p.deref(item)
		if item == nil {
			continue
		}
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, p.navTarget("", item))
		case yaml.MappingNode:
			if len(item.Content) != 2 {
				p.warn(item.Line, "nav: an entry must have exactly one title")
				continue
			}
			k, val := p.deref(item.Content[0]), p.deref(item.Content[1])
			if k == nil || val == nil {
				continue
			}
			switch val.Kind {
			case yaml.SequenceNode:
				out = append(out, NavEntry{Title: k.Value, Children: p.nav(val), Line: k.Line})
			case yaml.ScalarNode:
				out = append(out, p.navTarget(k.Value, val))
			default:
				p.warn(val.Line, "nav: %q must name a page, a link or a list of entries", k.Value)
			}
		default:
			p.warn(item.Line, "nav: unexpected entry")
		}
	}
	return out
}

func (p *configParser) navTarget(title string, v *yaml.Node) NavEntry {
	e := NavEntry{Title: title, Line: v.Line}
	switch {
	case v.Tag == "!include":
		e.Include = v.Value
	case isExternalURL(v.Value) || strings.HasPrefix(v.Value, "/"):
		// mkdocs treats absolute paths in nav as links, not as files.
		e.URL = v.Value
	default:
		e.Path = v.Value
	}
	return e
}

// extensions records extension names and reads the toc options that change anchors. Values that
// name Python callables are compared as strings; nothing is imported or called.
func (p *configParser) extensions(v *yaml.Node, cfg *Config) {
	add := func(name string, opts *yaml.Node) {
		cfg.MarkdownExtensions = append(cfg.MarkdownExtensions, name)
		if opts == nil || opts.Kind != yaml.MappingNode {
			return
		}
		if name != "toc" && name != "markdown.extensions.toc" {
			return
		}
		for i := 0; i+1 < len(opts.Content); i += 2 {
			k, val := p.deref(opts.Content[i]), p.deref(opts.Content[i+1])
			if k == nil || val == nil {
				continue
			}
			switch k.Value {
			case "separator":
				if val.Kind == yaml.ScalarNode {
					cfg.TOC.Separator = val.Value
				}
			case "permalink":
				// techdocs-core forces permalink: true; a string only changes the symbol.
				if val.Kind == yaml.ScalarNode && val.Tag == "!!str" && val.Value != "" {
					cfg.TOC.Permalink = val.Value
				}
			case "slugify":
				switch strings.TrimPrefix(val.Tag, "tag:yaml.org,2002:") {
				case "!!python/name:markdown.extensions.toc.slugify_unicode", "!!python/name:pymdownx.slugs.uslugify":
					cfg.TOC.UnicodeSlugs = true
				case "!!python/name:markdown.extensions.toc.slugify", "!!python/name:pymdownx.slugs.slugify":
				default:
					p.warn(val.Line, "toc.slugify %s is not supported; anchors use Python-Markdown's default slugify", describeTag(val))
				}
			}
		}
	}
	switch v.Kind {
	case yaml.SequenceNode:
		for _, item := range v.Content {
			item = p.deref(item)
			if item == nil {
				continue
			}
			switch item.Kind {
			case yaml.ScalarNode:
				add(item.Value, nil)
			case yaml.MappingNode:
				for i := 0; i+1 < len(item.Content); i += 2 {
					if k := p.deref(item.Content[i]); k != nil {
						add(k.Value, p.deref(item.Content[i+1]))
					}
				}
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			if k := p.deref(v.Content[i]); k != nil {
				add(k.Value, p.deref(v.Content[i+1]))
			}
		}
	default:
		p.warn(v.Line, "markdown_extensions: expected a list")
	}
}

func describeTag(n *yaml.Node) string {
	if n.Tag != "" && !strings.HasPrefix(n.Tag, "!!str") && !strings.HasPrefix(n.Tag, "!!map") {
		return n.Tag
	}
	return strconv.Quote(n.Value)
}

// isExternalURL reports whether a link has a scheme or is protocol-relative, so it is left alone.
func isExternalURL(s string) bool {
	if strings.HasPrefix(s, "//") {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			return i > 0
		case ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'):
		case i > 0 && (('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return false
}
