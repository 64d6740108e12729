package catalog

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/billpay/portal/internal/errs"
	"github.com/stretchr/testify/require"
)

// testEntity returns the JSON of a final entity; extra keys are merged into metadata ("metadata.x"),
// spec ("spec.x") or the root.
func testEntity(tb testing.TB, kind, name, uid string, extra map[string]any) []byte {
	tb.Helper()
	md := map[string]any{"name": name, "namespace": "default", "uid": uid}
	spec := map[string]any{}
	e := map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": md, "spec": spec}
	for k, v := range extra {
		switch {
		case strings.HasPrefix(k, "metadata."):
			md[strings.TrimPrefix(k, "metadata.")] = v
		case strings.HasPrefix(k, "spec."):
			spec[strings.TrimPrefix(k, "spec.")] = v
		default:
			e[k] = v
		}
	}
	return mustJSON(tb, e)
}

func mustIndex(tb testing.TB, raws ...[]byte) *Index {
	tb.Helper()
	ix := NewIndex()
	require.NoError(tb, ix.PutBatch(raws, nil))
	return ix
}

func mustFilter(tb testing.TB, values ...string) Filter {
	tb.Helper()
	f, err := ParseFilterParams(values)
	require.NoError(tb, err)
	return f
}

// names decodes items and returns their metadata.name, to compare orders.
func itemNames(tb testing.TB, items []json.RawMessage) []string {
	tb.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		var e Entity
		require.NoError(tb, json.Unmarshal(it, &e))
		out[i] = e.Name()
	}
	return out
}

func TestIndexPutAndGet(t *testing.T) {
	t.Run("an entity is found by canonical ref and by uid", func(t *testing.T) {
		raw := testEntity(t, "Component", "My-Service", "u1", nil)
		ix := mustIndex(t, raw)
		got, ok := ix.Get("component:default/my-service")
		require.True(t, ok)
		require.JSONEq(t, string(raw), string(got))
		got, ok = ix.GetByUID("u1")
		require.True(t, ok)
		require.JSONEq(t, string(raw), string(got))
		require.Equal(t, 1, ix.Len())
	})
	t.Run("unknown refs and uids are not found", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", nil))
		_, ok := ix.Get("component:default/b")
		require.False(t, ok)
		_, ok = ix.Get("Component:default/a")
		require.False(t, ok, "callers lowercase refs")
		_, ok = ix.GetByUID("u2")
		require.False(t, ok)
	})
	t.Run("a put with the same uid replaces the entity and its search rows", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "service"}))
		require.NoError(t, ix.Put(testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "website"})))
		require.Equal(t, 1, ix.Len())
		items, _ := ix.List(ListRequest{Filter: mustFilter(t, "spec.type=service")})
		require.Empty(t, items)
		items, _ = ix.List(ListRequest{Filter: mustFilter(t, "spec.type=website")})
		require.Len(t, items, 1)
		require.Empty(t, ix.Facets([]string{"spec.type"}, nil)["spec.type"][:0])
		require.Equal(t, []FacetCount{{Value: "website", Count: 1}}, ix.Facets([]string{"spec.type"}, nil)["spec.type"])
	})
	t.Run("a put with a new uid for the same ref replaces the old entity", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", nil))
		require.NoError(t, ix.Put(testEntity(t, "Component", "A", "u2", nil)))
		require.Equal(t, 1, ix.Len())
		_, ok := ix.GetByUID("u1")
		require.False(t, ok)
		got, ok := ix.Get("component:default/a")
		require.True(t, ok)
		require.Contains(t, string(got), `"u2"`)
	})
	t.Run("a put that renames an entity moves it to its new ref", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", nil))
		require.NoError(t, ix.Put(testEntity(t, "Component", "b", "u1", nil)))
		_, ok := ix.Get("component:default/a")
		require.False(t, ok)
		_, ok = ix.Get("component:default/b")
		require.True(t, ok)
		items, _ := ix.List(ListRequest{})
		require.Equal(t, []string{"b"}, itemNames(t, items))
	})
	t.Run("a delete removes the entity from every lookup", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "service"}), testEntity(t, "Component", "b", "u2", nil))
		ix.Delete("u1")
		ix.Delete("unknown")
		require.Equal(t, 1, ix.Len())
		_, ok := ix.Get("component:default/a")
		require.False(t, ok)
		items, _ := ix.List(ListRequest{Filter: mustFilter(t, "spec.type")})
		require.Empty(t, items)
		require.Equal(t, []FacetCount{}, ix.Facets([]string{"spec.type"}, nil)["spec.type"])
	})
	t.Run("stored bytes are a compact private copy", func(t *testing.T) {
		raw := []byte("{\n  \"kind\": \"Component\",\n  \"metadata\": {\"name\": \"a\", \"uid\": \"u1\"}\n}")
		ix := NewIndex()
		require.NoError(t, ix.Put(raw))
		copy(raw, strings.Repeat("x", len(raw)))
		got, ok := ix.Get("component:default/a")
		require.True(t, ok)
		require.Equal(t, `{"kind":"Component","metadata":{"name":"a","uid":"u1"}}`, string(got))
	})
	t.Run("entities the index cannot hold are rejected as invalid", func(t *testing.T) {
		for name, raw := range map[string]string{
			"no uid":         `{"kind":"Component","metadata":{"name":"a"}}`,
			"no name":        `{"kind":"Component","metadata":{"uid":"u"}}`,
			"no kind":        `{"metadata":{"name":"a","uid":"u"}}`,
			"not JSON":       `{"kind":`,
			"casing clashes": `{"kind":"A","metadata":{"name":"a","uid":"u"},"spec":{"x":1,"X":2}}`,
		} {
			err := NewIndex().Put([]byte(raw))
			require.Error(t, err, name)
			require.Equal(t, errs.Invalid, errs.CodeOf(err), name)
		}
	})
	t.Run("a batch with one bad entity applies nothing", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "keep", "u0", nil))
		err := ix.PutBatch([][]byte{testEntity(t, "Component", "a", "u1", nil), []byte(`{}`)}, []string{"u0"})
		require.Error(t, err)
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
		require.Equal(t, 1, ix.Len())
		_, ok := ix.GetByUID("u0")
		require.True(t, ok)
	})
	t.Run("a batch applies deletes before puts", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", nil), testEntity(t, "Component", "b", "u2", nil))
		require.NoError(t, ix.PutBatch([][]byte{testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "new"})}, []string{"u1", "u2"}))
		require.Equal(t, 1, ix.Len())
		items, _ := ix.List(ListRequest{Filter: mustFilter(t, "spec.type=new")})
		require.Equal(t, []string{"a"}, itemNames(t, items))
	})
	t.Run("large batches keep the ref order", func(t *testing.T) {
		var raws [][]byte
		for i := 200; i > 0; i-- {
			raws = append(raws, testEntity(t, "Component", fmt.Sprintf("c%03d", i), fmt.Sprint("u", i), nil))
		}
		ix := mustIndex(t, raws...)
		require.NoError(t, ix.PutBatch(raws[:100], []string{"u1", "u2"}))
		items, _ := ix.List(ListRequest{Limit: 3})
		require.Equal(t, []string{"c003", "c004", "c005"}, itemNames(t, items))
		require.NoError(t, ix.Put(testEntity(t, "Component", "c000", "u0", nil)))
		items, _ = ix.List(ListRequest{Limit: 2})
		require.Equal(t, []string{"c000", "c003"}, itemNames(t, items))
	})
	t.Run("GetMatching applies the filter to the entity", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "service"}))
		_, ok := ix.GetMatching("component:default/a", mustFilter(t, "spec.type=service"))
		require.True(t, ok)
		_, ok = ix.GetMatching("component:default/a", mustFilter(t, "spec.type=website"))
		require.False(t, ok)
		_, ok = ix.GetMatching("component:default/a", nil)
		require.True(t, ok)
		_, ok = ix.GetMatching("component:default/b", nil)
		require.False(t, ok)
	})
}

