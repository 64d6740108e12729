package techdocs

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	emoji "github.com/yuin/goldmark-emoji"
	emojiast "github.com/yuin/goldmark-emoji/ast"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// TOCEntry is one heading of a page, nested under the nearest higher-level heading before it.
type TOCEntry struct {
	Level    int        `json:"level"`
	ID       string     `json:"id"`
	Title    string     `json:"title"`
	Children []TOCEntry `json:"children,omitempty"`
}

// linkRef is an internal link kept for the anchor check, which can only run once every page's
// anchors are known.
type linkRef struct {
	Target string `json:"target"` // docs-relative source path of the target page
	Anchor string `json:"anchor"`
	Line   int    `json:"line"`
	Raw    string `json:"raw"`
}

type searchSection struct {
	ID    string `json:"id,omitempty"` // empty for the text before the first heading
	Title string `json:"title,omitempty"`
	Text  string `json:"text"`
}

// pageResult is everything the later build steps need from rendering one page. It is what the
// incremental cache stores, so its fields are exported to encoding/json through their tags.
type pageResult struct {
	Key      string            `json:"key"`
	HTML     []byte            `json:"html"`
	Meta     map[string]any    `json:"meta,omitempty"`
	H1       string            `json:"h1,omitempty"`
	TOC      []TOCEntry        `json:"toc,omitempty"`
	IDs      []string          `json:"ids,omitempty"`
	Links    []linkRef         `json:"links,omitempty"`
	Deps     map[string]string `json:"deps,omitempty"`
	Sections []searchSection   `json:"sections,omitempty"`
	Diags    []Diagnostic      `json:"diags,omitempty"`
}

// Kinds of link target, recorded per page so a cached page is re-rendered when a file it links to
// appears or disappears.
const (
	targetPage    = "page"
	targetAsset   = "asset"
	targetMissing = "missing"
)

// siteIndex is the set of files a page can link to.
type siteIndex struct {
	pages      map[string]*Page // by docs-relative source path
	dirIndex   map[string]*Page // by directory, for links to "dir/"
	assets     map[string]bool
	useDirURLs bool
}

func (s *siteIndex) lookup(target string) (string, *Page) {
	if pg, ok := s.pages[target]; ok {
		return targetPage, pg
	}
	if s.assets[target] {
		return targetAsset, nil
	}
	if pg, ok := s.dirIndex[target]; ok {
		return targetPage, pg
	}
	return targetMissing, nil
}

// pageState is the per-page state the goldmark extensions of one worker share while that worker
// renders one page; a worker renders one page at a time.
type pageState struct {
	site    *siteIndex
	cfg     *Config
	src     string
	url     string
	newline []int // offsets of '\n' in the Markdown body, for line numbers
	lineOff int   // lines taken by front matter, which goldmark never sees

	codeBlocks int
	res        *pageResult
}

func (p *pageState) reset(src, pageURL string, body []byte, lineOff int) {
	p.src, p.url, p.lineOff, p.codeBlocks = src, pageURL, lineOff, 0
	p.newline = p.newline[:0]
	for i, c := range body {
		if c == '\n' {
			p.newline = append(p.newline, i)
		}
	}
	p.res = &pageResult{Deps: map[string]string{}}
}

func (p *pageState) warn(line int, format string, args ...any) {
	p.res.Diags = append(p.res.Diags, Diagnostic{File: p.src, Line: line, Message: fmt.Sprintf(format, args...)})
}

// lineOf returns the 1-based line in the original file (front matter included) of a node.
func (p *pageState) lineOf(n ast.Node) int {
	pos := -1
	for cur := n; cur != nil && pos < 0; cur = cur.Parent() {
		pos = cur.Pos()
		if pos < 0 && cur.Type() == ast.TypeBlock && cur.Lines().Len() > 0 {
			pos = cur.Lines().At(0).Start
		}
	}
	if pos < 0 {
		return 0
	}
	return sort.SearchInts(p.newline, pos) + 1 + p.lineOff
}

// pageDir is the URL directory relative links on this page are resolved from in the browser.
func (p *pageState) pageDir() string {
	if p.url == "" || strings.HasSuffix(p.url, "/") {
		return p.url
	}
	return path.Dir(p.url) + "/"
}

