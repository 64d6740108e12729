package web

import (
	"context"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/techdocs"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

// TechDocs is what the docs pages read published sites through; *tdservice.Service implements it.
type TechDocs interface {
	// Open returns one published file of an entity's docs; errs.NotFound when there is none.
	Open(ctx context.Context, ref catalog.Ref, name string) (io.ReadCloser, string, error)
	// Status returns the builds of every tracked entity, or of one (errs.NotFound when untracked).
	Status(ctx context.Context, ref *catalog.Ref) ([]tdservice.Build, error)
	// RequestBuild asks for an entity's docs to be rebuilt now.
	RequestBuild(ctx context.Context, ref catalog.Ref) (tdservice.Build, error)
}

var _ TechDocs = (*tdservice.Service)(nil)

// docsPolicy is what a published page may keep when it is placed in the portal's page. Sites built by the
// portal are sanitized when they are built; sites published from elsewhere (techdocs.builder external) are
// not, so every page goes through this again: no scripts, styles, event handlers, forms or script URLs.
var docsPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(false)
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^[\w\- ]*$`)).Globally()
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[\w\-:.]+$`)).Globally()
	p.AllowElements("details", "summary", "mark", "ins", "del", "sub", "sup", "kbd", "abbr", "figure",
		"figcaption", "picture", "small", "span", "div", "section", "article", "aside", "input", "label")
	p.AllowAttrs("open").OnElements("details")
	p.AllowAttrs("title").OnElements("abbr", "span", "a")
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^(radio|checkbox)$`)).OnElements("input")
	p.AllowAttrs("name", "checked", "disabled").OnElements("input")
	p.AllowAttrs("for").OnElements("label")
	p.AllowAttrs("width", "height").Matching(regexp.MustCompile(`^[0-9]+(px|%)?$`)).OnElements("img", "td", "th", "table")
	p.AllowDataURIImages()
	p.AllowURLSchemes("http", "https", "mailto")
	return p
}()

// documentedFilter selects the entities that declare docs.
var documentedFilter = catalog.FilterKeyExists("metadata.annotations." + catalog.AnnotationTechDocsRef)

type docsIndexView struct {
	Rows    []docsRow
	Total   int
	NextURL string
	PrevURL string
	Q       string
}

type docsRow struct {
	entityRow
	DocsURL string
	State   string
	Built   *time.Time
}

// docsIndex lists the documented entities, a page at a time, with each one's build state.
func (h *Handler) docsIndex(w http.ResponseWriter, r *http.Request, v *viewer) error {
	q := r.URL.Query()
	req := catalog.QueryRequest{Cursor: q.Get("cursor"), Limit: 50, LimitSet: true}
	view := docsIndexView{Q: strings.TrimSpace(q.Get("q"))}
	if req.Cursor == "" {
		req.Filter = documentedFilter
		req.OrderFields = []catalog.OrderField{{Field: "metadata.title"}}
		if view.Q != "" {
			req.FullTextTerm, req.FullTextFields = view.Q, fullTextFields
		}
	}
	res, err := h.opts.Catalog.Index().Query(req)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			http.Redirect(w, r, "/docs", http.StatusSeeOther)
			return nil
		}
		return err
	}
	builds := map[string]tdservice.Build{}
	if list, err := h.opts.TechDocs.Status(r.Context(), nil); err == nil {
		for _, b := range list {
			builds[b.EntityRef] = b
		}
	} else {
		h.opts.Log.Warn("docs: cannot read build states", "err", err)
	}
	view.Total = res.TotalItems
	for _, raw := range res.Items {
		row := docsRow{entityRow: toRow(raw)}
		row.DocsURL = docsURL(row.Ref, "")
		if b, ok := builds[row.Ref]; ok {
			row.State, row.Built = b.State, b.FinishedAt
		} else {
			row.State = tdservice.StatePending
		}
		view.Rows = append(view.Rows, row)
	}
	keep := url.Values{}
	if view.Q != "" {
		keep.Set("q", view.Q)
	}
	if res.NextCursor != "" {
		keep.Set("cursor", res.NextCursor)
		view.NextURL = "/docs?" + keep.Encode()
	}
	if res.PrevCursor != "" {
		keep.Set("cursor", res.PrevCursor)
		view.PrevURL = "/docs?" + keep.Encode()
	}
	return h.render(w, r, http.StatusOK, "docs", pageData{Title: "Docs", Section: "docs", Viewer: v, Data: view})
}

// docsURL is the reader's address of a page of an entity's docs.
func docsURL(ref, page string) string {
	u := entityURL(ref)
	if u == "" {
		return ""
	}
	return "/docs" + strings.TrimPrefix(u, "/catalog") + "/" + page
}

type docsPageView struct {
	Entity    refLink
	EntityURL string
	Base      string
	SiteName  string
	Title     string
	Content   template.HTML
	Nav       []navLink
	TOC       []tocLink
	Previous  *navLink
	Next      *navLink
	EditURL   string
	Build     *buildView
	CanBuild  bool
	Q         string
	Results   []docsHit
	Searched  bool
	NotBuilt  bool
	NoDocs    bool
}

type navLink struct {
	Title    string
	URL      string
	External bool
	Current  bool
	Children []navLink
}

type tocLink struct {
	Title    string
	ID       string
	Children []tocLink
}

type buildView struct {
	State    string
	Finished *time.Time
	Warnings int
	Error    string
}

type docsHit struct {
	Title   string
	URL     string
	Excerpt []highlightPart
}

// docsPage reads an entity's docs: the page at the path (with the site's navigation, the page's table of
// contents and search within the site), or a file the page refers to (an image), served as published.
func (h *Handler) docsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ref := catalog.Ref{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}.Lower()
	raw, ok := h.opts.Catalog.Index().Get(ref.String())
	if !ok {
		return errs.E(errs.NotFound, "No entity named '%s' found, with kind '%s' in namespace '%s'", ref.Name, ref.Kind, ref.Namespace)
	}
	row := toRow(raw)
	view := &docsPageView{Entity: linkTo(ref.String(), ref.Namespace), EntityURL: entityURL(ref.String()), Base: docsURL(ref.String(), ""),
		Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	view.CanBuild = auth.Decide(v.Principal, auth.DocsBuild, auth.Resource{}) == nil
	if builds, err := h.opts.TechDocs.Status(r.Context(), &ref); err == nil && len(builds) > 0 {
		b := builds[0]
		view.Build = &buildView{State: b.State, Finished: b.FinishedAt, Warnings: len(b.Warnings), Error: b.Error}
	}
	var md struct {
		Metadata struct {
			Annotations textMap `json:"annotations"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &md)
	if md.Metadata.Annotations[catalog.AnnotationTechDocsRef] == "" {
		view.NoDocs, view.Title = true, row.Name
		return h.render(w, r, http.StatusNotFound, "docs_page", pageData{Title: row.Name + " · docs", Section: "docs", Viewer: v, Data: view})
	}
	nav, err := h.readNav(r.Context(), ref)
	if errs.Is(err, errs.NotFound) {
		view.NotBuilt, view.Title = true, row.Name
		if row.Title != "" {
			view.Title = row.Title
		}
		return h.render(w, r, http.StatusOK, "docs_page", pageData{Title: view.Title + " · docs", Section: "docs", Viewer: v, Data: view})
	}
	if err != nil {
		return err
	}
	view.SiteName = nav.SiteName
	rest := r.PathValue("path")
	page := findPage(nav, rest)
	if page == nil {
		// Not a page: a file a page refers to (an image, a download), served as published.
		if rest != "" && !strings.HasSuffix(rest, "/") {
			return h.docsFile(w, r, ref, rest)
		}
		return errs.E(errs.NotFound, "%s's docs have no page %q", ref.String(), rest)
	}
	if page.URL != rest {
		http.Redirect(w, r, view.Base+page.URL, http.StatusSeeOther)
		return nil
	}
	f, _, err := h.opts.TechDocs.Open(r.Context(), ref, page.Output)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(f, 8<<20))
	_ = f.Close()
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "cannot read %s's docs page %q", ref.String(), page.Output)
	}
	view.Content = template.HTML(docsPolicy.SanitizeBytes(body))
	view.Title, view.EditURL = page.Title, safeExternal(page.EditURL)
	view.Nav = navLinks(nav.Nav, view.Base, page.URL)
	if len(view.Nav) == 0 {
		for _, p := range nav.Pages {
			view.Nav = append(view.Nav, navLink{Title: p.Title, URL: view.Base + p.URL, Current: p.URL == page.URL})
		}
	}
	view.TOC = tocLinks(page.TOC)
	byURL := map[string]*techdocs.Page{}
	for _, p := range nav.Pages {
		byURL[p.URL] = p
	}
	if page.Previous != nil {
		if p := byURL[*page.Previous]; p != nil {
			view.Previous = &navLink{Title: p.Title, URL: view.Base + p.URL}
		}
	}
	if page.Next != nil {
		if p := byURL[*page.Next]; p != nil {
			view.Next = &navLink{Title: p.Title, URL: view.Base + p.URL}
		}
	}
	if view.Q != "" {
		view.Searched = true
		view.Results = h.searchSite(r.Context(), ref, view.Base, view.Q)
	}
	title := page.Title
	if nav.SiteName != "" && nav.SiteName != title {
		title += " · " + nav.SiteName
	}
	return h.render(w, r, http.StatusOK, "docs_page", pageData{Title: title, Section: "docs", Viewer: v, Data: view})
}