// listCatalog is a small catalog exercising ordering corner cases.
func listCatalog(t *testing.T) *Index {
	return mustIndex(t,
		testEntity(t, "Component", "b", "u3", map[string]any{"spec.type": "Service", "spec.lifecycle": "production", "metadata.tags": []any{"java"}}),
		testEntity(t, "Component", "a", "u2", map[string]any{"spec.type": "website", "spec.lifecycle": "production"}),
		testEntity(t, "API", "c", "u1", map[string]any{"spec.type": "openapi", "spec.lifecycle": "experimental", "metadata.tags": []any{"java", "go"}}),
		testEntity(t, "Group", "d", "u5", map[string]any{"spec.type": nil}),
		testEntity(t, "User", "e", "u4", nil),
	)
}

func TestIndexList(t *testing.T) {
	ix := listCatalog(t)
	tests := []struct {
		name string
		req  ListRequest
		want []string
		more bool
	}{
		{"everything comes sorted by canonical ref", ListRequest{}, []string{"c", "a", "b", "d", "e"}, false},
		{"a filter selects entities", ListRequest{Filter: mustFilter(t, "kind=component")}, []string{"a", "b"}, false},
		{"filter sets are ORed", ListRequest{Filter: mustFilter(t, "kind=api", "kind=group")}, []string{"c", "d"}, false},
		{"values inside a set are ORed per key and ANDed across keys",
			ListRequest{Filter: mustFilter(t, "kind=component,kind=api,spec.lifecycle=production")}, []string{"a", "b"}, false},
		{"matching ignores case", ListRequest{Filter: mustFilter(t, "SPEC.TYPE=service")}, []string{"b"}, false},
		{"existence includes null values", ListRequest{Filter: mustFilter(t, "spec.type")}, []string{"c", "a", "b", "d"}, false},
		{"tag keys match array elements", ListRequest{Filter: mustFilter(t, "metadata.tags.java,metadata.tags.go")}, []string{"c"}, false},
		{"an unknown key matches nothing", ListRequest{Filter: mustFilter(t, "spec.nothing=x")}, []string{}, false},
		{"ascending order puts nulls and missing values last, then sorts by uid",
			ListRequest{Order: []OrderField{{Field: "spec.type"}}}, []string{"c", "b", "a", "e", "d"}, false},
		{"descending order still puts nulls last and the uid tiebreak stays ascending",
			ListRequest{Order: []OrderField{{Field: "spec.type", Desc: true}}}, []string{"a", "b", "c", "e", "d"}, false},
		{"later order fields break ties",
			ListRequest{Order: []OrderField{{Field: "spec.lifecycle"}, {Field: "metadata.name", Desc: true}}}, []string{"c", "b", "a", "e", "d"}, false},
		{"order field names are case-insensitive", ListRequest{Order: []OrderField{{Field: "Spec.Type"}}}, []string{"c", "b", "a", "e", "d"}, false},
		{"limit cuts the page and reports more", ListRequest{Limit: 2}, []string{"c", "a"}, true},
		{"offset skips entities", ListRequest{Offset: 3, Limit: 2}, []string{"d", "e"}, false},
		{"an offset past the end gives an empty page", ListRequest{Offset: 10, Limit: 2}, []string{}, false},
		{"limit and offset apply after filtering and ordering",
			ListRequest{Filter: mustFilter(t, "spec.lifecycle"), Order: []OrderField{{Field: "metadata.name", Desc: true}}, Offset: 1, Limit: 1}, []string{"b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, more := ix.List(tt.req)
			require.Equal(t, tt.want, itemNames(t, items))
			require.Equal(t, tt.more, more)
		})
	}
	t.Run("fields project every item", func(t *testing.T) {
		items, _ := ix.List(ListRequest{Filter: mustFilter(t, "kind=api"), Fields: []string{"kind", "metadata.name"}})
		require.Len(t, items, 1)
		require.JSONEq(t, `{"kind":"API","metadata":{"name":"c"}}`, string(items[0]))
	})
	t.Run("projection keeps numbers exactly and does not escape HTML", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "n", "u1", map[string]any{"spec.big": json.Number("12345678901234567890"), "metadata.title": "<a&b>"}))
		items, _ := ix.List(ListRequest{Fields: []string{"spec.big", "metadata.title"}})
		require.Equal(t, `{"metadata":{"title":"<a&b>"},"spec":{"big":12345678901234567890}}`, string(items[0]))
	})
}

func decodeCursorJSON(tb testing.TB, c string) map[string]any {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(c)
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m))
	return m
}

