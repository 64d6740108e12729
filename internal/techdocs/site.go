package techdocs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// NavFile is the site's navigation, written once per site rather than into every page (which is
// what makes mkdocs' output grow with the square of the page count).
const NavFile = "nav.json"

// SearchIndexFile is mkdocs' search index, the file Backstage's search collator reads.
const SearchIndexFile = "search/search_index.json"

// NavDocument is the content of nav.json.
type NavDocument struct {
	SiteName        string    `json:"site_name"`
	SiteDescription string    `json:"site_description,omitempty"`
	RepoURL         string    `json:"repo_url,omitempty"`
	Nav             []NavItem `json:"nav"`
	Pages           []*Page   `json:"pages"`
}

// SearchIndex is search/search_index.json in mkdocs' format: one entry per page and one per
// heading.
type SearchIndex struct {
	Config SearchConfig  `json:"config"`
	Docs   []SearchEntry `json:"docs"`
}

// SearchConfig is the config block mkdocs' search plugin writes; lunr clients read it.
type SearchConfig struct {
	Indexing        string   `json:"indexing"`
	Lang            []string `json:"lang"`
	MinSearchLength int      `json:"min_search_length"`
	PrebuildIndex   bool     `json:"prebuild_index"`
	Separator       string   `json:"separator"`
}