// resolveLink rewrites one link as mkdocs does: a relative link to a page becomes that page's URL
// relative to this page's URL, a relative link to an asset is re-rooted the same way, and
// anything external, absolute or same-page is left alone. Targets that do not exist are warned
// about and left as written.
func (p *pageState) resolveLink(dest string, line int) string {
	if dest == "" || isExternalURL(dest) || strings.HasPrefix(dest, "/") {
		return dest
	}
	rest, frag, hasFrag := strings.Cut(dest, "#")
	if rest == "" {
		if hasFrag && frag != "" {
			p.res.Links = append(p.res.Links, linkRef{Target: p.src, Anchor: frag, Line: line, Raw: dest})
		}
		return dest
	}
	pathPart, query, hasQuery := strings.Cut(rest, "?")
	if unescaped, err := url.PathUnescape(pathPart); err == nil {
		pathPart = unescaped
	}
	target := path.Join(path.Dir(p.src), pathPart)
	if target == ".." || strings.HasPrefix(target, "../") {
		p.warn(line, "link %q points outside the docs directory", dest)
		return dest
	}
	kind, pg := p.site.lookup(target)
	p.res.Deps[target] = kind
	var out string
	switch kind {
	case targetPage:
		out = relativeURL(pg.URL, p.pageDir())
		if hasFrag && frag != "" {
			p.res.Links = append(p.res.Links, linkRef{Target: pg.Src, Anchor: frag, Line: line, Raw: dest})
		}
	case targetAsset:
		out = relativeURL(escapePath(target), p.pageDir())
	default:
		p.warn(line, "link %q: %s is not among the documentation files", dest, target)
		return dest
	}
	if hasQuery {
		out += "?" + query
	}
	if hasFrag {
		out += "#" + frag
	}
	return out
}

func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// relativeURL is target (a site-relative URL) as seen from the URL directory base, with "./" for
// the directory itself, as mkdocs' get_relative_url returns.
func relativeURL(target, base string) string {
	t := strings.Split(target, "/")
	b := strings.Split(strings.TrimSuffix(base, "/"), "/")
	if base == "" {
		b = nil
	}
	i := 0
	for i < len(b) && i < len(t)-1 && t[i] == b[i] {
		i++
	}
	var sb strings.Builder
	for range len(b) - i {
		sb.WriteString("../")
	}
	sb.WriteString(strings.Join(t[i:], "/"))
	if sb.Len() == 0 {
		return "./"
	}
	return sb.String()
}

// newMarkdown assembles the goldmark pipeline for one worker. Extensions that goldmark ships are
// used as they are; the techdocs-core features it lacks are ours (see ext_*.go).
func newMarkdown(p *pageState) goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(
			extension.Table, extension.TaskList, extension.Linkify, extension.Footnote, extension.DefinitionList,
			emoji.New(emoji.WithRenderingMethod(emoji.Unicode)),
		),
		goldmark.WithParserOptions(
			parser.WithBlockParsers(
				util.Prioritized(containerParser{}, 90),
				util.Prioritized(abbrParser{}, 95),
			),
			parser.WithInlineParsers(
				util.Prioritized(newTagParser(), 500),
				util.Prioritized(attrListParser{}, 600),
			),
			parser.WithASTTransformers(util.Prioritized(&pageTransformer{page: p}, 1000)),
		),
		goldmark.WithRendererOptions(
			renderer.WithNodeRenderers(
				util.Prioritized(containerRenderer{}, 100),
				util.Prioritized(inlineTagRenderer{}, 100),
				util.Prioritized(abbrRenderer{}, 100),
				util.Prioritized(&codeRenderer{page: p}, 100),
				util.Prioritized(&htmlRenderer{page: p}, 100),
				util.Prioritized(&headingRenderer{page: p}, 100),
			),
			html.WithXHTML(),
		),
	)
}

// pageTransformer runs once per page after parsing: GitHub alerts, tab sets, abbreviations,
// heading ids and the TOC, link rewriting, and the text the search index needs.
type pageTransformer struct{ page *pageState }

func (t *pageTransformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	source := reader.Source()
	convertAlerts(doc, source)
	groupTabs(doc)
	if defs, ok := pc.Get(abbrKey).(map[string]string); ok {
		applyAbbreviations(doc, source, defs)
	}
	t.assignHeadingIDs(doc, source)
	t.rewriteLinks(doc)
	t.page.res.Sections = collectSections(doc, source)
}

// assignHeadingIDs gives every heading its Python-Markdown id: ids set with attr_list anywhere on
// the page are reserved first, then headings without one get unique slugs in document order.
func (t *pageTransformer) assignHeadingIDs(doc ast.Node, source []byte) {
	p := t.page
	used := idSet{}
	var headings []*ast.Heading
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		if id, ok := n.AttributeString("id"); ok {
			if b, ok := id.([]byte); ok {
				used[string(b)] = true
			}
		}
		if h, ok := n.(*ast.Heading); ok {
			headings = append(headings, h)
		}
		return ast.WalkContinue, nil
	})
	slug := Slugify
	if p.cfg.TOC.UnicodeSlugs {
		slug = SlugifyUnicode
	}
	var flat []TOCEntry
	for _, h := range headings {
		title := strings.TrimSpace(plainText(h, source))
		var id string
		if v, ok := h.AttributeString("id"); ok {
			id = string(v.([]byte))
		} else {
			id = used.unique(slug(title, p.cfg.TOC.Separator))
			h.SetAttribute([]byte("id"), []byte(id))
		}
		if h.Level == 1 && p.res.H1 == "" {
			p.res.H1 = title
		}
		flat = append(flat, TOCEntry{Level: h.Level, ID: id, Title: title})
	}
	for id := range used {
		p.res.IDs = append(p.res.IDs, id)
	}
	sort.Strings(p.res.IDs)
	p.res.TOC = nestTOC(flat)
}