func TestIndexQuery(t *testing.T) {
	var raws [][]byte
	for i := range 10 {
		lifecycle := []string{"production", "experimental"}[i%2]
		raws = append(raws, testEntity(t, "Component", fmt.Sprintf("svc-%02d", i), fmt.Sprintf("uid-%02d", 9-i), map[string]any{
			"spec.lifecycle": lifecycle, "metadata.title": fmt.Sprintf("Service %c", 'J'-i)}))
	}
	raws = append(raws, testEntity(t, "API", "api-x", "uid-99", map[string]any{"metadata.description": "The Billing_API"}))
	ix := mustIndex(t, raws...)

	t.Run("the default limit is 200 and the order is by ref", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{})
		require.NoError(t, err)
		require.Len(t, resp.Items, 11)
		require.Equal(t, 11, resp.TotalItems)
		require.Equal(t, "api-x", itemNames(t, resp.Items)[0])
		require.Empty(t, resp.NextCursor)
		require.Empty(t, resp.PrevCursor)
	})
	t.Run("limit zero counts without returning items", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{Filter: mustFilter(t, "kind=component"), LimitSet: true})
		require.NoError(t, err)
		require.Empty(t, resp.Items)
		require.NotNil(t, resp.Items)
		require.Equal(t, 10, resp.TotalItems)
		require.Empty(t, resp.NextCursor)
	})
	t.Run("skipping the total reports zero", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{Limit: 2, LimitSet: true, SkipTotal: true})
		require.NoError(t, err)
		require.Equal(t, 0, resp.TotalItems)
		next, err := ix.Query(QueryRequest{Cursor: resp.NextCursor, Limit: 2, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, 0, next.TotalItems)
	})
	t.Run("an order field sorts on the lowercased value", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{Filter: mustFilter(t, "kind=component"), OrderFields: []OrderField{{Field: "metadata.title"}}, Limit: 3, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, []string{"svc-09", "svc-08", "svc-07"}, itemNames(t, resp.Items))
	})
	t.Run("only the first order field counts", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{OrderFields: []OrderField{{Field: "metadata.title", Desc: true}, {Field: "metadata.name"}}, Limit: 2, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, []string{"svc-00", "svc-01"}, itemNames(t, resp.Items))
		c := decodeCursorJSON(t, resp.NextCursor)
		require.Equal(t, []any{map[string]any{"field": "metadata.title", "order": "desc"}}, c["orderFields"])
	})
	t.Run("entities without the order field come last", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{OrderFields: []OrderField{{Field: "metadata.title", Desc: true}}})
		require.NoError(t, err)
		require.Equal(t, "api-x", itemNames(t, resp.Items)[10])
	})
	t.Run("offset applies to the initial request", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{Filter: mustFilter(t, "kind=component"), Offset: 8})
		require.NoError(t, err)
		require.Equal(t, []string{"svc-08", "svc-09"}, itemNames(t, resp.Items))
		require.Equal(t, 10, resp.TotalItems)
	})
	t.Run("offset is ignored with a cursor", func(t *testing.T) {
		first, err := ix.Query(QueryRequest{Limit: 5, LimitSet: true})
		require.NoError(t, err)
		next, err := ix.Query(QueryRequest{Cursor: first.NextCursor, Offset: 3, Limit: 1, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, []string{"svc-04"}, itemNames(t, next.Items))
	})

	fullText := []struct {
		name string
		req  QueryRequest
		want []string
	}{
		{"full text defaults to metadata.uid", QueryRequest{FullTextTerm: "UID-0"}, []string{"svc-00", "svc-01", "svc-02", "svc-03", "svc-04", "svc-05", "svc-06", "svc-07", "svc-08", "svc-09"}},
		{"full text defaults to the order field", QueryRequest{FullTextTerm: " service b ", OrderFields: []OrderField{{Field: "metadata.title"}}}, []string{"svc-08"}},
		{"full text searches the given fields", QueryRequest{FullTextTerm: "billing", FullTextFields: []string{"metadata.name", "Metadata.Description"}}, []string{"api-x"}},
		{"full text fields may come comma-joined", QueryRequest{FullTextTerm: "billing", FullTextFields: []string{"metadata.name,metadata.description"}}, []string{"api-x"}},
		{"underscore in the term is a LIKE wildcard", QueryRequest{FullTextTerm: "svc_0", FullTextFields: []string{"metadata.name"}, Limit: 2, LimitSet: true}, []string{"svc-00", "svc-01"}},
		{"percent in the term is a LIKE wildcard", QueryRequest{FullTextTerm: "the%api", FullTextFields: []string{"metadata.description"}}, []string{"api-x"}},
		{"a blank term does not filter", QueryRequest{FullTextTerm: "  ", Filter: mustFilter(t, "kind=api")}, []string{"api-x"}},
		{"full text and filters combine", QueryRequest{FullTextTerm: "svc", FullTextFields: []string{"metadata.name"}, Filter: mustFilter(t, "spec.lifecycle=experimental")}, []string{"svc-01", "svc-03", "svc-05", "svc-07", "svc-09"}},
	}
	for _, tt := range fullText {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ix.Query(tt.req)
			require.NoError(t, err)
			require.Equal(t, tt.want, itemNames(t, resp.Items))
		})
	}

	t.Run("cursors carry the filter, order and full text so follow-ups need only the cursor", func(t *testing.T) {
		req := QueryRequest{Filter: mustFilter(t, "kind=component"), OrderFields: []OrderField{{Field: "metadata.title", Desc: true}},
			FullTextTerm: "service", Limit: 3, LimitSet: true}
		var got []string
		resp, err := ix.Query(req)
		require.NoError(t, err)
		got = append(got, itemNames(t, resp.Items)...)
		for resp.NextCursor != "" {
			resp, err = ix.Query(QueryRequest{Cursor: resp.NextCursor, Limit: 3, LimitSet: true})
			require.NoError(t, err)
			require.Equal(t, 10, resp.TotalItems, "the total is carried in the cursor")
			got = append(got, itemNames(t, resp.Items)...)
		}
		require.Equal(t, []string{"svc-00", "svc-01", "svc-02", "svc-03", "svc-04", "svc-05", "svc-06", "svc-07", "svc-08", "svc-09"}, got)
	})
	t.Run("the cursor decides the query and the request only the page size and fields", func(t *testing.T) {
		first, err := ix.Query(QueryRequest{Filter: mustFilter(t, "kind=component"), Limit: 2, LimitSet: true})
		require.NoError(t, err)
		next, err := ix.Query(QueryRequest{Cursor: first.NextCursor, Filter: mustFilter(t, "kind=api"), Limit: 1, LimitSet: true, Fields: []string{"metadata.name"}})
		require.NoError(t, err)
		require.Len(t, next.Items, 1)
		require.JSONEq(t, `{"metadata":{"name":"svc-02"}}`, string(next.Items[0]))
	})
	t.Run("prevCursor appears only after the first page and leads back", func(t *testing.T) {
		p1, err := ix.Query(QueryRequest{Limit: 4, LimitSet: true})
		require.NoError(t, err)
		require.Empty(t, p1.PrevCursor)
		p2, err := ix.Query(QueryRequest{Cursor: p1.NextCursor, Limit: 4, LimitSet: true})
		require.NoError(t, err)
		require.NotEmpty(t, p2.PrevCursor)
		p3, err := ix.Query(QueryRequest{Cursor: p2.NextCursor, Limit: 4, LimitSet: true})
		require.NoError(t, err)
		require.Len(t, p3.Items, 3)
		require.Empty(t, p3.NextCursor)

		back2, err := ix.Query(QueryRequest{Cursor: p3.PrevCursor, Limit: 4, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, itemNames(t, p2.Items), itemNames(t, back2.Items))
		require.NotEmpty(t, back2.NextCursor, "a backward page always leads forward again")
		back1, err := ix.Query(QueryRequest{Cursor: back2.PrevCursor, Limit: 4, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, itemNames(t, p1.Items), itemNames(t, back1.Items))
		require.Empty(t, back1.PrevCursor, "the first page has no previous page")
		again, err := ix.Query(QueryRequest{Cursor: back2.NextCursor, Limit: 4, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, itemNames(t, p3.Items), itemNames(t, again.Items))
	})
	t.Run("prevCursor works with an order field", func(t *testing.T) {
		req := QueryRequest{OrderFields: []OrderField{{Field: "metadata.title"}}, Limit: 5, LimitSet: true}
		p1, err := ix.Query(req)
		require.NoError(t, err)
		p2, err := ix.Query(QueryRequest{Cursor: p1.NextCursor, Limit: 5, LimitSet: true})
		require.NoError(t, err)
		back, err := ix.Query(QueryRequest{Cursor: p2.PrevCursor, Limit: 5, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, itemNames(t, p1.Items), itemNames(t, back.Items))
	})
	t.Run("cursors are base64 JSON and only predicate cursors carry a query", func(t *testing.T) {
		plain, err := ix.Query(QueryRequest{Filter: mustFilter(t, "kind=component"), Limit: 1, LimitSet: true})
		require.NoError(t, err)
		c := decodeCursorJSON(t, plain.NextCursor)
		require.NotContains(t, c, "query")
		require.Equal(t, map[string]any{"key": "kind", "values": []any{"component"}}, c["filter"])

		pred, err := ParsePredicate(json.RawMessage(`{"kind":"component"}`))
		require.NoError(t, err)
		resp, err := ix.Query(QueryRequest{Filter: pred, Predicate: true, Limit: 1, LimitSet: true})
		require.NoError(t, err)
		c = decodeCursorJSON(t, resp.NextCursor)
		require.NotEmpty(t, c["query"])
		require.NotContains(t, c, "filter")
		next, err := ix.Query(QueryRequest{Cursor: resp.NextCursor, Limit: 1, LimitSet: true})
		require.NoError(t, err)
		require.Equal(t, []string{"svc-01"}, itemNames(t, next.Items))
		require.NotEmpty(t, decodeCursorJSON(t, next.NextCursor)["query"], "follow-up cursors stay predicate cursors")
		require.NotEmpty(t, decodeCursorJSON(t, next.PrevCursor)["query"])

		all, err := ix.Query(QueryRequest{Predicate: true, Limit: 1, LimitSet: true})
		require.NoError(t, err)
		require.NotEmpty(t, decodeCursorJSON(t, all.NextCursor)["query"], "a predicate request without a predicate still marks its cursor")
	})
	t.Run("malformed cursors are rejected as invalid input", func(t *testing.T) {
		enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		for name, cursor := range map[string]string{
			"not base64":                "%%%",
			"not JSON":                  enc("nope"),
			"not an object":             enc(`[1]`),
			"a bad order":               enc(`{"orderFields":[{"field":"a","order":"up"}],"orderFieldValues":["x","u"],"isPrevious":false}`),
			"missing values":            enc(`{"orderFields":[],"isPrevious":false}`),
			"values of the wrong arity": enc(`{"orderFields":[],"orderFieldValues":["a","b"],"isPrevious":false}`),
			"a null uid":                enc(`{"orderFields":[{"field":"a","order":"asc"}],"orderFieldValues":["x",null],"isPrevious":false}`),
			"a bad filter":              enc(`{"orderFields":[],"orderFieldValues":["a"],"filter":{"nope":1},"isPrevious":false}`),
			"a bad query":               enc(`{"orderFields":[],"orderFieldValues":["a"],"query":"{","isPrevious":false}`),
			"a negative total":          enc(`{"orderFields":[],"orderFieldValues":["a"],"isPrevious":false,"totalItems":-1}`),
		} {
			_, err := ix.Query(QueryRequest{Cursor: cursor})
			require.Error(t, err, name)
			require.Equal(t, errs.Invalid, errs.CodeOf(err), name)
			require.True(t, strings.HasPrefix(err.Error(), "Malformed cursor: "), err.Error())
		}
	})
	t.Run("cursors survive unpadded and URL-safe base64", func(t *testing.T) {
		first, err := ix.Query(QueryRequest{Limit: 1, LimitSet: true})
		require.NoError(t, err)
		raw, err := base64.StdEncoding.DecodeString(first.NextCursor)
		require.NoError(t, err)
		for _, c := range []string{base64.RawURLEncoding.EncodeToString(raw), strings.ReplaceAll(first.NextCursor, "+", " ")} {
			resp, err := ix.Query(QueryRequest{Cursor: c, Limit: 1, LimitSet: true})
			require.NoError(t, err)
			require.Equal(t, []string{"svc-00"}, itemNames(t, resp.Items))
		}
	})
}

func TestIndexQueryPagingWhileEntitiesChange(t *testing.T) {
	orders := map[string][]OrderField{
		"by ref":           nil,
		"by value":         {{Field: "spec.rank"}},
		"by value desc":    {{Field: "spec.rank", Desc: true}},
		"with null values": {{Field: "spec.maybe"}},
	}
	for name, order := range orders {
		t.Run("every stable entity is visited exactly once when ordering "+name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			// Values depend only on i: an entity whose sort value changed could legitimately be
			// seen twice or not at all, so re-added entities come back unchanged.
			mk := func(i int) []byte {
				extra := map[string]any{"spec.rank": fmt.Sprint(i * 7 % 5)}
				if i%3 == 0 {
					extra["spec.maybe"] = "v" + fmt.Sprint(i%4)
				}
				return testEntity(t, "Component", fmt.Sprintf("c%03d", i), fmt.Sprintf("u%03d", i), extra)
			}
			ix := NewIndex()
			stable := map[string]bool{}
			for i := range 100 {
				require.NoError(t, ix.Put(mk(i)))
				if i%2 == 0 {
					stable[fmt.Sprintf("c%03d", i)] = true
				}
			}
			seen := map[string]int{}
			resp, err := ix.Query(QueryRequest{OrderFields: order, Limit: 7, LimitSet: true})
			require.NoError(t, err)
			next := 100
			for {
				for _, n := range itemNames(t, resp.Items) {
					seen[n]++
				}
				// Churn between pages: delete and re-add unstable entities, add new ones.
				for j := 0; j < 5; j++ {
					i := 2*rng.IntN(50) + 1
					ix.Delete(fmt.Sprintf("u%03d", i))
					if rng.IntN(2) == 0 {
						require.NoError(t, ix.Put(mk(i)))
					}
				}
				require.NoError(t, ix.Put(mk(next)))
				next++
				if resp.NextCursor == "" {
					break
				}
				resp, err = ix.Query(QueryRequest{Cursor: resp.NextCursor, Limit: 7, LimitSet: true})
				require.NoError(t, err)
			}
			for n := range stable {
				require.Equal(t, 1, seen[n], n)
			}
			for n, count := range seen {
				require.Equal(t, 1, count, n)
			}
		})
	}
}

func TestIndexFacets(t *testing.T) {
	ix := mustIndex(t,
		testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "Service", "metadata.tags": []any{"java", "go"}}),
		testEntity(t, "Component", "b", "u2", map[string]any{"spec.type": "service", "metadata.tags": []any{"java"}}),
		testEntity(t, "Component", "c", "u3", map[string]any{"spec.type": "Service"}),
		testEntity(t, "API", "d", "u4", map[string]any{"spec.type": "openapi"}),
		testEntity(t, "API", "e", "u5", map[string]any{"spec.type": nil}),
	)
	t.Run("values are counted per original spelling, nulls left out", func(t *testing.T) {
		got := ix.Facets([]string{"spec.type"}, nil)
		require.Equal(t, map[string][]FacetCount{"spec.type": {{Value: "Service", Count: 2}, {Value: "openapi", Count: 1}, {Value: "service", Count: 1}}}, got)
	})
	t.Run("array fields count every element", func(t *testing.T) {
		got := ix.Facets([]string{"metadata.tags"}, nil)
		require.Equal(t, []FacetCount{{Value: "java", Count: 2}, {Value: "go", Count: 1}}, got["metadata.tags"])
	})
	t.Run("the filter restricts the counted entities", func(t *testing.T) {
		got := ix.Facets([]string{"spec.type", "kind"}, mustFilter(t, "metadata.name=a,metadata.name=b,metadata.name=d"))
		require.Equal(t, []FacetCount{{Value: "Service", Count: 1}, {Value: "openapi", Count: 1}, {Value: "service", Count: 1}}, got["spec.type"])
		require.Equal(t, []FacetCount{{Value: "Component", Count: 2}, {Value: "API", Count: 1}}, got["kind"])
	})
	t.Run("a filter with one spelling still counts it", func(t *testing.T) {
		got := ix.Facets([]string{"kind"}, mustFilter(t, "kind=api"))
		require.Equal(t, []FacetCount{{Value: "API", Count: 2}}, got["kind"])
	})
	t.Run("facet keys are looked up case-insensitively and returned as requested", func(t *testing.T) {
		got := ix.Facets([]string{"Kind", "spec.nothing"}, nil)
		require.Equal(t, map[string][]FacetCount{"Kind": {{Value: "Component", Count: 3}, {Value: "API", Count: 2}}, "spec.nothing": {}}, got)
	})
	t.Run("deleted entities stop counting", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", nil), testEntity(t, "component", "b", "u2", nil))
		ix.Delete("u1")
		require.Equal(t, []FacetCount{{Value: "component", Count: 1}}, ix.Facets([]string{"kind"}, nil)["kind"])
		require.NoError(t, ix.Put(testEntity(t, "COMPONENT", "c", "u3", nil)))
		require.Equal(t, []FacetCount{{Value: "COMPONENT", Count: 1}, {Value: "component", Count: 1}}, ix.Facets([]string{"kind"}, nil)["kind"])
	})
	t.Run("an entity respelling a value moves to the new spelling", func(t *testing.T) {
		typed := func(name, uid, typ string) []byte {
			return testEntity(t, "Component", name, uid, map[string]any{"spec.type": typ})
		}
		ix := mustIndex(t, typed("a", "u1", "Service"), typed("b", "u2", "service"), typed("c", "u3", "SERVICE"))
		require.NoError(t, ix.Put(typed("a", "u1", "service")))
		require.NoError(t, ix.Put(typed("c", "u3", "Service")))
		require.Equal(t, []FacetCount{{Value: "service", Count: 2}, {Value: "Service", Count: 1}}, ix.Facets([]string{"spec.type"}, nil)["spec.type"])
		items, _ := ix.List(ListRequest{Filter: mustFilter(t, "spec.type=SERVICE")})
		require.Equal(t, []string{"a", "b", "c"}, itemNames(t, items), "filters match every spelling")
		items, _ = ix.List(ListRequest{Filter: mustFilter(t, "spec.type=serv")})
		require.Empty(t, items)
		ix.Delete("u2")
		require.Equal(t, []FacetCount{{Value: "Service", Count: 1}, {Value: "service", Count: 1}}, ix.Facets([]string{"spec.type"}, mustFilter(t, "kind=component"))["spec.type"])
		require.Equal(t, indexState(mustIndex(t, typed("a", "u1", "service"), typed("c", "u3", "Service"))), indexState(ix))
	})
}