func (h *Handler) readNav(ctx context.Context, ref catalog.Ref) (*techdocs.NavDocument, error) {
	f, _, err := h.opts.TechDocs.Open(ctx, ref, techdocs.NavFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var nav techdocs.NavDocument
	if err := json.NewDecoder(io.LimitReader(f, 32<<20)).Decode(&nav); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "%s's docs navigation is not readable", ref.String())
	}
	return &nav, nil
}

// findPage finds the page at a reader path: its URL, or its URL without the trailing slash, or its output file.
func findPage(nav *techdocs.NavDocument, rest string) *techdocs.Page {
	for _, p := range nav.Pages {
		if p.URL == rest {
			return p
		}
	}
	for _, p := range nav.Pages {
		if rest != "" && (p.URL == rest+"/" || p.Output == rest || p.Output == rest+"/index.html") {
			return p
		}
	}
	return nil
}

// docsFile serves a published file that is not a page, with the type the TechDocs service gives it (HTML and
// other active types as text), so nothing published can run as the portal.
func (h *Handler) docsFile(w http.ResponseWriter, r *http.Request, ref catalog.Ref, name string) error {
	f, ctype, err := h.opts.TechDocs.Open(r.Context(), ref, name)
	if err != nil {
		return err
	}
	defer f.Close()
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'none'; sandbox")
	hd.Set("Cache-Control", "private, max-age=300")
	_, _ = io.Copy(w, f)
	return nil
}

