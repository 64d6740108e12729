package catalog

import (
	"encoding/json"
	"testing"

	"github.com/billpay/portal/internal/errs"
	"github.com/stretchr/testify/require"
)

func filterJSON(f Filter) string {
	if f == nil {
		return "<nil>"
	}
	return f.String()
}

func TestParseFilterParams(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"no filter parameter matches everything", nil, "<nil>"},
		{"empty and blank sets are ignored", []string{"", " , ,"}, "<nil>"},
		{"a single statement is a key match", []string{"kind=component"}, `{"key":"kind","values":["component"]}`},
		{"statements in one set are ANDed", []string{"kind=component,spec.type=service"},
			`{"allOf":[{"key":"kind","values":["component"]},{"key":"spec.type","values":["service"]}]}`},
		{"separate sets are ORed", []string{"kind=api", "kind=component"},
			`{"anyOf":[{"key":"kind","values":["api"]},{"key":"kind","values":["component"]}]}`},
		{"a repeated key inside a set is ORed", []string{"kind=a,spec.type=s,kind=b"},
			`{"allOf":[{"key":"kind","values":["a","b"]},{"key":"spec.type","values":["s"]}]}`},
		{"a bare key asks for existence", []string{"metadata.annotations.backstage.io/orphan"},
			`{"key":"metadata.annotations.backstage.io/orphan"}`},
		{"key= asks for the empty value", []string{"spec.owner="}, `{"key":"spec.owner","values":[""]}`},
		{"the statement splits at the first equals sign", []string{"metadata.annotations.a=b=c"},
			`{"key":"metadata.annotations.a","values":["b=c"]}`},
		{"keys and values are trimmed and lowercased", []string{"  Kind = Component ,  Metadata.Name= My-Svc "},
			`{"allOf":[{"key":"kind","values":["component"]},{"key":"metadata.name","values":["my-svc"]}]}`},
		{"a bare key next to values of the same key keeps the values", []string{"kind,kind=api"}, `{"key":"kind","values":["api"]}`},
		{"keys spelled differently are not grouped, as in Backstage", []string{"Kind=a,kind=b"},
			`{"allOf":[{"key":"kind","values":["a"]},{"key":"kind","values":["b"]}]}`},
		{"relation and tag keys are ordinary keys", []string{"relations.ownedBy=group:default/Team,metadata.tags.java"},
			`{"allOf":[{"key":"relations.ownedby","values":["group:default/team"]},{"key":"metadata.tags.java"}]}`},
		{"a percent-decoded comma still splits statements", []string{"kind=a,b"},
			`{"allOf":[{"key":"kind","values":["a"]},{"key":"b"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilterParams(tt.values)
			require.NoError(t, err)
			require.Equal(t, tt.want, filterJSON(f))
		})
	}
}

func TestParseFilterParamsRejectsEmptyKeys(t *testing.T) {
	tests := []struct {
		name  string
		value string
		msg   string
	}{
		{"a statement starting with equals", "=a", "Invalid filter, '=a' is not a valid statement (expected a string on the form a=b or a= or a)"},
		{"a blank key is trimmed before the check", "kind=a, = b", "Invalid filter, '= b' is not a valid statement (expected a string on the form a=b or a= or a)"},
		{"a lone equals sign", "=", "Invalid filter, '=' is not a valid statement (expected a string on the form a=b or a= or a)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFilterParams([]string{"kind=x", tt.value})
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, tt.msg, err.Error())
		})
	}
}

func TestParsePredicate(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"no predicate matches everything", ``, "<nil>"},
		{"an empty object matches everything", `{}`, "<nil>"},
		{"a field equality is case-insensitive", `{"Kind":"Component"}`, `{"key":"kind","values":["component"]}`},
		{"fields of one object are ANDed", `{"kind":"component","spec.type":"service"}`,
			`{"allOf":[{"key":"kind","values":["component"]},{"key":"spec.type","values":["service"]}]}`},
		{"numbers and booleans compare as JavaScript strings", `{"spec.replicas":3.0,"spec.public":true,"spec.ratio":1e-7}`,
			`{"allOf":[{"key":"spec.public","values":["true"]},{"key":"spec.ratio","values":["1e-7"]},{"key":"spec.replicas","values":["3"]}]}`},
		{"$in lists alternatives", `{"spec.type":{"$in":["Service","website",7]}}`, `{"key":"spec.type","values":["service","website","7"]}`},
		{"$in with no values matches nothing", `{"spec.type":{"$in":[]}}`, `{"key":"spec.type","values":[]}`},
		{"$exists true asks for the key", `{"metadata.annotations.github.com/project-slug":{"$exists":true}}`,
			`{"key":"metadata.annotations.github.com/project-slug"}`},
		{"$exists false negates existence", `{"spec.owner":{"$exists":false}}`, `{"not":{"key":"spec.owner"}}`},
		{"$hasPrefix matches the start of a value", `{"metadata.name":{"$hasPrefix":"Comp"}}`, `{"key":"metadata.name","hasPrefix":"comp"}`},
		{"$startsWith is a synonym of $hasPrefix", `{"metadata.name":{"$startsWith":"x"}}`, `{"key":"metadata.name","hasPrefix":"x"}`},
		{"$contains with a primitive matches an array element", `{"metadata.tags":{"$contains":"Java"}}`, `{"key":"metadata.tags","values":["java"]}`},
		{"$contains with an object matches fields under the array", `{"metadata.links":{"$contains":{"url":"https://x","type":{"$exists":true}}}}`,
			`{"allOf":[{"key":"metadata.links.type"},{"key":"metadata.links.url","values":["https://x"]}]}`},
		{"$contains accepts logical operators", `{"metadata.links":{"$contains":{"$any":[{"title":"a"},{"title":"b"}]}}}`,
			`{"anyOf":[{"key":"metadata.links.title","values":["a"]},{"key":"metadata.links.title","values":["b"]}]}`},
		{"$all, $any and $not combine predicates", `{"$all":[{"kind":"component"},{"$any":[{"spec.type":"a"},{"$not":{"spec.type":"b"}}]}]}`,
			`{"allOf":[{"key":"kind","values":["component"]},{"anyOf":[{"key":"spec.type","values":["a"]},{"not":{"key":"spec.type","values":["b"]}}]}]}`},
		{"an empty $any matches nothing", `{"$any":[]}`, `{"anyOf":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParsePredicate(json.RawMessage(tt.raw))
			require.NoError(t, err)
			require.Equal(t, tt.want, filterJSON(f))
		})
	}
}

