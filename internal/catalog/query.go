package catalog

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// DefaultQueryLimit is the page size of by-query requests that give no limit (current Backstage).
const DefaultQueryLimit = 200

// QueryRequest is GET or POST /entities/by-query. With a Cursor, only Limit and Fields apply:
// everything else travels inside the cursor.
type QueryRequest struct {
	Cursor         string
	Filter         Filter
	OrderFields    []OrderField // only the first is honoured, as in Backstage
	FullTextTerm   string
	FullTextFields []string
	Limit          int
	LimitSet       bool // Limit 0 is legal and returns only the count
	Offset         int  // initial requests only
	Fields         []string
	SkipTotal      bool
	// Predicate marks requests from the POST endpoint; their cursors carry a truthy "query", which
	// is how @backstage/catalog-client knows to follow up with POST.
	Predicate bool
}

// QueryResponse is the by-query result; the HTTP layer wraps the cursors in pageInfo.
type QueryResponse struct {
	// Items is set by Query; QueryPage leaves it to Page.
	Items      []json.RawMessage
	Page       Page
	TotalItems int
	NextCursor string
	PrevCursor string
}

// queryCursor is the cursor's JSON, modelled on Backstage's so that it reads familiarly when
// decoded: base64 of this object. Order values are [ref] for the default order and
// [value or null, uid] with an order field.
type queryCursor struct {
	OrderFields          []cursorOrderField `json:"orderFields"`
	OrderFieldValues     []*string          `json:"orderFieldValues"`
	Filter               json.RawMessage    `json:"filter,omitempty"`
	FullTextFilter       *cursorFullText    `json:"fullTextFilter,omitempty"`
	IsPrevious           bool               `json:"isPrevious"`
	Query                string             `json:"query,omitempty"`
	FirstSortFieldValues []*string          `json:"firstSortFieldValues,omitempty"`
	TotalItems           *int               `json:"totalItems,omitempty"`
}

type cursorOrderField struct {
	Field string `json:"field"`
	Order string `json:"order"`
}

type cursorFullText struct {
	Term   string   `json:"term"`
	Fields []string `json:"fields,omitempty"`
}

func (c *queryCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.StdEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor and the filter inside it.
func decodeCursor(s string) (*queryCursor, Filter, error) {
	c, f, err := parseCursor(s)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Invalid, err, "Malformed cursor: %v", err)
	}
	return c, f, nil
}

func parseCursor(s string) (*queryCursor, Filter, error) {
	// Be lenient about the base64 flavour, as Node's Buffer.from(s, 'base64') is, and about a '+'
	// that reached us as a space because a client did not escape it.
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "+")
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, nil, errors.New("not base64")
	}
	var c queryCursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, nil, errors.New("not a JSON cursor object")
	}
	if len(c.OrderFields) > 1 {
		return nil, nil, errors.New("more than one order field")
	}
	for _, o := range c.OrderFields {
		if o.Order != "asc" && o.Order != "desc" {
			return nil, nil, errors.New("order must be asc or desc")
		}
	}
	if err := checkCursorValues(c.OrderFieldValues, len(c.OrderFields) > 0); err != nil {
		return nil, nil, err
	}
	if c.FirstSortFieldValues != nil {
		if err := checkCursorValues(c.FirstSortFieldValues, len(c.OrderFields) > 0); err != nil {
			return nil, nil, err
		}
	}
	if c.TotalItems != nil && *c.TotalItems < 0 {
		return nil, nil, errors.New("negative totalItems")
	}
	var parts []Filter
	if len(c.Filter) > 0 && string(c.Filter) != "null" {
		n, err := decodeFilterJSON(c.Filter, 0)
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, n)
	}
	if c.Query != "" {
		n, err := decodeFilterJSON(json.RawMessage(c.Query), 0)
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, n)
	}
	return &c, FilterAllOf(parts...), nil
}