func navLinks(items []techdocs.NavItem, base, current string) []navLink {
	out := make([]navLink, 0, len(items))
	for _, it := range items {
		l := navLink{Title: it.Title, External: it.External}
		switch {
		case it.External:
			l.URL = safeExternal(it.URL)
		case it.URL != "" || it.Src != "":
			l.URL, l.Current = base+it.URL, it.URL == current && it.Src != ""
		}
		l.Children = navLinks(it.Children, base, current)
		out = append(out, l)
	}
	return out
}

func tocLinks(entries []techdocs.TOCEntry) []tocLink {
	out := make([]tocLink, 0, len(entries))
	for _, e := range entries {
		out = append(out, tocLink{Title: e.Title, ID: e.ID, Children: tocLinks(e.Children)})
	}
	return out
}

// safeExternal keeps http(s) links only.
func safeExternal(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}

// siteHitsMax bounds search results within a site.
const siteHitsMax = 20

// searchSite matches the site's own search index (mkdocs' search_index.json): titles first, then text.
func (h *Handler) searchSite(ctx context.Context, ref catalog.Ref, base, q string) []docsHit {
	f, _, err := h.opts.TechDocs.Open(ctx, ref, techdocs.SearchIndexFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	var idx techdocs.SearchIndex
	if json.NewDecoder(io.LimitReader(f, 64<<20)).Decode(&idx) != nil {
		return nil
	}
	term := strings.ToLower(q)
	type scored struct {
		hit   docsHit
		score int
	}
	var hits []scored
	for _, d := range idx.Docs {
		inTitle := strings.Contains(strings.ToLower(d.Title), term)
		pos := strings.Index(strings.ToLower(d.Text), term)
		if !inTitle && pos < 0 {
			continue
		}
		hit := docsHit{Title: d.Title, URL: base + d.Location}
		if pos >= 0 {
			hit.Excerpt = markTerm(excerpt(d.Text, pos, len(term)), q)
		}
		score := 1
		if inTitle {
			score = 2
		}
		hits = append(hits, scored{hit, score})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
	out := make([]docsHit, 0, min(len(hits), siteHitsMax))
	for _, s := range hits[:min(len(hits), siteHitsMax)] {
		out = append(out, s.hit)
	}
	return out
}

// excerpt is about 200 bytes of text around a match, cut at spaces.
func excerpt(s string, pos, n int) string {
	from, to := max(0, pos-80), min(len(s), pos+n+120)
	for from > 0 && s[from-1] != ' ' {
		from--
	}
	for to < len(s) && s[to] != ' ' {
		to++
	}
	out := strings.TrimSpace(s[from:to])
	if from > 0 {
		out = "…" + out
	}
	if to < len(s) {
		out += "…"
	}
	return out
}

// docsRebuild asks for the entity's docs to be built again now.
func (h *Handler) docsRebuild(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.TechDocs == nil {
		return errs.E(errs.Unavailable, "TechDocs is not configured on this portal.")
	}
	if err := auth.Decide(v.Principal, auth.DocsBuild, auth.Resource{}); err != nil {
		return err
	}
	ref := catalog.Ref{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}.Lower()
	if _, err := h.opts.TechDocs.RequestBuild(r.Context(), ref); err != nil {
		return err
	}
	h.record(r, v.Principal, "rebuildDocs", ref.String(), http.StatusAccepted, nil, nil)
	h.redirectAfterChange(w, r, docsURL(ref.String(), ""), "A new build of these docs is on its way; reload in a moment.")
	return nil
}

// docsTabStatus fills the entity page's Docs tab from the TechDocs service.
func (h *Handler) docsTabStatus(r *http.Request, ref string, tab *docsTabView) {
	tab.Configured = true
	tab.ReaderURL = docsURL(ref, "")
	r2, err := catalog.ParseCanonicalRef(ref)
	if err != nil {
		return
	}
	if builds, err := h.opts.TechDocs.Status(r.Context(), &r2); err == nil && len(builds) > 0 {
		b := builds[0]
		tab.Build = &buildView{State: b.State, Finished: b.FinishedAt, Warnings: len(b.Warnings), Error: b.Error}
	}
}