func TestParsePredicateRejectsInvalidPredicates(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		msg  string
	}{
		{"a top-level string", `"component"`, `Invalid filter predicate: top-level primitive values are not supported. Wrap the value in a field expression, e.g. { "kind": "component" }`},
		{"a top-level number", `7`, `Invalid filter predicate: top-level primitive values are not supported. Wrap the value in a field expression, e.g. { "kind": 7 }`},
		{"a top-level array", `[{"kind":"a"}]`, `Invalid filter predicate: expected an object, but got [{"kind":"a"}]`},
		{"a top-level null", `null`, `Invalid filter predicate: expected an object, but got null`},
		{"a primitive inside $all", `{"$all":["a"]}`, `Invalid filter predicate: top-level primitive values are not supported. Wrap the value in a field expression, e.g. { "kind": "a" }`},
		{"a logical operator next to a field", `{"$not":{"kind":"a"},"kind":"b"}`, `Invalid filter predicate: operator $not must be the only key in the predicate, wrap in $all to combine with other conditions`},
		{"$all that is not an array", `{"$all":{"kind":"a"}}`, `Invalid filter predicate: operator $all expects an array, but got {"kind":"a"}`},
		{"an unknown top-level operator", `{"$nor":[]}`, `Invalid filter predicate: unknown operator "$nor"`},
		{"an unknown value operator", `{"kind":{"$regex":"a.*"}}`, `Invalid filter predicate value for field "kind": expected a primitive value, $exists, $in, $hasPrefix, $startsWith or $contains operator, but got {"$regex":"a.*"}`},
		{"a null value", `{"kind":null}`, `Invalid filter predicate value for field "kind": expected a primitive value, $exists, $in, $hasPrefix, $startsWith or $contains operator, but got null`},
		{"an array value", `{"kind":["a"]}`, `Invalid filter predicate value for field "kind": expected a primitive value, $exists, $in, $hasPrefix, $startsWith or $contains operator, but got ["a"]`},
		{"two operators in one value", `{"kind":{"$in":["a"],"$exists":true}}`, `Invalid filter predicate value for field "kind": expected a primitive value, $exists, $in, $hasPrefix, $startsWith or $contains operator, but got {"$exists":true,"$in":["a"]}`},
		{"$exists with a string", `{"kind":{"$exists":"yes"}}`, `Invalid filter predicate value for field "kind": $exists expects a boolean, but got {"$exists":"yes"}`},
		{"$in with an object inside", `{"kind":{"$in":[{}]}}`, `Invalid filter predicate value for field "kind": $in expects an array of primitive values, but got {"$in":[{}]}`},
		{"$in with a string", `{"kind":{"$in":"a"}}`, `Invalid filter predicate value for field "kind": $in expects an array of primitive values, but got {"$in":"a"}`},
		{"$hasPrefix with a number", `{"kind":{"$hasPrefix":1}}`, `Invalid filter predicate value for field "kind": $hasPrefix expects a string, but got {"$hasPrefix":1}`},
		{"an operator-looking field inside $contains", `{"a":{"$contains":{"$in":["x"]}}}`, `Invalid filter predicate: unknown operator "$in"`},
		{"malformed JSON", `{"kind":`, `Invalid filter predicate: unexpected EOF`},
		{"trailing data", `{} {}`, `Invalid filter predicate: unexpected data after the predicate`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePredicate(json.RawMessage(tt.raw))
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, tt.msg, err.Error())
		})
	}
}

