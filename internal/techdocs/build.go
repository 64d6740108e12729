package techdocs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/text"

	"github.com/billpay/portal/internal/errs"
)

// builderVersion is part of every cache key: change it whenever rendering changes, so pages
// cached by an older builder are rendered again.
const builderVersion = "techdocs-1"

// BuilderVersion identifies how this builder renders. A server keeps it with each published site,
// so that a portal whose rendering changed rebuilds sites whose sources did not.
const BuilderVersion = builderVersion

// MetadataFile is the file Backstage's reader and our publishers treat as the commit marker of a
// published site: written last, read first.
const MetadataFile = "techdocs_metadata.json"

// Diagnostic is a problem found while building, tied to a source file and line when known.
type Diagnostic struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string {
	switch {
	case d.File != "" && d.Line > 0:
		return fmt.Sprintf("%s:%d: %s", d.File, d.Line, d.Message)
	case d.File != "":
		return d.File + ": " + d.Message
	}
	return d.Message
}

// StrictError is returned by Build in strict mode when the build produced warnings.
type StrictError struct{ Warnings []Diagnostic }

func (e *StrictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "strict mode: %d warning(s)", len(e.Warnings))
	for _, w := range e.Warnings {
		b.WriteString("\n  ")
		b.WriteString(w.String())
	}
	return b.String()
}

// Progress reports how far a build has got, for a server to stream as log lines.
type Progress struct {
	// Phase is "config", "scan", "render", "check" or "done".
	Phase string
	Done  int
	Total int
	// Message is a line fit for a build log.
	Message string
}

// Options controls one build. The zero value builds with mkdocs' defaults.
type Options struct {
	// Strict turns warnings (broken links and anchors, missing nav entries, unknown keys) into a
	// *StrictError (code invalid). The built site is still returned alongside the error.
	Strict bool
	// SiteName is used when mkdocs.yml is missing or has no site_name (the entity's title, as
	// Backstage does); "Documentation Site" otherwise.
	SiteName string
	// Etag identifies the source version (a commit SHA or a tree ETag) and is written to the
	// metadata; when empty, a hash of the source content is used.
	Etag string
	// Cache is the Cache of the previous build of the same site; pages whose source, config and
	// link targets are unchanged are taken from it instead of being rendered.
	Cache *Cache
	// Workers bounds parallel rendering; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is called from the building goroutine as the build advances.
	Progress func(Progress)
	// Now stamps build_timestamp; time.Now when nil.
	Now func() time.Time
}

// Page is one built page.
type Page struct {
	// Src is the Markdown file, relative to docs_dir.
	Src string `json:"src"`
	// URL is the page's URL relative to the site root ("" for the home page, "guide/" for
	// guide.md), as mkdocs names it.
	URL string `json:"url"`
	// Output is the HTML fragment's path in the site.
	Output  string         `json:"output"`
	Title   string         `json:"title"`
	EditURL string         `json:"edit_url,omitempty"`
	Meta    map[string]any `json:"meta,omitempty"`
	TOC     []TOCEntry     `json:"toc,omitempty"`
	// Previous and Next are the neighbouring pages' URLs in nav order, when the page is in nav.
	Previous *string `json:"previous,omitempty"`
	Next     *string `json:"next,omitempty"`

	navTitle string
	res      *pageResult
}

// HTML returns the page's rendered fragment.
func (p *Page) HTML() []byte { return p.res.HTML }

// Metadata is techdocs_metadata.json as Backstage defines it.
type Metadata struct {
	SiteName        string   `json:"site_name"`
	SiteDescription string   `json:"site_description"`
	Etag            string   `json:"etag"`
	BuildTimestamp  int64    `json:"build_timestamp"`
	Files           []string `json:"files"`
}

// Site is the result of a build. It is an fs.FS of the output: one HTML fragment per page,
// nav.json, search/search_index.json, the copied assets and techdocs_metadata.json.
type Site struct {
	Config   Config
	Pages    []*Page // in mkdocs' file order
	Nav      []NavItem
	Metadata Metadata
	// Warnings are the build's diagnostics, sorted by file and line.
	Warnings []Diagnostic
	// Rendered and Reused list the pages (by Src) rendered by this build and taken from the
	// cache; together they are every page.
	Rendered []string
	Reused   []string
	// Cache is to be passed as Options.Cache to the next build of this site.
	Cache *Cache

	src   fs.FS
	files map[string]siteFile
	dirs  map[string][]string
}

// siteFile is either generated content or an asset read from the source on demand.
type siteFile struct {
	data   []byte
	srcFS  string
	size   int64
	static bool
}

// Cache carries rendered pages from one build of a site to the next. Persist it with
// encoding/json between builds; a cache from another builder version is ignored.
type Cache struct {
	Version string                 `json:"version"`
	Pages   map[string]*pageResult `json:"pages"`
}