// randomFilter builds a filter over the keys and values of randomCatalog.
func randomFilter(rng *rand.Rand, depth int) Filter {
	keys := []string{"kind", "spec.type", "spec.lifecycle", "metadata.tags", "metadata.tags.java", "spec.owner", "relations.ownedby", "spec.missing"}
	values := []string{"component", "api", "service", "website", "production", "java", "go", "true", "group:default/t1", "", "x"}
	switch n := rng.IntN(10); {
	case depth > 2 || n < 4:
		return FilterKeyIn(keys[rng.IntN(len(keys))], values[rng.IntN(len(values))], values[rng.IntN(len(values))])
	case n < 5:
		return FilterKeyExists(keys[rng.IntN(len(keys))])
	case n < 6:
		v := values[rng.IntN(len(values))]
		f, err := ParsePredicate(json.RawMessage(fmt.Sprintf(`{%q:{"$hasPrefix":%q}}`, keys[rng.IntN(len(keys))], v[:min(len(v), 2)])))
		if err != nil {
			panic(err)
		}
		return f
	case n < 7:
		return FilterNot(randomFilter(rng, depth+1))
	case n < 9:
		return FilterAllOf(randomFilter(rng, depth+1), randomFilter(rng, depth+1))
	default:
		return FilterAnyOf(randomFilter(rng, depth+1), randomFilter(rng, depth+1), randomFilter(rng, depth+1))
	}
}