func TestFilterMatches(t *testing.T) {
	entries := []SearchEntry{
		searchRow("kind", "Component"), searchRow("metadata.name", "billing-api"), searchRow("metadata.tags", "java"),
		{Key: "metadata.tags.java", Value: "true", Original: "true"}, searchNullRow("spec.owner"), searchRow("spec.type", ""),
	}
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"nil matches", nil, true},
		{"a value in the list matches", FilterKeyIn("Kind", "api", "COMPONENT"), true},
		{"a value not in the list does not match", FilterKeyIn("kind", "api"), false},
		{"the empty value matches an empty string", FilterKeyIn("spec.type", ""), true},
		{"the empty value does not match null", FilterKeyIn("spec.owner", ""), false},
		{"a null row still means the key exists", FilterKeyExists("spec.owner"), true},
		{"a missing key does not exist", FilterKeyExists("spec.system"), false},
		{"tag keys exist", FilterKeyExists("metadata.tags.java"), true},
		{"all of two matching filters matches", FilterAllOf(FilterKeyIn("kind", "component"), FilterKeyExists("metadata.tags.java")), true},
		{"all of with one failing filter does not match", FilterAllOf(FilterKeyIn("kind", "component"), FilterKeyIn("kind", "api")), false},
		{"all of nothing matches", FilterAllOf(), true},
		{"any of with one matching filter matches", FilterAnyOf(FilterKeyIn("kind", "api"), FilterKeyIn("kind", "component")), true},
		{"any of nothing matches nothing", FilterAnyOf(), false},
		{"any of containing nil matches everything", FilterAnyOf(FilterKeyIn("kind", "api"), nil), true},
		{"not negates", FilterNot(FilterKeyIn("kind", "api")), true},
		{"not of nil matches nothing", FilterNot(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, FilterMatches(tt.f, entries))
		})
	}
	t.Run("a prefix matches only non-null values", func(t *testing.T) {
		f, err := ParsePredicate(json.RawMessage(`{"metadata.name":{"$hasPrefix":"Bill"}}`))
		require.NoError(t, err)
		require.True(t, FilterMatches(f, entries))
		f, err = ParsePredicate(json.RawMessage(`{"spec.owner":{"$hasPrefix":""}}`))
		require.NoError(t, err)
		require.False(t, FilterMatches(f, entries))
	})
}