// Build reads an mkdocs project from src (mkdocs.yml or mkdocs.yaml at its root, or none) and
// renders it. Errors: errs.Invalid for a configuration that cannot be used or a path that leaves
// the source (docs_dir, nav, symbolic links); a *StrictError when opts.Strict is set and there
// were warnings; ctx's error when cancelled.
func Build(ctx context.Context, src fs.FS, opts Options) (*Site, error) {
	b := &builder{ctx: ctx, src: src, opts: opts}
	if b.opts.Now == nil {
		b.opts.Now = time.Now
	}
	if b.opts.Workers <= 0 {
		b.opts.Workers = runtime.GOMAXPROCS(0)
	}
	return b.run()
}

type builder struct {
	ctx     context.Context
	src     fs.FS
	opts    Options
	cfg     Config
	cfgFile string
	diags   []Diagnostic
	idx     *siteIndex
	pages   []*Page
	files   []sourceFile
	// rootDocs is a repository documented by its root: no mkdocs.yml and no docs/ directory.
	rootDocs bool
}

func (b *builder) progress(p Progress) {
	if b.opts.Progress != nil {
		b.opts.Progress(p)
	}
}

func (b *builder) run() (*Site, error) {
	if err := b.loadConfig(); err != nil {
		return nil, err
	}
	b.progress(Progress{Phase: "config", Message: fmt.Sprintf("site %q, docs in %s/", b.cfg.SiteName, b.cfg.DocsDir)})
	files, err := listDocs(b.ctx, b.src, b.cfg.DocsDir)
	if err != nil {
		return nil, err
	}
	b.files = files
	b.indexFiles()
	if b.rootDocs && len(b.pages) == 0 {
		// mkdocs would stop at the missing docs/ directory; building would publish nothing to read.
		return nil, errs.E(errs.Invalid, "nothing to document: no mkdocs.yml, no docs/ directory and no Markdown page at the root")
	}
	b.progress(Progress{Phase: "scan", Total: len(b.pages), Message: fmt.Sprintf("%d pages, %d other files", len(b.pages), len(b.idx.assets))})
	rendered, reused, err := b.renderAll()
	if err != nil {
		return nil, err
	}
	site, err := b.assemble()
	if err != nil {
		return nil, err
	}
	site.Rendered, site.Reused = rendered, reused
	b.progress(Progress{Phase: "done", Done: len(b.pages), Total: len(b.pages),
		Message: fmt.Sprintf("built %d pages (%d rendered, %d unchanged), %d warnings", len(b.pages), len(rendered), len(reused), len(site.Warnings))})
	if b.opts.Strict && len(site.Warnings) > 0 {
		return site, &errs.Error{Code: errs.Invalid, Message: (&StrictError{Warnings: site.Warnings}).Error(), Err: &StrictError{Warnings: site.Warnings}}
	}
	return site, nil
}

func (b *builder) loadConfig() error {
	b.cfg = DefaultConfig()
	found := false
	for _, name := range []string{"mkdocs.yml", "mkdocs.yaml"} {
		real, info, err := resolveInside(b.src, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return errs.E(errs.Invalid, "%s is not a regular file", name)
		}
		if info.Size() > maxPageBytes {
			return errs.E(errs.Invalid, "%s is larger than %d bytes", name, maxPageBytes)
		}
		data, err := fs.ReadFile(b.src, real)
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "cannot read %s", name)
		}
		cfg, diags, err := ParseConfig(name, data)
		if err != nil {
			return err
		}
		b.cfg, b.cfgFile, found = cfg, name, true
		b.diags = append(b.diags, diags...)
		break
	}
	if !found {
		// Without mkdocs.yml Backstage writes a default one; a repository with only a README and
		// no docs/ directory is documented by its root.
		if _, _, err := resolveInside(b.src, "docs"); errors.Is(err, fs.ErrNotExist) {
			b.cfg.DocsDir, b.rootDocs = ".", true
		}
	}
	if b.cfg.SiteName == "" {
		if found {
			b.diags = append(b.diags, Diagnostic{File: b.cfgFile, Message: "site_name is missing"})
		}
		b.cfg.SiteName = b.opts.SiteName
		if b.cfg.SiteName == "" {
			b.cfg.SiteName = "Documentation Site"
		}
	}
	return nil
}

// indexFiles sorts files into pages and assets, with mkdocs' README rule: README.md is a
// directory's index page unless an index.md is there too, in which case it is skipped.
func (b *builder) indexFiles() {
	b.idx = &siteIndex{pages: map[string]*Page{}, dirIndex: map[string]*Page{}, assets: map[string]bool{},
		useDirURLs: b.cfg.UseDirectoryURLs}
	hasIndex := map[string]bool{}
	for _, f := range b.files {
		if isMarkdown(f.rel) && strings.TrimSuffix(path.Base(f.rel), path.Ext(f.rel)) == "index" {
			hasIndex[path.Dir(f.rel)] = true
		}
	}
	for _, f := range b.files {
		if b.cfg.DocsDir == "." && (f.rel == "mkdocs.yml" || f.rel == "mkdocs.yaml") {
			continue
		}
		if !isMarkdown(f.rel) {
			// A repository's root holds its code and configuration too: of those, a site documented by
			// the root publishes only what its pages can show, not a copy of the repository.
			if !b.rootDocs || isPageMedia(f.rel) {
				b.idx.assets[f.rel] = true
			}
			continue
		}
		if pageStem(f.rel) == "index" && !strings.HasPrefix(path.Base(f.rel), "index.") {
			if hasIndex[path.Dir(f.rel)] {
				b.diags = append(b.diags, Diagnostic{File: f.rel, Message: "both index.md and " + path.Base(f.rel) + " exist; " + path.Base(f.rel) + " is skipped"})
				continue
			}
		}
		u, out := pageURL(f.rel, b.cfg.UseDirectoryURLs)
		pg := &Page{Src: f.rel, URL: u, Output: out}
		b.pages = append(b.pages, pg)
		b.idx.pages[f.rel] = pg
		if pageStem(f.rel) == "index" {
			b.idx.dirIndex[path.Dir(f.rel)] = pg
		}
	}
	sortPages(b.pages)
}