func randomCatalog(t *testing.T, rng *rand.Rand, n int) [][]byte {
	var raws [][]byte
	pick := func(a ...string) string { return a[rng.IntN(len(a))] }
	for i := range n {
		extra := map[string]any{"spec.type": pick("Service", "service", "SERVICE", "website", "library"), "spec.lifecycle": pick("production", "experimental", "Production")}
		if rng.IntN(3) > 0 {
			extra["metadata.tags"] = []any{pick("java", "go", "Java"), pick("java", "python")}
		}
		if rng.IntN(4) > 0 {
			extra["spec.owner"] = pick("t1", "t2", "")
			extra["relations"] = []any{map[string]any{"type": "ownedBy", "targetRef": "group:default/" + pick("t1", "t2")}}
		} else {
			extra["spec.owner"] = nil
		}
		raws = append(raws, testEntity(t, pick("Component", "API"), fmt.Sprintf("e%03d", i), fmt.Sprintf("u%03d", i), extra))
	}
	return raws
}

func TestIndexAgreesWithBruteForceFiltering(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	raws := randomCatalog(t, rng, 150)
	ix := mustIndex(t, raws...)
	// Churn so that ids are reused and posting lists have holes.
	for i := 0; i < 150; i += 3 {
		ix.Delete(fmt.Sprintf("u%03d", i))
	}
	for i := 0; i < 150; i += 6 {
		require.NoError(t, ix.Put(raws[i]))
	}
	var live []string
	entries := map[string][]SearchEntry{}
	for _, raw := range raws {
		var e Entity
		require.NoError(t, json.Unmarshal(raw, &e))
		if _, ok := ix.GetByUID(e.UID()); !ok {
			continue
		}
		rows, err := SearchEntries(e)
		require.NoError(t, err)
		entries[e.Name()] = rows
		live = append(live, e.Name())
	}
	slices.Sort(live)
	for i := range 300 {
		f := randomFilter(rng, 0)
		t.Run(fmt.Sprintf("random filter %d gives the brute-force result", i), func(t *testing.T) {
			want := []string{}
			for _, n := range live {
				if FilterMatches(f, entries[n]) {
					want = append(want, n)
				}
			}
			items, _ := ix.List(ListRequest{Filter: f, Order: []OrderField{{Field: "metadata.name"}}})
			require.Equal(t, want, itemNames(t, items), filterJSON(f))
			resp, err := ix.Query(QueryRequest{Filter: f, LimitSet: true})
			require.NoError(t, err)
			require.Equal(t, len(want), resp.TotalItems)
		})
	}
}

func TestIndexIsSafeForConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	raws := randomCatalog(t, rng, 200)
	ix := mustIndex(t, raws[:100]...)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, raw := range raws[100:] {
			require.NoError(t, ix.Put(raw))
			ix.Delete(fmt.Sprintf("u%03d", i))
			if i%20 == 0 {
				require.NoError(t, ix.PutBatch(raws[i:i+80], nil))
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			f := mustFilter(t, "kind=component")
			for range 200 {
				resp, err := ix.Query(QueryRequest{Filter: f, Limit: 10, LimitSet: true, Fields: []string{"metadata.name"}})
				require.NoError(t, err)
				if resp.NextCursor != "" {
					_, err = ix.Query(QueryRequest{Cursor: resp.NextCursor, Limit: 10, LimitSet: true})
					require.NoError(t, err)
				}
				ix.List(ListRequest{Order: []OrderField{{Field: "spec.type"}}, Limit: 5})
				ix.Facets([]string{"spec.type"}, f)
				ix.Get("component:default/e150")
			}
		})
	}
	wg.Wait()
}

func TestIndexQueryPagesBackwards(t *testing.T) {
	var raws [][]byte
	for i := range 100 {
		extra := map[string]any{"spec.rank": fmt.Sprint(i * 7 % 5)}
		if i%3 == 0 {
			extra["spec.maybe"] = "v" + fmt.Sprint(i%4)
		}
		raws = append(raws, testEntity(t, "Component", fmt.Sprintf("c%03d", i), fmt.Sprintf("u%03d", (i*37)%100), extra))
	}
	ix := mustIndex(t, raws...)
	for name, order := range map[string][]OrderField{"by ref": nil, "by value": {{Field: "spec.rank"}}, "by value desc": {{Field: "spec.rank", Desc: true}}, "with nulls": {{Field: "spec.maybe"}}} {
		t.Run("prevCursor retraces the forward pages "+name, func(t *testing.T) {
			var pages [][]string
			resp, err := ix.Query(QueryRequest{OrderFields: order, Limit: 7, LimitSet: true})
			require.NoError(t, err)
			for {
				pages = append(pages, itemNames(t, resp.Items))
				if resp.NextCursor == "" {
					break
				}
				resp, err = ix.Query(QueryRequest{Cursor: resp.NextCursor, Limit: 7, LimitSet: true})
				require.NoError(t, err)
			}
			require.Len(t, pages, 15)
			for i := len(pages) - 2; i >= 0; i-- {
				require.NotEmpty(t, resp.PrevCursor, "page %d", i+1)
				resp, err = ix.Query(QueryRequest{Cursor: resp.PrevCursor, Limit: 7, LimitSet: true})
				require.NoError(t, err)
				require.Equal(t, pages[i], itemNames(t, resp.Items), "page %d", i)
			}
			require.Empty(t, resp.PrevCursor)
		})
	}
}

func TestSortSmallest(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cmp := func(a, b uint32) int { return int(a%97) - int(b%97) }
	for _, size := range []int{0, 1, 2, 10, 100, 1000} {
		for _, n := range []int{0, 1, 3, 10, 64, 2000} {
			t.Run(fmt.Sprintf("the first %d of %d are the smallest in order", n, size), func(t *testing.T) {
				ids := make([]uint32, size)
				for i := range ids {
					ids[i] = rng.Uint32N(10000)
				}
				want := slices.Clone(ids)
				slices.SortFunc(want, cmp)
				sortSmallest(ids, n, cmp)
				k := min(n, size)
				got := ids[:k]
				for i := range got {
					require.Equal(t, want[i]%97, got[i]%97)
				}
				require.ElementsMatch(t, want, ids, "no entity is lost")
			})
		}
	}
}