func TestFilterJSONRoundTrip(t *testing.T) {
	for _, raw := range []string{
		`{"$all":[{"kind":"component"},{"$any":[{"spec.type":"a"},{"$not":{"spec.type":"b"}}]}]}`,
		`{"metadata.name":{"$hasPrefix":"x"},"spec.owner":{"$exists":false},"spec.type":{"$in":[]}}`,
		`{"$any":[]}`,
	} {
		t.Run("round-trips "+raw, func(t *testing.T) {
			f, err := ParsePredicate(json.RawMessage(raw))
			require.NoError(t, err)
			back, err := decodeFilterJSON(json.RawMessage(f.String()), 0)
			require.NoError(t, err)
			require.Equal(t, f.String(), back.String())
		})
	}
	t.Run("unknown shapes do not decode", func(t *testing.T) {
		for _, raw := range []string{`[]`, `{}`, `{"key":1}`, `{"key":"a","values":"b"}`, `{"key":"a","x":1}`, `{"allOf":{}}`, `{"not":[]}`, `{"allOf":[],"anyOf":[]}`, `null`} {
			_, err := decodeFilterJSON(json.RawMessage(raw), 0)
			require.Error(t, err, raw)
		}
	})
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{"no parameter means whole entities", nil, nil},
		{"comma-separated paths are split and trimmed", []string{"kind, metadata.name ,,"}, []string{"kind", "metadata.name"}},
		{"repeated parameters accumulate", []string{"kind", "metadata.namespace,spec"}, []string{"kind", "metadata.namespace", "spec"}},
		{"blank values mean whole entities", []string{" , "}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFields(tt.values)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	t.Run("array paths are rejected", func(t *testing.T) {
		_, err := ParseFields([]string{"kind", "spec.links[0].url"})
		require.Error(t, err)
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
		require.Equal(t, "invalid fields, array type fields are not supported", err.Error())
	})
}

func TestProject(t *testing.T) {
	e := Entity{
		"apiVersion": "backstage.io/v1alpha1",
		"kind":       "Component",
		"metadata": map[string]any{
			"name": "x", "namespace": "default",
			"annotations": map[string]any{"backstage.io/techdocs-ref": "dir:.", "backstage": "short"},
			"labels":      map[string]any{"a.b": map[string]any{"c": "deep"}},
		},
		"spec": map[string]any{"type": "service", "links": []any{map[string]any{"url": "u"}}},
	}
	tests := []struct {
		name   string
		fields []string
		want   Entity
	}{
		{"top-level fields are kept whole", []string{"kind", "spec"},
			Entity{"kind": "Component", "spec": map[string]any{"type": "service", "links": []any{map[string]any{"url": "u"}}}}},
		{"nested paths keep only their leaves", []string{"metadata.name", "metadata.namespace"},
			Entity{"metadata": map[string]any{"name": "x", "namespace": "default"}}},
		{"keys containing dots are matched", []string{"metadata.annotations.backstage.io/techdocs-ref"},
			Entity{"metadata": map[string]any{"annotations": map[string]any{"backstage.io/techdocs-ref": "dir:."}}}},
		{"a shorter key that leads nowhere is backed out of", []string{"metadata.labels.a.b.c"},
			Entity{"metadata": map[string]any{"labels": map[string]any{"a.b": map[string]any{"c": "deep"}}}}},
		{"missing paths are omitted", []string{"kind", "spec.owner", "status", "metadata.name.first"},
			Entity{"kind": "Component"}},
		{"paths into arrays are omitted", []string{"spec.links.url"}, Entity{}},
		{"a path and its parent keep the whole parent", []string{"metadata.name", "metadata"},
			Entity{"metadata": e["metadata"]}},
		{"a parent and then its child keep the whole parent", []string{"spec", "spec.type"},
			Entity{"spec": e["spec"]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Project(e, tt.fields))
		})
	}
	t.Run("the input is not modified", func(t *testing.T) {
		before := mustJSON(t, e)
		Project(e, []string{"metadata", "metadata.name", "spec.type"})
		require.JSONEq(t, string(before), string(mustJSON(t, e)))
	})
}

func TestParseOrderParams(t *testing.T) {
	t.Run("asc and desc fields are parsed in order", func(t *testing.T) {
		got, err := ParseOrderParams([]string{"asc:metadata.name", "desc:spec.type", "asc:a:b"})
		require.NoError(t, err)
		require.Equal(t, []OrderField{{Field: "metadata.name"}, {Field: "spec.type", Desc: true}, {Field: "a:b"}}, got)
	})
	t.Run("no parameter means no order", func(t *testing.T) {
		got, err := ParseOrderParams(nil)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	for _, bad := range []string{"metadata.name", "ASC:metadata.name", "asc:", "up:x", "asc:a\nb", " asc:x"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			_, err := ParseOrderParams([]string{"asc:kind", bad})
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, `Invalid order parameter "`+bad+`", expected "<asc or desc>:<field name>"`, err.Error())
		})
	}
}

func TestParseOrderFieldParams(t *testing.T) {
	t.Run("the order defaults to ascending", func(t *testing.T) {
		got, err := ParseOrderFieldParams([]string{"metadata.name", "kind,desc", "spec.type,asc"})
		require.NoError(t, err)
		require.Equal(t, []OrderField{{Field: "metadata.name"}, {Field: "kind", Desc: true}, {Field: "spec.type"}}, got)
	})
	t.Run("parts after the order are ignored, as in Backstage", func(t *testing.T) {
		got, err := ParseOrderFieldParams([]string{"kind,desc,extra"})
		require.NoError(t, err)
		require.Equal(t, []OrderField{{Field: "kind", Desc: true}}, got)
	})
	for _, bad := range []string{"kind,DESC", "kind,", "kind, asc", "kind,up"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			_, err := ParseOrderFieldParams([]string{bad})
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, "Invalid order field order, must be asc or desc", err.Error())
		})
	}
}
