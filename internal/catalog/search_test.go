package catalog

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/billpay/portal/internal/errs"
	"github.com/stretchr/testify/require"
)

// row builds an expected non-null search entry; the key and value are lowercased as stored.
func searchRow(key, original string) SearchEntry {
	return SearchEntry{Key: strings.ToLower(key), Value: strings.ToLower(original), Original: original}
}

func searchNullRow(key string) SearchEntry { return SearchEntry{Key: key, Null: true} }

// baseRows are the explicit rows of an entity named "x" with uid "u1" in namespace default.
var baseRows = []SearchEntry{searchRow("metadata.name", "x"), searchRow("metadata.namespace", "default"), searchRow("metadata.uid", "u1")}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return b
}

func TestSearchEntries(t *testing.T) {
	md := func(extra map[string]any) map[string]any {
		m := map[string]any{"name": "x", "namespace": "default", "uid": "u1"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	long := strings.Repeat("a", 201)
	tests := []struct {
		name   string
		entity Entity
		want   []SearchEntry // compared as a set, plus baseRows unless noBase
		noBase bool
	}{
		{
			name:   "scalar leaves become lowercased rows that keep their original case",
			entity: Entity{"kind": "Component", "metadata": md(nil), "spec": map[string]any{"type": "Service"}},
			want:   []SearchEntry{searchRow("kind", "Component"), searchRow("spec.type", "Service")},
		},
		{
			name:   "keys are lowercased",
			entity: Entity{"metadata": md(nil), "spec": map[string]any{"profile": map[string]any{"displayName": "Ann"}}},
			want:   []SearchEntry{searchRow("spec.profile.displayname", "Ann")},
		},
		{
			name:   "an entity without namespace indexes both null and default",
			entity: Entity{"metadata": map[string]any{"name": "x", "uid": "u1"}},
			want:   []SearchEntry{searchRow("metadata.name", "x"), searchNullRow("metadata.namespace"), searchRow("metadata.namespace", "default"), searchRow("metadata.uid", "u1")},
			noBase: true,
		},
		{
			name:   "an empty namespace also matches default",
			entity: Entity{"metadata": map[string]any{"name": "x", "namespace": "", "uid": "u1"}},
			want:   []SearchEntry{searchRow("metadata.name", "x"), searchRow("metadata.namespace", ""), searchRow("metadata.namespace", "default"), searchRow("metadata.uid", "u1")},
			noBase: true,
		},
		{
			name:   "a missing name and uid still produce null rows",
			entity: Entity{"kind": "Group"},
			want:   []SearchEntry{searchRow("kind", "Group"), searchNullRow("metadata.name"), searchNullRow("metadata.namespace"), searchRow("metadata.namespace", "default"), searchNullRow("metadata.uid")},
			noBase: true,
		},
		{
			name:   "arrays of strings emit each item and a path.item true row",
			entity: Entity{"metadata": md(map[string]any{"tags": []any{"Java", "go"}})},
			want: []SearchEntry{searchRow("metadata.tags", "Java"), searchRow("metadata.tags", "go"),
				{Key: "metadata.tags.java", Value: "true", Original: "true"}, {Key: "metadata.tags.go", Value: "true", Original: "true"}},
		},
		{
			name: "arrays of objects flatten without indices",
			entity: Entity{"metadata": md(map[string]any{"links": []any{
				map[string]any{"url": "https://a", "title": "A"}, map[string]any{"url": "https://b"}}})},
			want: []SearchEntry{searchRow("metadata.links.url", "https://a"), searchRow("metadata.links.title", "A"), searchRow("metadata.links.url", "https://b")},
		},
		{
			name:   "arrays of numbers emit items but no synthetic rows",
			entity: Entity{"metadata": md(nil), "spec": map[string]any{"ports": []any{80, 443}}},
			want:   []SearchEntry{searchRow("spec.ports", "80"), searchRow("spec.ports", "443")},
		},
		{
			name:   "nested arrays flatten under the same path",
			entity: Entity{"metadata": md(nil), "spec": map[string]any{"m": []any{[]any{"a"}, nil}}},
			want:   []SearchEntry{searchRow("spec.m", "a"), {Key: "spec.m.a", Value: "true", Original: "true"}, searchNullRow("spec.m")},
		},
		{
			name: "numbers and booleans are stringified as JavaScript does",
			entity: Entity{"metadata": md(nil), "spec": map[string]any{
				"int": 3.0, "frac": 1.5, "big": 1e21, "tiny": 1e-7, "neg": -2.0, "yes": true, "no": false}},
			want: []SearchEntry{searchRow("spec.int", "3"), searchRow("spec.frac", "1.5"), searchRow("spec.big", "1e+21"), searchRow("spec.tiny", "1e-7"),
				searchRow("spec.neg", "-2"), searchRow("spec.yes", "true"), searchRow("spec.no", "false")},
		},
		{
			name:   "null leaves produce a row without value",
			entity: Entity{"metadata": md(nil), "spec": map[string]any{"owner": nil}},
			want:   []SearchEntry{searchNullRow("spec.owner")},
		},
		{
			name:   "empty objects and arrays produce no rows",
			entity: Entity{"metadata": md(nil), "spec": map[string]any{"a": map[string]any{}, "b": []any{}}},
		},
		{
			name: "relations become relations.<type> rows holding the target ref",
			entity: Entity{"metadata": md(nil), "relations": []any{
				map[string]any{"type": "ownedBy", "targetRef": "group:default/Team-A", "target": map[string]any{"kind": "group"}},
				map[string]any{"type": "dependsOn", "targetRef": "component:default/b"}}},
			want: []SearchEntry{searchRow("relations.ownedby", "group:default/Team-A"), searchRow("relations.dependson", "component:default/b")},
		},
		{
			name: "status, attachments, etag and the relations array itself are not walked",
			entity: Entity{"metadata": md(map[string]any{"etag": "e1"}), "status": map[string]any{"items": []any{"x"}},
				"attachments": []any{map[string]any{"a": "b"}}, "relations": []any{}},
		},
		{
			name:   "keys longer than 200 characters are dropped",
			entity: Entity{"metadata": md(map[string]any{"annotations": map[string]any{strings.Repeat("k", 190): "v", "short": "v"}})},
			want:   []SearchEntry{searchRow("metadata.annotations.short", "v")},
		},
		{
			name:   "values longer than 200 characters become null",
			entity: Entity{"metadata": md(map[string]any{"description": long})},
			want:   []SearchEntry{searchNullRow("metadata.description")},
		},
		{
			name:   "lengths are counted in UTF-16 code units",
			entity: Entity{"metadata": md(map[string]any{"title": strings.Repeat("😀", 101), "description": strings.Repeat("é", 200)})},
			want:   []SearchEntry{searchNullRow("metadata.title"), searchRow("metadata.description", strings.Repeat("é", 200))},
		},
		{
			name:   "rows equal after lowercasing are kept once with the first original case",
			entity: Entity{"metadata": md(map[string]any{"tags": []any{"Java", "java", "JAVA"}})},
			want:   []SearchEntry{searchRow("metadata.tags", "Java"), {Key: "metadata.tags.java", Value: "true", Original: "true"}},
		},
		{
			name:   "escaped and non-ASCII strings are decoded",
			entity: Entity{"metadata": md(map[string]any{"title": "Café <b>\"quoted\"\n"})},
			want:   []SearchEntry{searchRow("metadata.title", "Café <b>\"quoted\"\n")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SearchEntries(tt.entity)
			require.NoError(t, err)
			want := tt.want
			if !tt.noBase {
				want = append(append([]SearchEntry{}, baseRows...), want...)
			}
			require.ElementsMatch(t, want, got)
			require.IsNonDecreasing(t, keysOf(got), "entries are sorted by key")
		})
	}
}

func keysOf(entries []SearchEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Key
	}
	return out
}

func TestSearchEntriesRejectsKeysThatDifferOnlyInCase(t *testing.T) {
	tests := []struct {
		name   string
		entity Entity
		msg    string
	}{
		{
			name:   "two spec keys",
			entity: Entity{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"foo": 1, "Foo": 2}},
			msg:    "Entity has duplicate keys that vary only in casing, 'spec.foo'",
		},
		{
			name:   "a metadata key shadowing an explicit row",
			entity: Entity{"metadata": map[string]any{"name": "x", "Name": "y"}},
			msg:    "Entity has duplicate keys that vary only in casing, 'metadata.name'",
		},
		{
			name: "relation types spelled two ways",
			entity: Entity{"metadata": map[string]any{"name": "x"}, "relations": []any{
				map[string]any{"type": "ownedBy", "targetRef": "group:default/a"},
				map[string]any{"type": "ownedby", "targetRef": "group:default/b"}}},
			msg: "Entity has duplicate keys that vary only in casing, 'relations.ownedby'",
		},
		{
			name:   "several clashes are all named",
			entity: Entity{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"a": 1, "A": 2, "b": 1, "B": 2}},
			msg:    "Entity has duplicate keys that vary only in casing, 'spec.a', 'spec.b'",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SearchEntries(tt.entity)
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, tt.msg, err.Error())
		})
	}
}