// SearchEntry is one searchable document.
type SearchEntry struct {
	Location string `json:"location"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

func (b *builder) assemble() (*Site, error) {
	var navItems []NavItem
	if b.cfg.Nav != nil {
		items, err := resolveNav(b.cfg.Nav, b.idx, b.cfgFile, &b.diags)
		if err != nil {
			return nil, err
		}
		navItems = items
	}
	for _, pg := range b.pages {
		pg.Meta, pg.TOC = pg.res.Meta, pg.res.TOC
		pg.Title = b.pageTitle(pg)
		pg.EditURL = b.editURL(pg)
	}
	if b.cfg.Nav == nil {
		navItems = deriveNav(b.pages)
	} else {
		fillNavTitles(navItems, b.idx)
	}
	order := navOrder(navItems, nil)
	for i, src := range order {
		pg := b.idx.pages[src]
		if i > 0 && pg.Previous == nil {
			u := b.idx.pages[order[i-1]].URL
			pg.Previous = &u
		}
		if i+1 < len(order) && pg.Next == nil {
			u := b.idx.pages[order[i+1]].URL
			pg.Next = &u
		}
	}
	b.progress(Progress{Phase: "check", Done: len(b.pages), Total: len(b.pages), Message: "checking links and anchors"})
	warnings := append([]Diagnostic(nil), b.diags...)
	for _, pg := range b.pages {
		for _, d := range pg.res.Diags {
			d.File = b.fsPath(pg.Src)
			warnings = append(warnings, d)
		}
		warnings = append(warnings, b.checkAnchors(pg)...)
	}
	sort.SliceStable(warnings, func(i, j int) bool {
		if warnings[i].File != warnings[j].File {
			return warnings[i].File < warnings[j].File
		}
		return warnings[i].Line < warnings[j].Line
	})

	site := &Site{Config: b.cfg, Pages: b.pages, Nav: navItems, Warnings: warnings, src: b.src,
		files: map[string]siteFile{}, Cache: &Cache{Version: builderVersion, Pages: map[string]*pageResult{}}}
	for _, pg := range b.pages {
		site.files[pg.Output] = siteFile{data: pg.res.HTML}
		site.Cache.Pages[pg.Src] = pg.res
	}
	for _, f := range b.files {
		if !b.idx.assets[f.rel] {
			continue
		}
		if _, clash := site.files[f.rel]; clash {
			site.Warnings = append(site.Warnings, Diagnostic{File: b.fsPath(f.rel), Message: "file has the same output path as a page and is not copied"})
			continue
		}
		site.files[f.rel] = siteFile{srcFS: f.fsPath, size: f.size, static: true}
	}
	navJSON, err := json.Marshal(NavDocument{SiteName: b.cfg.SiteName, SiteDescription: b.cfg.SiteDescription,
		RepoURL: b.cfg.RepoURL, Nav: navItems, Pages: b.pages})
	if err != nil {
		return nil, err
	}
	site.files[NavFile] = siteFile{data: navJSON}
	searchJSON, err := json.Marshal(b.searchIndex())
	if err != nil {
		return nil, err
	}
	site.files[SearchIndexFile] = siteFile{data: searchJSON}

	etag := b.opts.Etag
	if etag == "" {
		if etag, err = b.contentEtag(); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(site.files)+1)
	for name := range site.files {
		names = append(names, name)
	}
	sort.Strings(names)
	names = append(names, MetadataFile)
	site.Metadata = Metadata{SiteName: b.cfg.SiteName, SiteDescription: b.cfg.SiteDescription, Etag: etag,
		BuildTimestamp: b.opts.Now().UnixMilli(), Files: names}
	metaJSON, err := json.Marshal(site.Metadata)
	if err != nil {
		return nil, err
	}
	site.files[MetadataFile] = siteFile{data: metaJSON}
	site.indexDirs()
	return site, nil
}

// pageTitle follows mkdocs 1.6: the nav title, then front matter's title, then the first H1, then
// "Home" for the home page, then the file name.
func (b *builder) pageTitle(pg *Page) string {
	if pg.navTitle != "" {
		return pg.navTitle
	}
	if t, ok := pg.res.Meta["title"].(string); ok && strings.TrimSpace(t) != "" {
		return t
	}
	if pg.res.H1 != "" {
		return pg.res.H1
	}
	if pg.URL == "" {
		return "Home"
	}
	return titleFromName(pageStem(pg.Src))
}

// editURL joins repo_url and edit_uri as mkdocs does; GitHub and GitLab repositories get
// mkdocs' default edit_uri when none is set.
func (b *builder) editURL(pg *Page) string {
	repo, edit := b.cfg.RepoURL, b.cfg.EditURI
	if edit == "" && repo != "" {
		switch {
		case strings.Contains(repo, "github.com"):
			edit = "edit/master/docs/"
		case strings.Contains(repo, "gitlab.com"):
			edit = "-/edit/master/docs/"
		}
	}
	if edit == "" {
		return ""
	}
	if !isExternalURL(edit) {
		if repo == "" {
			return ""
		}
		edit = strings.TrimSuffix(repo, "/") + "/" + strings.TrimPrefix(edit, "/")
	}
	if !strings.HasSuffix(edit, "/") {
		edit += "/"
	}
	return edit + escapePath(pg.Src)
}

func (b *builder) checkAnchors(pg *Page) []Diagnostic {
	var out []Diagnostic
	for _, l := range pg.res.Links {
		target := b.idx.pages[l.Target]
		if target == nil || hasAnchor(target.res, l.Anchor) {
			continue
		}
		msg := fmt.Sprintf("link %q: no anchor #%s on %s", l.Raw, l.Anchor, l.Target)
		if l.Target == pg.Src {
			msg = fmt.Sprintf("link %q: no anchor #%s on this page", l.Raw, l.Anchor)
		}
		out = append(out, Diagnostic{File: b.fsPath(pg.Src), Line: l.Line, Message: msg})
	}
	return out
}

// hasAnchor also accepts the ids our own markup creates (footnotes, tabs, code lines), which
// authors link to without them being headings.
func hasAnchor(res *pageResult, anchor string) bool {
	i := sort.SearchStrings(res.IDs, anchor)
	if i < len(res.IDs) && res.IDs[i] == anchor {
		return true
	}
	for _, p := range []string{"fn:", "fnref:", "__tabbed_", "__codelineno-"} {
		if strings.HasPrefix(anchor, p) {
			return true
		}
	}
	return false
}

func (b *builder) searchIndex() SearchIndex {
	idx := SearchIndex{Config: SearchConfig{Indexing: "full", Lang: []string{"en"}, MinSearchLength: 3,
		Separator: `[\s\-]+`}}
	for _, pg := range b.pages {
		var all []string
		for _, s := range pg.res.Sections {
			if s.Title != "" {
				all = append(all, s.Title)
			}
			if s.Text != "" {
				all = append(all, s.Text)
			}
		}
		idx.Docs = append(idx.Docs, SearchEntry{Location: pg.URL, Title: pg.Title, Text: strings.Join(all, " ")})
		for _, s := range pg.res.Sections {
			if s.ID == "" {
				continue
			}
			idx.Docs = append(idx.Docs, SearchEntry{Location: pg.URL + "#" + s.ID, Title: s.Title, Text: s.Text})
		}
	}
	return idx
}

// contentEtag hashes every page's render key and every asset's bytes, so the etag changes
// exactly when the built output could.
func (b *builder) contentEtag() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", builderVersion, b.cfg.SiteName, b.cfg.SiteDescription)
	for _, f := range b.files {
		fmt.Fprintf(h, "%s\x00", f.rel)
		if pg, ok := b.idx.pages[f.rel]; ok {
			h.Write([]byte(pg.res.Key))
			continue
		}
		r, err := b.src.Open(f.fsPath)
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", f.rel, err)
		}
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", f.rel, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:40], nil
}

// Files returns every output path, sorted, with techdocs_metadata.json last: the order in which
// a publisher must write them.
func (s *Site) Files() []string { return s.Metadata.Files }

// ReadFile returns one output file's content, in a slice the caller owns.
func (s *Site) ReadFile(name string) ([]byte, error) {
	f, ok := s.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	if f.static {
		return fs.ReadFile(s.src, f.srcFS)
	}
	return append([]byte(nil), f.data...), nil
}

func (s *Site) indexDirs() {
	s.dirs = map[string][]string{".": nil}
	for name := range s.files {
		for dir, child := path.Dir(name), name; ; dir, child = path.Dir(dir), dir {
			_, seen := s.dirs[dir]
			s.dirs[dir] = append(s.dirs[dir], path.Base(child))
			if seen || dir == "." {
				break
			}
		}
	}
	for _, entries := range s.dirs {
		sort.Strings(entries)
	}
}

// Open implements fs.FS over the built site; assets are read from the source when opened.
func (s *Site) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := s.files[name]; ok {
		if f.static {
			return s.src.Open(f.srcFS)
		}
		return &memFile{name: path.Base(name), r: bytes.NewReader(f.data), size: int64(len(f.data))}, nil
	}
	if entries, ok := s.dirs[name]; ok {
		d := &memDir{name: path.Base(name)}
		for _, e := range entries {
			child := path.Join(name, e)
			if name == "." {
				child = e
			}
			_, isDir := s.dirs[child]
			f := s.files[child]
			if f.static {
				// An asset is the source's file, so its entry describes that file.
				info, err := fs.Stat(s.src, f.srcFS)
				if err != nil {
					return nil, err
				}
				d.entries = append(d.entries, fileEntry{FileInfo: info, name: e})
				continue
			}
			d.entries = append(d.entries, memInfo{name: e, dir: isDir, size: int64(len(f.data))})
		}
		return d, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

type memInfo struct {
	name string
	dir  bool
	size int64
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i memInfo) ModTime() time.Time         { return time.Time{} }
func (i memInfo) IsDir() bool                { return i.dir }
func (i memInfo) Sys() any                   { return nil }
func (i memInfo) Type() fs.FileMode          { return i.Mode().Type() }
func (i memInfo) Info() (fs.FileInfo, error) { return i, nil }

type memFile struct {
	name string
	r    *bytes.Reader
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{name: f.name, size: f.size}, nil }
func (f *memFile) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *memFile) Close() error               { return nil }

type memDir struct {
	name    string
	entries []fs.DirEntry
	off     int
}

// fileEntry is a source file's info under its name in the site.
type fileEntry struct {
	fs.FileInfo
	name string
}

func (e fileEntry) Name() string               { return e.name }
func (e fileEntry) Type() fs.FileMode          { return e.Mode().Type() }
func (e fileEntry) Info() (fs.FileInfo, error) { return e, nil }

func (d *memDir) Stat() (fs.FileInfo, error) { return memInfo{name: d.name, dir: true}, nil }
func (d *memDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}
func (d *memDir) Close() error { return nil }
func (d *memDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	d.off += len(rest)
	return append([]fs.DirEntry(nil), rest...), nil
}