// nestTOC nests each heading under the closest earlier heading of a lower level.
func nestTOC(flat []TOCEntry) []TOCEntry {
	var build func(i, parentLevel int) ([]TOCEntry, int)
	build = func(i, parentLevel int) ([]TOCEntry, int) {
		var out []TOCEntry
		for i < len(flat) && flat[i].Level > parentLevel {
			e := flat[i]
			e.Children, i = build(i+1, e.Level)
			out = append(out, e)
		}
		return out, i
	}
	out, _ := build(0, 0)
	return out
}

// plainText is the text of an inline subtree as Python-Markdown's toc sees it: entities and
// escapes resolved, code spans as their text, tags of raw HTML dropped, emoji left out.
func plainText(n ast.Node, source []byte) string {
	var b strings.Builder
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				b.Write(resolveText(c.Segment.Value(source)))
				if c.SoftLineBreak() || c.HardLineBreak() {
					b.WriteByte(' ')
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.CodeSpan:
				for t := c.FirstChild(); t != nil; t = t.NextSibling() {
					if tx, ok := t.(*ast.Text); ok {
						b.Write(tx.Segment.Value(source))
					}
				}
			case *ast.RawHTML, *emojiast.Emoji, *ast.Image:
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

func resolveText(v []byte) []byte {
	if bytes.IndexByte(v, '\\') >= 0 {
		v = util.UnescapePunctuations(v)
	}
	if bytes.IndexByte(v, '&') >= 0 {
		v = util.ResolveNumericReferences(util.ResolveEntityNames(v))
	}
	return v
}

func (t *pageTransformer) rewriteLinks(doc ast.Node) {
	p := t.page
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			n.Destination = []byte(p.resolveLink(string(n.Destination), p.lineOf(n)))
		case *ast.Image:
			n.Destination = []byte(p.resolveLink(string(n.Destination), p.lineOf(n)))
		}
		return ast.WalkContinue, nil
	})
}

// collectSections splits the page's text at headings for the search index: one section per
// heading, plus the text before the first one.
func collectSections(doc ast.Node, source []byte) []searchSection {
	sections := []searchSection{{}}
	var b strings.Builder
	flush := func() {
		sections[len(sections)-1].Text = strings.Join(strings.Fields(b.String()), " ")
		b.Reset()
	}
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Heading:
				flush()
				id, _ := c.AttributeString("id")
				idb, _ := id.([]byte)
				sections = append(sections, searchSection{ID: string(idb), Title: strings.TrimSpace(plainText(c, source))})
				continue
			case *ast.Text:
				b.Write(resolveText(c.Segment.Value(source)))
				if c.SoftLineBreak() || c.HardLineBreak() {
					b.WriteByte(' ')
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.CodeSpan:
				for t := c.FirstChild(); t != nil; t = t.NextSibling() {
					if tx, ok := t.(*ast.Text); ok {
						b.Write(tx.Segment.Value(source))
					}
				}
			case *ast.FencedCodeBlock, *ast.CodeBlock:
				b.WriteByte(' ')
				b.Write(linesOf(c, source))
			case *ast.RawHTML, *ast.HTMLBlock, *abbrDef, *emojiast.Emoji:
			case *ast.AutoLink:
				b.Write(c.Label(source))
			default:
				if c.Type() == ast.TypeBlock {
					b.WriteByte(' ')
				}
				walk(c)
				if c.Type() == ast.TypeBlock {
					b.WriteByte(' ')
				}
			}
		}
	}
	walk(doc)
	flush()
	return sections
}

// headingRenderer writes headings with their id, attr_list classes and the toc permalink.
type headingRenderer struct{ page *pageState }

func (r *headingRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHeading, r.render)
}

func (r *headingRenderer) render(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Heading)
	level := "0123456"[n.Level]
	if entering {
		_, _ = w.WriteString("<h")
		_ = w.WriteByte(level)
		renderSafeAttributes(w, n)
		_ = w.WriteByte('>')
		return ast.WalkContinue, nil
	}
	if link := r.page.cfg.TOC.Permalink; link != "" {
		id, _ := n.AttributeString("id")
		idb, _ := id.([]byte)
		_, _ = w.WriteString(`<a class="headerlink" href="#`)
		_, _ = w.Write(util.EscapeHTML(util.URLEscape(idb, false)))
		_, _ = w.WriteString(`" title="Permanent link">`)
		_, _ = w.Write(util.EscapeHTML([]byte(link)))
		_, _ = w.WriteString("</a>")
	}
	_, _ = w.WriteString("</h")
	_ = w.WriteByte(level)
	_, _ = w.WriteString(">\n")
	return ast.WalkContinue, nil
}
