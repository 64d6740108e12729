package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

// facetDef is one filter of the catalog table: a query parameter and the search key it filters on.
type facetDef struct {
	Param string
	Key   string
	Label string
}

// catalogFacets are the catalog table's filters, in the order the sidebar shows them.
var catalogFacets = []facetDef{
	{Param: "kind", Key: "kind", Label: "Kind"},
	{Param: "type", Key: "spec.type", Label: "Type"},
	{Param: "owner", Key: "relations.ownedby", Label: "Owner"},
	{Param: "lifecycle", Key: "spec.lifecycle", Label: "Lifecycle"},
	{Param: "tag", Key: "metadata.tags", Label: "Tags"},
	{Param: "namespace", Key: "metadata.namespace", Label: "Namespace"},
}

// sortColumns are the columns the table sorts by, and the search keys behind them.
var sortColumns = map[string]string{
	"name": "metadata.name", "kind": "kind", "type": "spec.type", "owner": "spec.owner", "lifecycle": "spec.lifecycle",
}

// fullTextFields are what the catalog's search box matches (as substrings, case-insensitively).
var fullTextFields = []string{"metadata.name", "metadata.title", "metadata.description", "metadata.tags", "spec.profile.displayname"}

var pageSizes = []int{25, 50, 100}

// catalogState is the table's state as the URL carries it: filters, search, sort, page size and the cursor.
type catalogState struct {
	Q        string
	Selected map[string][]string
	Sort     string
	Desc     bool
	Limit    int
	Cursor   string
	Page     int
}