// indexState renders everything the index knows about search rows, keyed by uid, so that two
// indexes holding the same entities can be compared however they got there.
func indexState(ix *Index) map[string]string {
	out := map[string]string{}
	for name, k := range ix.keys {
		var uids []string
		for _, id := range k.docs {
			uids = append(uids, ix.docs[id].uid)
		}
		slices.Sort(uids)
		out[name] = fmt.Sprint(uids)
		vals := map[string]*indexValue{}
		for value, v := range k.values {
			vals[value] = v
		}
		if k.null != nil {
			vals["<null>"] = k.null
		}
		for value, first := range vals {
			var uids, origs []string
			for v := range first.spellings {
				for _, id := range v.docs {
					uids = append(uids, ix.docs[id].uid)
				}
				if !v.null {
					origs = append(origs, fmt.Sprint(v.orig, "x", len(v.docs)))
				}
			}
			slices.Sort(uids)
			slices.Sort(origs)
			out[name+"="+value] = fmt.Sprint(uids, origs)
		}
	}
	return out
}

func TestIndexReplacementMatchesAFreshBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	versions := func() [][]byte { return randomCatalog(t, rng, 60) }
	ix := mustIndex(t, versions()...)
	var current [][]byte
	for round := range 20 {
		next := versions()
		// Same uids and refs, different contents; sometimes only some entities change.
		for i := range next {
			if rng.IntN(3) == 0 && current != nil {
				next[i] = current[i]
			}
		}
		if round%2 == 0 {
			for _, raw := range next {
				require.NoError(t, ix.Put(raw))
			}
		} else {
			require.NoError(t, ix.PutBatch(next, nil))
		}
		current = next
		t.Run(fmt.Sprintf("after round %d the index equals one built from scratch", round), func(t *testing.T) {
			require.Equal(t, indexState(mustIndex(t, current...)), indexState(ix))
			items, _ := ix.List(ListRequest{})
			require.Len(t, items, 60)
		})
	}
	t.Run("a changed spelling moves the facet count", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "Service"}), testEntity(t, "Component", "b", "u2", map[string]any{"spec.type": "Service"}))
		require.NoError(t, ix.Put(testEntity(t, "Component", "a", "u1", map[string]any{"spec.type": "SERVICE"})))
		require.Equal(t, []FacetCount{{Value: "SERVICE", Count: 1}, {Value: "Service", Count: 1}}, ix.Facets([]string{"spec.type"}, nil)["spec.type"])
		require.NoError(t, ix.Put(testEntity(t, "Component", "b", "u2", map[string]any{"spec.type": "SERVICE"})))
		require.Equal(t, []FacetCount{{Value: "SERVICE", Count: 2}}, ix.Facets([]string{"spec.type"}, nil)["spec.type"])
	})
	t.Run("keys that disappear from the only entity having them are forgotten", func(t *testing.T) {
		ix := mustIndex(t, testEntity(t, "Component", "a", "u1", map[string]any{"spec.only": "x", "spec.null": nil}))
		require.NoError(t, ix.Put(testEntity(t, "Component", "a", "u1", map[string]any{"spec.other": "y"})))
		require.NotContains(t, ix.keys, "spec.only")
		require.NotContains(t, ix.keys, "spec.null")
		require.Contains(t, ix.keys, "spec.other")
	})
}

func TestIndexSortsASmallSelectionAmongManyValues(t *testing.T) {
	var raws [][]byte
	for i := range 300 {
		extra := map[string]any{"metadata.title": fmt.Sprintf("T%03d", 299-i)}
		if i%50 == 0 {
			extra["spec.pick"] = "yes"
			extra["metadata.aliases"] = []any{fmt.Sprintf("b%03d", i), fmt.Sprintf("a%03d", 299-i)}
		}
		raws = append(raws, testEntity(t, "Component", fmt.Sprintf("c%03d", i), fmt.Sprintf("u%03d", i), extra))
	}
	ix := mustIndex(t, raws...)
	f := mustFilter(t, "spec.pick=yes")
	t.Run("ascending by a single-valued key", func(t *testing.T) {
		items, _ := ix.List(ListRequest{Filter: f, Order: []OrderField{{Field: "metadata.title"}}})
		require.Equal(t, []string{"c250", "c200", "c150", "c100", "c050", "c000"}, itemNames(t, items))
	})
	t.Run("an array key sorts ascending by its smallest element", func(t *testing.T) {
		items, _ := ix.List(ListRequest{Filter: f, Order: []OrderField{{Field: "metadata.aliases"}}})
		require.Equal(t, []string{"c250", "c200", "c150", "c100", "c050", "c000"}, itemNames(t, items))
	})
	t.Run("an array key sorts descending by its largest element", func(t *testing.T) {
		resp, err := ix.Query(QueryRequest{Filter: f, OrderFields: []OrderField{{Field: "metadata.aliases", Desc: true}}})
		require.NoError(t, err)
		require.Equal(t, []string{"c250", "c200", "c150", "c100", "c050", "c000"}, itemNames(t, resp.Items))
	})
}