func checkCursorValues(v []*string, sorted bool) error {
	switch {
	case !sorted && (len(v) != 1 || v[0] == nil):
		return errors.New("expected orderFieldValues [ref]")
	case sorted && (len(v) != 2 || v[1] == nil):
		return errors.New("expected orderFieldValues [value, uid]")
	}
	return nil
}

// queryOrder is the total order of a by-query listing, which keyset paging walks.
type queryOrder struct {
	ix    *Index
	field string // "" for canonical ref order
	desc  bool
	vals  []*indexValue // by id, with a field
}

func (o *queryOrder) sorted() bool { return o.vals != nil }

// key returns the cursor values of an entity.
func (o *queryOrder) key(id uint32) []*string {
	d := o.ix.docs[id]
	if !o.sorted() {
		return []*string{&d.ref}
	}
	var v *string
	if sv := o.vals[id]; sv != nil {
		v = &sv.value
	}
	return []*string{v, &d.uid}
}

// compareTo places an entity relative to cursor values.
func (o *queryOrder) compareTo(id uint32, key []*string) int {
	d := o.ix.docs[id]
	if !o.sorted() {
		return strings.Compare(d.ref, *key[0])
	}
	// Cursor values are compared as if they were an entry of the index.
	var cv *indexValue
	if key[0] != nil {
		cv = &indexValue{value: *key[0]}
	}
	return compareSorted(o.vals[id], d.uid, cv, *key[1], o.desc, o.desc)
}

// Query serves one page of /entities/by-query: keyset-paged, so that following nextCursor visits
// every matching entity exactly once even while entities change between pages.
func (ix *Index) Query(req QueryRequest) (QueryResponse, error) {
	resp, err := ix.QueryPage(req)
	if err != nil {
		return QueryResponse{}, err
	}
	resp.Items = resp.Page.Items()
	return resp, nil
}