func TestScanEntity(t *testing.T) {
	t.Run("whitespace in the input does not change the rows and is reported", func(t *testing.T) {
		e := Entity{"kind": "Component", "metadata": map[string]any{"name": "X", "uid": "u", "tags": []any{"a"}}, "spec": map[string]any{"n": 1.25}}
		compact, err := scanEntity(mustJSON(t, e))
		require.NoError(t, err)
		require.False(t, compact.spaced)
		pretty, err := json.MarshalIndent(e, "", "  ")
		require.NoError(t, err)
		spaced, err := scanEntity(pretty)
		require.NoError(t, err)
		require.True(t, spaced.spaced)
		require.Equal(t, compact.entries(), spaced.entries())
	})
	t.Run("the ref is canonical and defaults the namespace", func(t *testing.T) {
		s, err := scanEntity([]byte(`{"kind":"Component","metadata":{"name":"My-Service","uid":"U-1"}}`))
		require.NoError(t, err)
		require.Equal(t, "component:default/my-service", s.ref)
		require.Equal(t, "U-1", s.uid)
		s, err = scanEntity([]byte(`{"kind":"API","metadata":{"name":"a","namespace":"Ops"}}`))
		require.NoError(t, err)
		require.Equal(t, "api:ops/a", s.ref)
		require.Empty(t, s.uid)
	})
	t.Run("an entity without kind or name has no ref", func(t *testing.T) {
		for _, raw := range []string{`{"metadata":{"name":"a"}}`, `{"kind":"A","metadata":{}}`, `{"kind":"A","metadata":{"name":""}}`, `{"kind":"A"}`} {
			s, err := scanEntity([]byte(raw))
			require.NoError(t, err, raw)
			require.Empty(t, s.ref, raw)
		}
	})
	t.Run("malformed JSON is rejected as invalid input", func(t *testing.T) {
		for _, raw := range []string{
			``, `[]`, `"x"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":[1,]}`, `{"a":01}`, `{"a":1.}`, `{"a":1e}`,
			`{"a":tru}`, `{"a":"\x01"}`, `{"a":"x}`, `{"a":"\q"}`, `{} x`, `{"a":-}`, `{"a":{"b":[}}`,
			`{"status":[1,]}`, `{"status":"\q"}`, `{"relations":[{"type":}]}`, `{"metadata":{"name":[1,}}`,
		} {
			_, err := scanEntity([]byte(raw))
			require.Error(t, err, raw)
			require.Equal(t, errs.Invalid, errs.CodeOf(err), raw)
		}
	})
	t.Run("odd relation shapes are stringified like a template literal", func(t *testing.T) {
		s, err := scanEntity([]byte(`{"metadata":{"name":"x"},"relations":[{"targetRef":"a:b/c"},{"type":null},{"type":7,"targetRef":{}},"junk"]}`))
		require.NoError(t, err)
		require.Subset(t, s.entries(), []SearchEntry{searchRow("relations.undefined", "a:b/c"), searchNullRow("relations.null"), searchRow("relations.7", "[object Object]")})
	})
}

func TestJSNumberString(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1, "-1"}, {1.5, "1.5"}, {0.1, "0.1"},
		{123456789012345680000, "123456789012345680000"}, {1e21, "1e+21"}, {2.5e25, "2.5e+25"},
		{1e-6, "0.000001"}, {1.5e-6, "0.0000015"}, {1e-7, "1e-7"}, {1.25e-10, "1.25e-10"},
		{math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"}, {math.NaN(), "NaN"}, {5e-324, "5e-324"},
		{1.7976931348623157e308, "1.7976931348623157e+308"}, {100, "100"}, {0.000123, "0.000123"},
	}
	for _, tt := range tests {
		t.Run("formats "+tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, jsNumberString(tt.in))
		})
	}
	t.Run("number literals keep small integers and normalise the rest", func(t *testing.T) {
		for lit, want := range map[string]string{"7": "7", "-0": "0", "1.0": "1", "1E2": "100", "1e400": "Infinity", "-1e400": "-Infinity", "1e-400": "0", "12345678901234567890": "12345678901234567000"} {
			require.Equal(t, want, numberLiteralString(lit), lit)
		}
	})
}