func TestIndexKeepsEntitiesCompressed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	raws := randomCatalog(t, rng, 3*dictSampleDocs)
	storage := func(ix *Index) (packed, stored int) {
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		live := 0
		for _, d := range ix.docs {
			if d != nil {
				live++
				stored += len(d.packed)
				if d.dict != nil {
					packed++
				}
			}
		}
		require.Equal(t, live-packed, ix.plain, "the count of plain entities")
		return packed, stored
	}
	servesExactly := func(t *testing.T, ix *Index, raws [][]byte) {
		t.Helper()
		for i, raw := range raws {
			got, ok := ix.GetByUID(fmt.Sprintf("u%03d", i))
			require.True(t, ok)
			require.Equal(t, string(raw), string(got))
		}
		items, _ := ix.List(ListRequest{})
		require.Len(t, items, len(raws))
		want := map[string]bool{}
		for _, raw := range raws {
			want[string(raw)] = true
		}
		for _, it := range items {
			require.True(t, want[string(it)], "served %s", it)
		}
	}

	t.Run("a small catalog stays plain", func(t *testing.T) {
		ix := mustIndex(t, raws[:dictSampleDocs-1]...)
		packed, _ := storage(ix)
		require.Zero(t, packed)
		servesExactly(t, ix, raws[:dictSampleDocs-1])
		page, _ := ix.ListPage(ListRequest{})
		var buf []byte
		for i := range page.Len() {
			page.Item(i, &buf)
		}
		require.Nil(t, buf, "plain entities are served as stored, never through the buffer")
	})
	t.Run("once the index holds enough to sample, every entity is packed and served unchanged", func(t *testing.T) {
		ix := NewIndex()
		for _, raw := range raws[:10] { // held plain, then packed when the dictionary is made
			require.NoError(t, ix.Put(raw))
		}
		require.NoError(t, ix.PutBatch(raws[10:], nil))
		packed, stored := storage(ix)
		require.Equal(t, len(raws), packed)
		total := 0
		for _, raw := range raws {
			total += len(raw)
		}
		require.Less(t, stored, total/2, "entities of one catalog share most of their bytes")
		servesExactly(t, ix, raws)

		got, ok := ix.Get("component:default/e001")
		if !ok {
			got, ok = ix.Get("api:default/e001")
		}
		require.True(t, ok)
		require.Equal(t, string(raws[1]), string(got))
		resp, err := ix.Query(QueryRequest{Limit: 1, LimitSet: true, Fields: []string{"metadata.name"}})
		require.NoError(t, err)
		require.Len(t, resp.Items, 1)
		require.JSONEq(t, `{"metadata":{"name":"e000"}}`, string(resp.Items[0]), "projections read packed entities too")
	})
	t.Run("a first batch large enough to sample is packed as it is prepared", func(t *testing.T) {
		ix := mustIndex(t, raws...)
		packed, _ := storage(ix)
		require.Equal(t, len(raws), packed)
		ix.Delete("u001")
		require.NoError(t, ix.Put(raws[1]))
		packed, _ = storage(ix)
		require.Equal(t, len(raws), packed)
		servesExactly(t, ix, raws)
	})
	t.Run("a page read through one reused buffer gives every entity exactly", func(t *testing.T) {
		ix := mustIndex(t, raws...)
		page, more := ix.ListPage(ListRequest{})
		require.False(t, more)
		whole := page.Items()
		require.Equal(t, len(raws), page.Len())
		var buf []byte
		for i := range page.Len() {
			require.Equal(t, string(whole[i]), string(page.Item(i, &buf)))
		}
		require.NotNil(t, buf, "packed entities are decompressed into the buffer")
		resp, err := ix.QueryPage(QueryRequest{Limit: 3, LimitSet: true, Fields: []string{"metadata.uid"}})
		require.NoError(t, err)
		require.Nil(t, resp.Items, "QueryPage leaves items to the page")
		require.Equal(t, 3, resp.Page.Len())
		full, err := ix.Query(QueryRequest{Limit: 3, LimitSet: true, Fields: []string{"metadata.uid"}})
		require.NoError(t, err)
		for i := range 3 {
			require.Equal(t, string(full.Items[i]), string(resp.Page.Item(i, &buf)))
		}
		require.Regexp(t, `^\{"metadata":\{"uid":"u\d+"\}\}$`, string(resp.Page.Item(0, &buf)))
	})
	t.Run("a batch that fails leaves no dictionary behind", func(t *testing.T) {
		ix := NewIndex()
		bad := append(slices.Clone(raws), []byte(`{"kind":"Component"}`))
		require.Error(t, ix.PutBatch(bad, nil))
		require.Nil(t, ix.dictionary())
		require.Zero(t, ix.Len())
	})
	t.Run("one huge entity neither fills the dictionary nor stays attached to it", func(t *testing.T) {
		huge := testEntity(t, "Component", "huge", "u-huge", map[string]any{"metadata.description": strings.Repeat("x", 1<<20)})
		sample := append([][]byte{huge}, raws...)
		d := sampleDict(len(sample), func(i int) []byte { return sample[i] })
		require.NotNil(t, d)
		require.LessOrEqual(t, cap(d.Bytes()), dictSampleBytes+dictSampleBytes/8)
	})
	t.Run("an unchanged entity put again keeps its stored document", func(t *testing.T) {
		ix := mustIndex(t, raws...)
		before := ix.docs[ix.byUID["u007"]]
		require.NoError(t, ix.Put(raws[7]))
		require.Same(t, before, ix.docs[ix.byUID["u007"]])
	})
	t.Run("readers keep the documents they took while the index packs them", func(t *testing.T) {
		ix := NewIndex()
		var wg sync.WaitGroup
		wg.Go(func() {
			for _, raw := range raws {
				require.NoError(t, ix.Put(raw))
			}
		})
		wg.Go(func() {
			for ix.Len() < len(raws) {
				items, _ := ix.List(ListRequest{})
				for _, it := range items {
					require.True(t, json.Valid(it))
				}
			}
		})
		wg.Wait()
		servesExactly(t, ix, raws)
	})
}

// FuzzIndexOperations drives an index through puts (with values respelled between versions) and
// deletes, and checks that it then holds exactly what an index built from the surviving entities
// holds, and serves each of them unchanged.
func FuzzIndexOperations(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0x80, 4, 5})
	f.Add([]byte{7, 7, 0x87, 7, 0x47, 0xc7})
	f.Add(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 12))
	types := []string{"Service", "service", "SERVICE", "website", "Website"}
	tags := []string{"java", "Java", "go"}
	f.Fuzz(func(t *testing.T, ops []byte) {
		ix := NewIndex()
		live := map[int][]byte{}
		for n, op := range ops {
			i := int(op & 0x7f % 80) // beyond dictSampleDocs, so that some sequences compress
			if op&0x80 != 0 {
				ix.Delete(fmt.Sprintf("u%02d", i))
				delete(live, i)
				continue
			}
			extra := map[string]any{"spec.type": types[(i+n)%len(types)], "metadata.tags": []any{tags[n%len(tags)], tags[(n+i)%len(tags)]}}
			if n%5 == 0 {
				extra["spec.owner"] = nil
			}
			raw := testEntity(t, "Component", fmt.Sprintf("c%02d", i), fmt.Sprintf("u%02d", i), extra)
			if n%3 == 0 {
				require.NoError(t, ix.PutBatch([][]byte{raw}, nil))
			} else {
				require.NoError(t, ix.Put(raw))
			}
			live[i] = raw
		}
		var raws [][]byte
		for _, raw := range live {
			raws = append(raws, raw)
		}
		fresh := mustIndex(t, raws...)
		require.Equal(t, indexState(fresh), indexState(ix))
		facets := []string{"spec.type", "metadata.tags", "spec.owner"}
		require.Equal(t, fresh.Facets(facets, nil), ix.Facets(facets, nil))
		for i, raw := range live {
			got, ok := ix.GetByUID(fmt.Sprintf("u%02d", i))
			require.True(t, ok)
			require.Equal(t, string(raw), string(got))
		}
	})
}
