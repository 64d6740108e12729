package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/flags"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/search"
)

type homeView struct {
	Q       string
	Results *searchResults
	Owned   []entityRow
	// OwnedTotal counts every component the viewer owns; OwnedURL lists them in the catalog.
	OwnedTotal int
	OwnedURL   string
	Kinds      []kindCount
	Changes    []auditRow
	FlagsOn    bool
	// Docs says the search covers TechDocs too.
	Docs bool
	// Errors counts entities whose processing failed.
	Errors int
	// Tasks are the viewer's recent scaffolder tasks; TasksOn says the scaffolder is configured.
	Tasks   []taskRow
	TasksOn bool
	// Releases are the newest deploys; DeploysOn says deploys are configured.
	Releases  []releaseRow
	DeploysOn bool
}

type kindCount struct {
	Kind  string
	Count int
	URL   string
}

// searchResults is one page of the home page's search.
type searchResults struct {
	Items []searchItem
	Total int
	// More links to the whole result list in the catalog.
	More string
	// Docs says whether docs were searched too.
	Docs bool
}

type searchItem struct {
	Type  string
	Title []highlightPart
	Text  []highlightPart
	URL   string
	Kind  string
	Owner string
}

type highlightPart struct {
	Text string
	Mark bool
}

const homeOwnedMax = 8

func (h *Handler) home(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ix := h.opts.Catalog.Index()
	view := homeView{Q: strings.TrimSpace(r.URL.Query().Get("q")), FlagsOn: h.opts.Flags != nil, Docs: h.opts.Search != nil}
	if view.Q != "" {
		res, err := h.search(r, ix, view.Q)
		if err != nil {
			return err
		}
		view.Results = res
	}
	// The components the viewer's user entity or groups own.
	if owned := v.Principal.Ownership; len(owned) > 0 {
		res, err := ix.Query(catalog.QueryRequest{Filter: catalog.FilterAllOf(catalog.FilterKeyIn("kind", "component"),
			catalog.FilterKeyIn("relations.ownedby", owned...)), Limit: homeOwnedMax, LimitSet: true})
		if err != nil {
			return err
		}
		for _, raw := range res.Items {
			view.Owned = append(view.Owned, toRow(raw))
		}
		view.OwnedTotal = res.TotalItems
		q := url.Values{"kind": {"component"}}
		for _, o := range owned {
			q.Add("owner", o)
		}
		view.OwnedURL = "/catalog?" + q.Encode()
	}
	for _, c := range ix.Facets([]string{"kind"}, nil)["kind"] {
		view.Kinds = append(view.Kinds, kindCount{Kind: c.Value, Count: c.Count, URL: "/catalog?kind=" + url.QueryEscape(c.Value)})
	}
	view.Errors = countErrors(ix)
	view.DeploysOn = h.deploysConfigured()
	view.Releases = h.recentReleases(r)
	if h.opts.Scaffolder != nil {
		view.TasksOn = true
		tasks, _, err := h.opts.Scaffolder.ListTasks(r.Context(), scaffolder.TaskFilter{CreatedBy: []string{v.Principal.Subject}, Order: "desc:created_at", Limit: 5})
		if err != nil {
			h.opts.Log.Warn("home: cannot read recent tasks", "err", err)
		}
		for _, t := range tasks {
			view.Tasks = append(view.Tasks, toTaskRow(t))
		}
	}
	if h.opts.Flags != nil {
		entries, err := h.opts.Flags.Audit(r.Context(), flags.AuditQuery{Limit: 8})
		if err != nil {
			h.opts.Log.Warn("home: cannot read recent flag changes", "err", err)
		}
		view.Changes = toAuditRows(entries)
	}
	return h.render(w, r, http.StatusOK, "home", pageData{Title: "Home", Section: "home", Viewer: v, Data: view})
}

const homeResultsMax = 10

// search runs the portal-wide search when it is configured (catalog and docs, ranked), else the catalog index's
// full-text match.
func (h *Handler) search(r *http.Request, ix *catalog.Index, q string) (*searchResults, error) {
	more := "/catalog?q=" + url.QueryEscape(q)
	if h.opts.Search != nil {
		rs, err := h.opts.Search.Query(r.Context(), search.Query{Term: q, PageLimit: homeResultsMax})
		if err == nil {
			out := &searchResults{Total: rs.NumberOfResults, More: more, Docs: true}
			for _, res := range rs.Results {
				item := searchItem{Type: res.Type, URL: safeLocation(res.Document["location"]), Kind: res.Document["kind"],
					Owner: res.Document["owner"]}
				item.Title = []highlightPart{{Text: res.Document["title"]}}
				item.Text = []highlightPart{{Text: res.Document["text"]}}
				if hl := res.Highlight; hl != nil {
					if t := hl.Fields["title"]; t != "" {
						item.Title = splitHighlight(t, hl.PreTag, hl.PostTag)
					}
					if t := hl.Fields["text"]; t != "" {
						item.Text = splitHighlight(t, hl.PreTag, hl.PostTag)
					}
				}
				out.Items = append(out.Items, item)
			}
			return out, nil
		}
		h.opts.Log.Warn("home: search failed; falling back to the catalog index", "err", err)
	}
	res, err := ix.Query(catalog.QueryRequest{FullTextTerm: q, FullTextFields: fullTextFields, Limit: homeResultsMax, LimitSet: true})
	if err != nil {
		return nil, err
	}
	out := &searchResults{Total: res.TotalItems, More: more}
	for _, raw := range res.Items {
		row := toRow(raw)
		title := row.Title
		if title == "" {
			title = row.Name
		}
		out.Items = append(out.Items, searchItem{Type: search.TypeCatalog, URL: row.URL, Kind: row.Kind, Owner: row.Owner.Label,
			Title: markTerm(title, q), Text: markTerm(row.Description, q)})
	}
	return out, nil
}

// safeLocation keeps search result links on this site.
func safeLocation(loc string) string {
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") {
		return loc
	}
	return ""
}

// splitHighlight cuts a highlighted field at the search's tags, so the template marks matches without the text
// ever being trusted as HTML.
func splitHighlight(s, pre, post string) []highlightPart {
	var out []highlightPart
	for s != "" {
		i := strings.Index(s, pre)
		if i < 0 {
			out = append(out, highlightPart{Text: s})
			break
		}
		if i > 0 {
			out = append(out, highlightPart{Text: s[:i]})
		}
		s = s[i+len(pre):]
		j := strings.Index(s, post)
		if j < 0 {
			out = append(out, highlightPart{Text: s, Mark: true})
			break
		}
		out = append(out, highlightPart{Text: s[:j], Mark: true})
		s = s[j+len(post):]
	}
	return out
}

// markTerm marks case-insensitive occurrences of term in s.
func markTerm(s, term string) []highlightPart {
	if term == "" || s == "" {
		return []highlightPart{{Text: s}}
	}
	lower, lt := strings.ToLower(s), strings.ToLower(term)
	if len(lower) != len(s) {
		// Lowercasing changed byte lengths (rare scripts); do not risk cutting a character.
		return []highlightPart{{Text: s}}
	}
	var out []highlightPart
	for {
		i := strings.Index(lower, lt)
		if i < 0 {
			if s != "" {
				out = append(out, highlightPart{Text: s})
			}
			return out
		}
		if i > 0 {
			out = append(out, highlightPart{Text: s[:i]})
		}
		out = append(out, highlightPart{Text: s[i : i+len(lt)], Mark: true})
		s, lower = s[i+len(lt):], lower[i+len(lt):]
	}
}
