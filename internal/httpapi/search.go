package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/search"
)

// searchInput is Backstage's search query. Its client encodes the query with qs, so lists and
// objects arrive in brackets (types[0]=techdocs, filters[kind]=Component,
// filters[kind][0]=API); plain repetition (types=a&types=b) works too. The fields below document
// the parameters; Resolve reads them all from the URL.
type searchInput struct {
	Term       string   `query:"term" doc:"Words to look for. Every word must match; the last may be the start of a word; a misspelt name is corrected."`
	Types      []string `query:"types,explode" doc:"Document types to search (software-catalog, techdocs); types[0]=... as Backstage's client sends them also works"`
	Filters    string   `query:"filters" doc:"Field filters as filters[field]=value (repeat or use filters[field][0]=... for several values); a document matches when the field has one of the values"`
	PageCursor string   `query:"pageCursor" doc:"nextPageCursor or previousPageCursor from an earlier answer"`
	PageLimit  string   `query:"pageLimit" doc:"Results per page, 1 to 100 (default 25)"`

	query search.Query
	bad   error
}

// Resolve implements huma.Resolver: it reads Backstage's bracketed parameters, which huma's
// parameter binding does not know. Problems are kept for the handler, which reports them in
// Backstage's error body.
func (in *searchInput) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	in.query, in.bad = parseSearchQuery(u.Query())
	return nil
}

func parseSearchQuery(v url.Values) (search.Query, error) {
	q := search.Query{Term: v.Get("term"), PageCursor: v.Get("pageCursor")}
	if s := v.Get("pageLimit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, errs.E(errs.Invalid, "pageLimit %q is not a number", s)
		}
		if n < 1 {
			return q, errs.E(errs.Invalid, "pageLimit must be between 1 and %d", search.MaxPageLimit)
		}
		q.PageLimit = n
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	// types[10] must come after types[9]: order by the index, not the text.
	sort.Slice(keys, func(i, j int) bool { return bracketOrder(keys[i]) < bracketOrder(keys[j]) })
	for _, k := range keys {
		switch {
		case k == "types" || strings.HasPrefix(k, "types["):
			for _, t := range v[k] {
				for _, part := range strings.Split(t, ",") {
					if part = strings.TrimSpace(part); part != "" {
						q.Types = append(q.Types, part)
					}
				}
			}
		case strings.HasPrefix(k, "filters["):
			rest := strings.TrimPrefix(k, "filters[")
			field, after, ok := strings.Cut(rest, "]")
			if !ok || field == "" || (after != "" && !(strings.HasPrefix(after, "[") && strings.HasSuffix(after, "]"))) {
				return q, errs.E(errs.Invalid, "filter %q is not filters[field] or filters[field][index]", k)
			}
			if q.Filters == nil {
				q.Filters = map[string][]string{}
			}
			q.Filters[field] = append(q.Filters[field], v[k]...)
		}
	}
	return q, nil
}

// bracketOrder sorts "x[2]" before "x[10]" by padding the index.
func bracketOrder(k string) string {
	i := strings.LastIndexByte(k, '[')
	if i < 0 || !strings.HasSuffix(k, "]") {
		return k
	}
	n, err := strconv.Atoi(k[i+1 : len(k)-1])
	if err != nil {
		return k
	}
	return k[:i] + "[" + strings.Repeat("0", max(0, 10-len(strconv.Itoa(n)))) + strconv.Itoa(n) + "]"
}

type searchHighlightJSON struct {
	PreTag  string            `json:"preTag"`
	PostTag string            `json:"postTag"`
	Fields  map[string]string `json:"fields" doc:"The title and an excerpt of the text with matches between preTag and postTag"`
}

type searchResultJSON struct {
	Type string `json:"type" enum:"software-catalog,techdocs"`
	// Document is the document as indexed: title, text and location beside its fields (kind,
	// namespace, name, owner, lifecycle, type; for docs also entityTitle and path).
	Document  map[string]string    `json:"document"`
	Highlight *searchHighlightJSON `json:"highlight,omitempty"`
	Rank      int                  `json:"rank" doc:"Position in the whole result list, from 1"`
}

type searchOutput struct {
	Body struct {
		Results            []searchResultJSON `json:"results"`
		NextPageCursor     string             `json:"nextPageCursor,omitempty"`
		PreviousPageCursor string             `json:"previousPageCursor,omitempty"`
		NumberOfResults    int                `json:"numberOfResults"`
	}
}

func (s *Server) registerSearch() {
	svc := s.opts.Search
	op := huma.Operation{
		OperationID: "querySearch", Method: http.MethodGet, Path: "/api/search/query", Tags: []string{"Search"},
		Summary: "Search the catalog and every published docs page",
		Description: "Backstage's search API. Titles and names rank above headings, headings above body text; words " +
			"are stemmed (English); the last word also matches as a prefix; a word that matches no title or name is " +
			"corrected to the closest ones, so `paymnt` finds payment-service.",
		Errors:   []int{http.StatusBadRequest, http.StatusUnauthorized},
		Security: []map[string][]string{{"bearer": {}}},
	}
	huma.Register(s.api, op, func(ctx context.Context, in *searchInput) (*searchOutput, error) {
		if in.bad != nil {
			return nil, backstageErr(ctx, in.bad)
		}
		rs, err := svc.Query(ctx, in.query)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		out := &searchOutput{}
		out.Body.Results = make([]searchResultJSON, 0, len(rs.Results))
		for _, r := range rs.Results {
			j := searchResultJSON{Type: r.Type, Document: r.Document, Rank: r.Rank}
			if r.Highlight != nil {
				j.Highlight = &searchHighlightJSON{PreTag: r.Highlight.PreTag, PostTag: r.Highlight.PostTag, Fields: r.Highlight.Fields}
			}
			out.Body.Results = append(out.Body.Results, j)
		}
		out.Body.NextPageCursor, out.Body.PreviousPageCursor, out.Body.NumberOfResults = rs.NextPageCursor, rs.PreviousPageCursor, rs.NumberOfResults
		return out, nil
	})
}