func parseCatalogState(q url.Values) catalogState {
	s := catalogState{Q: strings.TrimSpace(q.Get("q")), Selected: map[string][]string{}, Limit: pageSizes[0], Cursor: q.Get("cursor"), Page: 1}
	for _, f := range catalogFacets {
		for _, v := range q[f.Param] {
			if v = strings.TrimSpace(v); v != "" && !slices.Contains(s.Selected[f.Param], v) {
				s.Selected[f.Param] = append(s.Selected[f.Param], v)
			}
		}
	}
	sortBy := q.Get("sort")
	if strings.HasPrefix(sortBy, "-") {
		s.Desc, sortBy = true, sortBy[1:]
	}
	if _, ok := sortColumns[sortBy]; ok {
		s.Sort = sortBy
	} else {
		s.Desc = false
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && slices.Contains(pageSizes, n) {
		s.Limit = n
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 && s.Cursor != "" {
		s.Page = n
	}
	return s
}

// values encodes the state; the cursor and page are left out, since any change of state starts again at the
// first page.
func (s catalogState) values() url.Values {
	v := url.Values{}
	if s.Q != "" {
		v.Set("q", s.Q)
	}
	for _, f := range catalogFacets {
		for _, x := range s.Selected[f.Param] {
			v.Add(f.Param, x)
		}
	}
	if s.Sort != "" {
		if s.Desc {
			v.Set("sort", "-"+s.Sort)
		} else {
			v.Set("sort", s.Sort)
		}
	}
	if s.Limit != pageSizes[0] {
		v.Set("limit", strconv.Itoa(s.Limit))
	}
	return v
}

func (s catalogState) url() string {
	if enc := s.values().Encode(); enc != "" {
		return "/catalog?" + enc
	}
	return "/catalog"
}

// toggled is the state with one facet value switched on or off.
func (s catalogState) toggled(param, value string) catalogState {
	out := s.clone()
	list := out.Selected[param]
	if i := slices.IndexFunc(list, func(x string) bool { return strings.EqualFold(x, value) }); i >= 0 {
		out.Selected[param] = slices.Delete(slices.Clone(list), i, i+1)
	} else {
		out.Selected[param] = append(slices.Clone(list), value)
	}
	return out
}

func (s catalogState) clone() catalogState {
	out := s
	out.Selected = make(map[string][]string, len(s.Selected))
	for k, v := range s.Selected {
		out.Selected[k] = slices.Clone(v)
	}
	out.Cursor, out.Page = "", 1
	return out
}

// filter is the index filter of the selected facets, leaving one facet out (for that facet's own counts).
func (s catalogState) filter(except string) catalog.Filter {
	var parts []catalog.Filter
	for _, f := range catalogFacets {
		if f.Param == except || len(s.Selected[f.Param]) == 0 {
			continue
		}
		parts = append(parts, catalog.FilterKeyIn(f.Key, s.Selected[f.Param]...))
	}
	return catalog.FilterAllOf(parts...)
}

func (s catalogState) isSelected(param, value string) bool {
	return slices.ContainsFunc(s.Selected[param], func(x string) bool { return strings.EqualFold(x, value) })
}

type facetValue struct {
	Value    string
	Label    string
	Count    int
	Selected bool
	// Toggle is the table with this value switched.
	Toggle string
}

type facetView struct {
	facetDef
	Top  []facetValue
	More []facetValue
}

type activeFilter struct {
	Label  string
	Value  string
	Remove string
}

type sortHeader struct {
	Label string
	URL   string
	// Aria is the column's aria-sort value: ascending, descending or none.
	Aria string
}

type catalogView struct {
	State    catalogState
	Facets   []facetView
	Active   []activeFilter
	Headers  []sortHeader
	Rows     []entityRow
	Total    int
	From, To int
	NextURL  string
	PrevURL  string
	ClearURL string
	Hidden   []hiddenField
	Sizes    []int
	Errors   int
}

type hiddenField struct{ Name, Value string }

// facetShown is how many values of a facet show before "more".
const facetShown = 8

func (h *Handler) catalogList(w http.ResponseWriter, r *http.Request, v *viewer) error {
	st := parseCatalogState(r.URL.Query())
	ix := h.opts.Catalog.Index()
	req := catalog.QueryRequest{Cursor: st.Cursor, Limit: st.Limit, LimitSet: true}
	if st.Cursor == "" {
		req.Filter = st.filter("")
		if st.Sort != "" {
			req.OrderFields = []catalog.OrderField{{Field: sortColumns[st.Sort], Desc: st.Desc}}
		}
		if st.Q != "" {
			req.FullTextTerm, req.FullTextFields = st.Q, fullTextFields
		}
	}
	res, err := ix.Query(req)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			// A stale or mangled cursor: start again at the first page rather than fail.
			http.Redirect(w, r, st.url(), http.StatusSeeOther)
			return nil
		}
		return err
	}
	view := catalogView{State: st, Total: res.TotalItems, Sizes: pageSizes}
	for _, raw := range res.Items {
		view.Rows = append(view.Rows, toRow(raw))
	}
	view.From = (st.Page-1)*st.Limit + 1
	view.To = view.From + len(view.Rows) - 1
	if len(view.Rows) == 0 {
		view.From = 0
	}
	if res.NextCursor != "" {
		view.NextURL = pageURL(st, res.NextCursor, st.Page+1)
	}
	if res.PrevCursor != "" {
		view.PrevURL = pageURL(st, res.PrevCursor, st.Page-1)
	} else if st.Page > 1 {
		view.PrevURL = st.url()
	}
	view.Facets = h.facetViews(ix, st)
	for _, f := range catalogFacets {
		for _, val := range st.Selected[f.Param] {
			label := val
			if f.Param == "owner" {
				label = linkTo(strings.ToLower(val), catalog.DefaultNamespace).Label
			}
			view.Active = append(view.Active, activeFilter{Label: f.Label, Value: label, Remove: st.toggled(f.Param, val).url()})
		}
	}
	if st.Q != "" {
		cleared := st.clone()
		cleared.Q = ""
		view.Active = append(view.Active, activeFilter{Label: "Search", Value: st.Q, Remove: cleared.url()})
	}
	view.ClearURL = "/catalog"
	for _, c := range []struct{ key, label string }{{"name", "Name"}, {"kind", "Kind"}, {"type", "Type"}, {"owner", "Owner"}, {"lifecycle", "Lifecycle"}} {
		next := st.clone()
		hd := sortHeader{Label: c.label, Aria: "none"}
		switch {
		case st.Sort == c.key && !st.Desc:
			hd.Aria, next.Sort, next.Desc = "ascending", c.key, true
		case st.Sort == c.key:
			hd.Aria, next.Sort, next.Desc = "descending", "", false
		default:
			next.Sort, next.Desc = c.key, false
		}
		hd.URL = next.url()
		view.Headers = append(view.Headers, hd)
	}
	if st.Sort != "" {
		sortValue := st.Sort
		if st.Desc {
			sortValue = "-" + sortValue
		}
		view.Hidden = append(view.Hidden, hiddenField{"sort", sortValue})
	}
	title := "Catalog"
	if st.Q != "" {
		title = "Catalog: " + st.Q
	}
	return h.render(w, r, http.StatusOK, "catalog", pageData{Title: title, Section: "catalog", Viewer: v, Data: view})
}