// QueryPage is Query for callers that write the entities out one at a time: it leaves Items
// unset, and the entities are read from Page.
func (ix *Index) QueryPage(req QueryRequest) (QueryResponse, error) {
	limit := DefaultQueryLimit
	if req.LimitSet {
		limit = max(req.Limit, 0)
	}

	var c *queryCursor
	var f Filter
	initial := req.Cursor == ""
	if initial {
		c, f = newQueryCursor(req)
	} else {
		var err error
		if c, f, err = decodeCursor(req.Cursor); err != nil {
			return QueryResponse{}, err
		}
	}

	order := queryOrder{ix: ix}
	if len(c.OrderFields) > 0 {
		order.field = c.OrderFields[0].Field
		order.desc = c.OrderFields[0].Order == "desc"
	}

	ix.mu.RLock()
	m := ix.match(f)
	if ft := c.FullTextFilter; ft != nil {
		fields := ft.Fields
		if len(fields) == 0 {
			fields = []string{"metadata.uid"}
			if len(c.OrderFields) > 0 {
				fields = []string{order.field}
			}
		}
		t := ix.fullText(strings.ToLower(ft.Term), fields)
		if m == nil {
			m = t
		} else {
			m.and(t)
		}
	}
	var ids []uint32
	var lo, hi, matched int
	if len(c.OrderFields) == 0 {
		// Already in order: find the window by binary search.
		ids = ix.inRefOrder(m)
		n := len(ids)
		matched = n
		switch {
		case initial:
			lo = min(max(req.Offset, 0), n)
			hi = min(lo+limit+1, n)
		case !c.IsPrevious:
			lo = sort.Search(n, func(i int) bool { return order.compareTo(ids[i], c.OrderFieldValues) > 0 })
			hi = min(lo+limit+1, n)
		default:
			hi = sort.Search(n, func(i int) bool { return order.compareTo(ids[i], c.OrderFieldValues) >= 0 })
			lo = max(hi-limit, 0)
		}
	} else {
		// Keep the entities on the requested side of the cursor, then order only as many as the
		// page needs.
		order.vals = ix.sortValues(order.field, order.desc, m)
		ids = ix.members(m)
		matched = len(ids)
		cmp := func(a, b uint32) int {
			return compareSorted(order.vals[a], ix.docs[a].uid, order.vals[b], ix.docs[b].uid, order.desc, order.desc)
		}
		if !initial {
			kept := ids[:0]
			for _, id := range ids {
				if rel := order.compareTo(id, c.OrderFieldValues); rel != 0 && (rel > 0) != c.IsPrevious {
					kept = append(kept, id)
				}
			}
			ids = kept
		}
		switch {
		case initial:
			lo = min(max(req.Offset, 0), len(ids))
			hi = min(lo+limit+1, len(ids))
			sortSmallest(ids, hi, cmp)
		case !c.IsPrevious:
			hi = min(limit+1, len(ids))
			sortSmallest(ids, hi, cmp)
		default:
			// The page just before the cursor: the largest entities below it.
			k := min(limit, len(ids))
			sortSmallest(ids, k, func(a, b uint32) int { return cmp(b, a) })
			slices.Reverse(ids[:k])
			hi = k
		}
	}
	page := ids[lo:hi]
	hasMore := limit > 0 && (c.IsPrevious || len(page) > limit)
	if len(page) > limit {
		page = page[:limit]
	}
	var firstKey, lastKey []*string
	if len(page) > 0 {
		firstKey, lastKey = order.key(page[0]), order.key(page[len(page)-1])
	}
	items := ix.page(page, req.Fields)
	ix.mu.RUnlock()

	total := 0
	switch {
	case c.TotalItems != nil:
		total = *c.TotalItems
	case initial && !req.SkipTotal:
		total = matched
	}

	resp := QueryResponse{Page: items, TotalItems: total}
	first := c.FirstSortFieldValues
	if initial {
		first = firstKey
	}
	if hasMore {
		next := *c
		next.OrderFieldValues = c.OrderFieldValues // an empty backward page resumes where it was
		if lastKey != nil {
			next.OrderFieldValues = lastKey
		}
		next.FirstSortFieldValues = first
		next.IsPrevious = false
		next.TotalItems = &total
		resp.NextCursor = next.encode()
	}
	if !initial && firstKey != nil && !equalCursorValues(firstKey, c.FirstSortFieldValues) {
		prev := *c
		prev.OrderFieldValues = firstKey
		prev.FirstSortFieldValues = c.FirstSortFieldValues
		prev.IsPrevious = true
		prev.TotalItems = &total
		resp.PrevCursor = prev.encode()
	}
	return resp, nil
}

// newQueryCursor captures an initial request in cursor form, so that the first page and the
// following ones run through the same code.
func newQueryCursor(req QueryRequest) (*queryCursor, Filter) {
	c := &queryCursor{OrderFields: []cursorOrderField{}}
	if len(req.OrderFields) > 0 {
		o := req.OrderFields[0]
		order := "asc"
		if o.Desc {
			order = "desc"
		}
		c.OrderFields = append(c.OrderFields, cursorOrderField{Field: strings.ToLower(o.Field), Order: order})
	}
	if term := strings.TrimSpace(req.FullTextTerm); term != "" {
		ft := &cursorFullText{Term: term}
		// The client sends the fields comma-joined in one parameter; accept them split or not.
		for _, joined := range req.FullTextFields {
			for _, f := range strings.Split(joined, ",") {
				if f = strings.TrimSpace(f); f != "" {
					ft.Fields = append(ft.Fields, strings.ToLower(f))
				}
			}
		}
		c.FullTextFilter = ft
	}
	f := req.Filter
	switch {
	case req.Predicate && f == nil:
		c.Query = `{"allOf":[]}`
	case req.Predicate:
		c.Query = f.String()
	case f != nil:
		c.Filter = json.RawMessage(f.String())
	}
	return c, f
}

func equalCursorValues(a, b []*string) bool {
	return slices.EqualFunc(a, b, func(x, y *string) bool {
		return (x == nil && y == nil) || (x != nil && y != nil && *x == *y)
	})
}