// renderKey identifies a page's rendering input apart from its link targets, which are checked
// separately through pageResult.Deps.
func (b *builder) renderKey(src string, content []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%t\x00%s\x00%t\x00%s\x00%s\x00", builderVersion, b.cfg.UseDirectoryURLs,
		b.cfg.TOC.Separator, b.cfg.TOC.UnicodeSlugs, b.cfg.TOC.Permalink, src)
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func (b *builder) reusable(cached *pageResult, key string) bool {
	if cached == nil || cached.Key != key {
		return false
	}
	for target, kind := range cached.Deps {
		if now, _ := b.idx.lookup(target); now != kind {
			return false
		}
	}
	return true
}

func (b *builder) fsPath(rel string) string {
	if b.cfg.DocsDir == "." {
		return rel
	}
	return path.Join(b.cfg.DocsDir, rel)
}

// renderAll renders the pages on a pool of workers, each with its own goldmark pipeline.
func (b *builder) renderAll() (rendered, reused []string, err error) {
	realPath := map[string]string{}
	for _, f := range b.files {
		realPath[f.rel] = f.fsPath
		if isMarkdown(f.rel) && f.size > maxPageBytes {
			return nil, nil, errs.E(errs.Invalid, "%s is larger than %d bytes", b.fsPath(f.rel), maxPageBytes)
		}
	}
	var cache map[string]*pageResult
	if b.opts.Cache != nil && b.opts.Cache.Version == builderVersion {
		cache = b.opts.Cache.Pages
	}
	jobs := make(chan *Page)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wasDone  = make([]bool, len(b.pages))
	)
	pos := map[*Page]int{}
	for i, pg := range b.pages {
		pos[pg] = i
	}
	var wg sync.WaitGroup
	for range min(b.opts.Workers, max(len(b.pages), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &pageState{site: b.idx, cfg: &b.cfg}
			md := newMarkdown(st)
			var buf bytes.Buffer
			for pg := range jobs {
				if b.ctx.Err() != nil {
					continue
				}
				content, rerr := fs.ReadFile(b.src, realPath[pg.Src])
				if rerr != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = errs.Wrap(errs.Invalid, rerr, "cannot read %s", b.fsPath(pg.Src))
					}
					mu.Unlock()
					continue
				}
				key := b.renderKey(pg.Src, content)
				renderedNow := false
				if c := cache[pg.Src]; b.reusable(c, key) {
					pg.res = c
				} else {
					pg.res = renderPage(md, st, &buf, pg, content)
					pg.res.Key = key
					renderedNow = true
				}
				mu.Lock()
				wasDone[pos[pg]] = renderedNow
				done++
				if done%50 == 0 || done == len(b.pages) {
					b.progress(Progress{Phase: "render", Done: done, Total: len(b.pages), Message: fmt.Sprintf("rendered %d/%d pages", done, len(b.pages))})
				}
				mu.Unlock()
			}
		}()
	}
	for _, pg := range b.pages {
		jobs <- pg
	}
	close(jobs)
	wg.Wait()
	if err := b.ctx.Err(); err != nil {
		return nil, nil, err
	}
	if firstErr != nil {
		return nil, nil, firstErr
	}
	for i, pg := range b.pages {
		if wasDone[i] {
			rendered = append(rendered, pg.Src)
		} else {
			reused = append(reused, pg.Src)
		}
	}
	return rendered, reused, nil
}

// renderPage turns one Markdown file into its fragment and everything else the build needs
// from it. It never fails: what it cannot render well it reports as diagnostics.
func renderPage(md goldmark.Markdown, st *pageState, buf *bytes.Buffer, pg *Page, content []byte) *pageResult {
	meta, body, lines, err := splitFrontMatter(content)
	st.reset(pg.Src, pg.URL, body, lines)
	if err != nil {
		st.warn(1, "front matter is not valid YAML and is rendered as text: %v", err)
	}
	st.res.Meta = meta
	buf.Reset()
	doc := md.Parser().Parse(text.NewReader(body))
	if rerr := md.Renderer().Render(buf, body, doc); rerr != nil {
		st.warn(0, "rendering failed: %v", rerr)
	}
	st.res.HTML = append([]byte(nil), buf.Bytes()...)
	sort.Strings(st.res.IDs)
	res := st.res
	st.res = nil
	return res
}