func pageURL(st catalogState, cursor string, page int) string {
	q := st.values()
	q.Set("cursor", cursor)
	q.Set("page", strconv.Itoa(page))
	return "/catalog?" + q.Encode()
}

// facetViews counts each facet's values among the entities the other facets select, so that choosing a second
// value of a facet stays possible.
func (h *Handler) facetViews(ix *catalog.Index, st catalogState) []facetView {
	out := make([]facetView, 0, len(catalogFacets))
	for _, f := range catalogFacets {
		counts := ix.Facets([]string{f.Key}, st.filter(f.Param))[f.Key]
		fv := facetView{facetDef: f}
		seen := map[string]bool{}
		var values []facetValue
		for _, c := range counts {
			lower := strings.ToLower(c.Value)
			if seen[lower] {
				continue
			}
			seen[lower] = true
			values = append(values, h.facetValue(st, f, c.Value, c.Count))
		}
		// A selected value that matches nothing now still shows, so it can be switched off.
		for _, sel := range st.Selected[f.Param] {
			if !seen[strings.ToLower(sel)] {
				values = append(values, h.facetValue(st, f, sel, 0))
			}
		}
		for i, val := range values {
			if i < facetShown || val.Selected {
				fv.Top = append(fv.Top, val)
			} else {
				fv.More = append(fv.More, val)
			}
		}
		out = append(out, fv)
	}
	return out
}

func (h *Handler) facetValue(st catalogState, f facetDef, value string, count int) facetValue {
	label := value
	if f.Param == "owner" {
		label = linkTo(strings.ToLower(value), catalog.DefaultNamespace).Label
	}
	return facetValue{Value: value, Label: label, Count: count, Selected: st.isSelected(f.Param, value),
		Toggle: st.toggled(f.Param, value).url()}
}

// errorEntity is an entity with processing errors, as the errors view lists it.
type errorEntity struct {
	entityRow
	Target   string
	Messages []string
}

type errorsView struct {
	Locations []errorEntity
	Entities  []errorEntity
	Scanned   int
}

// statusMarker is how a stitched entity with processing errors starts its status. Stitching encodes entities
// with sorted keys, so "status" is the last key and such an entity ends with "]}}": the bytes can be sifted
// without decoding every entity, and a match is confirmed by decoding it.
var statusMarker = []byte(`"status":{"items":[`)

func hasStatus(raw []byte) bool {
	return bytes.HasSuffix(raw, []byte("]}}")) && bytes.LastIndex(raw, statusMarker) >= 0
}

// catalogErrors lists the entities and locations whose processing failed. It searches the stored bytes for a
// status, and decodes only the entities that have one.
func (h *Handler) catalogErrors(w http.ResponseWriter, r *http.Request, v *viewer) error {
	view := errorsView{}
	items, _ := h.opts.Catalog.Index().List(catalog.ListRequest{})
	view.Scanned = len(items)
	for _, raw := range items {
		if !hasStatus(raw) {
			continue
		}
		var d struct {
			Metadata struct {
				Annotations textMap `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				Target text `json:"target"`
			} `json:"spec"`
			Status struct {
				Items []struct {
					Level   text `json:"level"`
					Message text `json:"message"`
				} `json:"items"`
			} `json:"status"`
		}
		if json.Unmarshal(raw, &d) != nil || len(d.Status.Items) == 0 {
			continue
		}
		e := errorEntity{entityRow: toRow(raw), Target: string(d.Spec.Target)}
		for _, it := range d.Status.Items {
			e.Messages = append(e.Messages, string(it.Message))
		}
		if strings.EqualFold(e.Kind, "location") {
			if e.Target == "" {
				e.Target = d.Metadata.Annotations[catalog.AnnotationManagedByLocation]
			}
			view.Locations = append(view.Locations, e)
		} else {
			view.Entities = append(view.Entities, e)
		}
	}
	return h.render(w, r, http.StatusOK, "catalog_errors", pageData{Title: "Catalog errors", Section: "catalog", Viewer: v, Data: view})
}

// countErrors counts entities with processing errors, for the home page and the catalog's link to the errors view.
func countErrors(ix *catalog.Index) int {
	items, _ := ix.List(catalog.ListRequest{})
	n := 0
	for _, raw := range items {
		if hasStatus(raw) {
			n++
		}
	}
	return n
}
