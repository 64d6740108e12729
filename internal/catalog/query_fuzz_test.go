package catalog

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/billpay/portal/internal/errs"
)

// fuzzEntries is a fixed entity the fuzzed filters are evaluated against, so that evaluation is
// exercised too and not only parsing.
var fuzzEntries = []SearchEntry{
	{Key: "kind", Value: "component", Original: "Component"},
	{Key: "metadata.name", Value: "a", Original: "a"},
	{Key: "metadata.tags", Value: "java", Original: "java"},
	{Key: "metadata.tags.java", Value: "true", Original: "true"},
	{Key: "spec.owner", Null: true},
}

// checkFuzzedFilter checks what every parsed filter must satisfy: errors are invalid-input errors,
// and a filter survives the trip through a cursor and evaluates the same on the index.
func checkFuzzedFilter(t *testing.T, f Filter, err error) {
	if err != nil {
		if errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("error is not invalid input: %v", err)
		}
		return
	}
	if f == nil {
		return
	}
	back, derr := decodeFilterJSON(json.RawMessage(f.String()), 0)
	if derr != nil {
		t.Fatalf("filter %s does not decode: %v", f, derr)
	}
	if back.String() != f.String() {
		t.Fatalf("filter changed through JSON: %s became %s", f, back)
	}
	want := FilterMatches(f, fuzzEntries)
	_, got := fuzzIndex.GetMatching("component:default/a", f)
	if want != got {
		t.Fatalf("index says %v, brute force %v for %s", got, want, f)
	}
}

var fuzzIndex = func() *Index {
	ix := NewIndex()
	raw := `{"kind":"Component","metadata":{"name":"a","namespace":"default","uid":"u","tags":["java"]},"spec":{"owner":null}}`
	if err := ix.Put([]byte(raw)); err != nil {
		panic(err)
	}
	return ix
}()

func FuzzParseFilterParams(f *testing.F) {
	for _, seed := range []string{
		"kind=component", "kind=component,spec.type=service", "kind=a,kind=b", "metadata.tags.java", "spec.owner=",
		"=a", " , ,", "a=b=c", "relations.ownedBy=group:default/Team", "Kind=a,kind=b,kind", "\x00=\xff", "k,=",
	} {
		f.Add(seed, "kind=api")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		filter, err := ParseFilterParams([]string{a, b})
		checkFuzzedFilter(t, filter, err)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "Invalid filter, '") {
				t.Fatalf("unexpected message %q", err)
			}
		}
	})
}

func FuzzParsePredicate(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"component"}`, `{"$all":[{"kind":"a"},{"$any":[{"spec.type":"b"},{"$not":{"x":1}}]}]}`,
		`{"spec.type":{"$in":["a",1,true]}}`, `{"a":{"$exists":false}}`, `{"a":{"$hasPrefix":"x"}}`,
		`{"a":{"$contains":{"b":{"$in":["c"]}}}}`, `{"a":{"$contains":{"$not":"x"}}}`, `"x"`, `[]`, `null`,
		`{"$nope":1}`, `{"a":{"$in":[{}]}}`, `{"a":1e400}`, `{"a":-0}`, `{}`, `{"$any":[]}`, `{"a":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		filter, err := ParsePredicate(raw)
		checkFuzzedFilter(t, filter, err)
	})
}

// FuzzScanEntity holds the hand-written ingest scanner to encoding/json: it accepts exactly the
// valid JSON objects, and yields the same rows as scanning the re-encoded document.
func FuzzScanEntity(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"Component","metadata":{"name":"a","uid":"u","tags":["x","X"]},"spec":{"n":1.50,"b":[true,null,{"c":"d"}]}}`,
		`{"relations":[{"type":"ownedBy","targetRef":"group:default/t"},{"type":1},[]],"status":{"x":[1,2]}}`,
		`{"metadata":{"namespace":0,"name":{"a":1},"uid":[1]}}`, ` { "a" : "\u00e9\n" } `, `{"a":"\ud83d\ude00"}`,
		`{"a":1e400,"b":-0,"c":0.1e-9}`, `{"a":{"A":1}}`, `{"a":[[["x"]]]}`, `{`, `{"a":01}`, `[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := scanEntity(raw)
		var doc any
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber() // 1e400 is valid JSON; JSON.parse makes it Infinity
		valid := dec.Decode(&doc) == nil
		if _, err := dec.Token(); err != io.EOF {
			valid = false
		}
		_, isObject := doc.(map[string]any)
		if err != nil {
			if errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("error is not invalid input: %v", err)
			}
			if valid && isObject && !strings.HasPrefix(err.Error(), "Entity has duplicate keys") && !strings.Contains(err.Error(), "nested too deeply") {
				t.Fatalf("valid object rejected: %v", err)
			}
			return
		}
		if !valid || !isObject {
			t.Fatalf("invalid input accepted: %q", raw)
		}
		if hasDuplicateKeys(raw) {
			return // encoding/json keeps the last duplicate, the scanner every one
		}
		again, err := SearchEntries(Entity(doc.(map[string]any)))
		if err != nil {
			t.Fatalf("re-encoded document rejected: %v", err)
		}
		if got := s.entries(); !equalEntries(got, again) {
			t.Fatalf("rows differ:\n raw %v\n re-encoded %v", got, again)
		}
	})
}

func equalEntries(a, b []SearchEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hasDuplicateKeys reports whether any object in raw repeats a key.
func hasDuplicateKeys(raw []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	type frame struct {
		keys    map[string]bool
		isObj   bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.isObj {
					top.wantKey = true
				}
				stack = append(stack, &frame{keys: map[string]bool{}, isObj: v == '{', wantKey: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		default:
			if top != nil && top.isObj {
				if top.wantKey {
					k, _ := v.(string)
					if top.keys[k] {
						return true
					}
					top.keys[k] = true
					top.wantKey = false
				} else {
					top.wantKey = true
				}
			}
		}
	}
}
