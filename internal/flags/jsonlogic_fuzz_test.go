package flags

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// seedContexts cover what rules read: targeting keys of several types, nested objects, arrays for the array
// operators, versions for sem_ver, and a user-supplied $flagd.
var seedContexts = []string{
	`{}`,
	`{"targetingKey":"user-1","email":"ann@billpay.example","plan":"pro","roles":["admin"],"country":"BR","appVersion":"2.3.9"}`,
	`{"targetingKey":42,"email":"steve@ballmer.com","age":30,"beta":true,"tags":["vip",1],"n":1.5}`,
	`{"targetingKey":"","user":{"name":"jack","cat":["a"]},"version":"v2.0.0-alpha","op":"<","target":"2.0.0"}`,
	`{"items":[{"price":5,"name":"pro"},{"price":20,"ok":true},null,"str"],"nums":[0,null,"2"],"matrix":[[1,2],[0]]}`,
	`{"$flagd":{"flagKey":"other","timestamp":1.5},"w":-1,"groups":[{"tags":["beta"]}],"price":1e308}`,
}

// seedRules are the targeting rules of the repository's flag documents (evaluators substituted), plus a few
// shapes that stress the compiler: operators without arguments, wrong argument types, deep nesting.
func seedRules(f *testing.F) [][]byte {
	f.Helper()
	var rules [][]byte
	for _, d := range seedDocuments(f) {
		doc, err := parse(d, false)
		if err != nil {
			continue
		}
		for _, key := range sortedKeys(doc.Flags) {
			if t := doc.Flags[key].Targeting; len(t) > 0 {
				b, err := json.Marshal(t)
				if err != nil {
					f.Fatal(err)
				}
				rules = append(rules, b)
			}
		}
	}
	return append(rules,
		[]byte(`{"var":""}`), []byte(`{"var":["a.b",1]}`), []byte(`{"if":[]}`), []byte(`{"fractional":[]}`),
		[]byte(`{"fractional":[["a"]]}`), []byte(`{"sem_ver":[1,"^",2]}`), []byte(`{"reduce":[{"var":"nums"},{"+":[{"var":"current"},{"var":"accumulator"}]},0]}`),
		[]byte(`{"map":[{"var":"items"},{"var":"price"}]}`), []byte(`{"substr":["hello",-3,2]}`), []byte(`{"merge":[[1],[2,[3]],4]}`),
		[]byte(`{"missing_some":[1,["a","b"]]}`), []byte(`{"%":[1,0]}`), []byte(`{"/":[1,0]}`), []byte(`{"in":["a",null]}`),
		[]byte(`{"cat":[{"var":"$flagd.flagKey"},{"var":"targetingKey"}]}`), []byte(`{"!!":[[]]}`), []byte(`[1,{"var":"a"}]`),
		[]byte(`{"if":[true,{"if":[{"var":"x"},{"==":[1,1]}]}]}`), []byte(`{"nope":[1]}`), []byte(`{"a":1,"b":2}`), []byte(`"text"`),
	)
}

func decodeJSON(data []byte) (any, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// FuzzCompile checks the JSON Logic compiler and validator on arbitrary JSON: neither panics, and a compiled rule
// evaluated on an empty context does not panic either, whether or not the validator accepts it (flagd accepts
// rules with unknown operators and fails them at evaluation, so the compiler must cope with anything).
func FuzzCompile(f *testing.F) {
	for _, r := range seedRules(f) {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rule, ok := decodeJSON(data)
		if !ok {
			return
		}
		_ = checkRule(rule, true)
		_ = checkRule(rule, false)
		node := compile(rule)
		sc := scope{ctx: map[string]any{}, flagKey: "f", ts: 1700000000}
		_, _ = node(&sc)
	})
}

// FuzzEvaluate evaluates a rule the validator accepts on an arbitrary context, through a compiled Set as OFREP does:
// it never panics, the same evaluation twice (and on a second compilation) gives the same result, and the caller's
// context is left as it was.
func FuzzEvaluate(f *testing.F) {
	rules := seedRules(f)
	for i, r := range rules {
		for j := range 2 {
			f.Add(r, []byte(seedContexts[(i+j)%len(seedContexts)]))
		}
	}
	clock := WithClock(func() time.Time { return time.Unix(1700000000, 0) })
	f.Fuzz(func(t *testing.T, ruleJSON, ctxJSON []byte) {
		rule, ok := decodeJSON(ruleJSON)
		if !ok {
			return
		}
		targeting, ok := rule.(map[string]any)
		if !ok || checkRule(targeting, true) != nil {
			return
		}
		var ctx map[string]any
		if err := json.Unmarshal(ctxJSON, &ctx); err != nil {
			return
		}
		// Variants named like the values rules usually produce, so evaluations reach TARGETING_MATCH as well as
		// the fallbacks and errors.
		dv := "off"
		doc := func() *Document {
			return &Document{Flags: map[string]Flag{"f": {State: Enabled, DefaultVariant: &dv, Targeting: targeting,
				Variants: map[string]any{"on": "on", "off": "off", "true": "true", "false": "false", "a": "a", "b": "b", "1": "1", "0": "0"}}}}
		}
		before, err := json.Marshal(ctx)
		if err != nil {
			return
		}
		set := Compile(doc(), clock)
		first := set.Evaluate("f", ctx)
		second := set.Evaluate("f", ctx)
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("two evaluations differ:\n%#v\n%#v", first, second)
		}
		if other := Compile(doc(), clock).Evaluate("f", ctx); !reflect.DeepEqual(first, other) {
			t.Fatalf("two compilations evaluate differently:\n%#v\n%#v", first, other)
		}
		after, _ := json.Marshal(ctx)
		if !bytes.Equal(before, after) {
			t.Fatalf("evaluation changed the context:\nbefore: %s\nafter:  %s", before, after)
		}
		if first.Reason == ReasonError && first.ErrorCode == "" {
			t.Fatalf("an error without a code: %#v", first)
		}
	})
}
