package flags

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Run("a valid document loads with evaluators substituted", func(t *testing.T) {
		doc, err := Parse([]byte(`{"$evaluators":{"pro":{"==":[{"var":"plan"},"pro"]}},
			"flags":{"f":{"state":"ENABLED","variants":{"a":true,"b":false},"defaultVariant":"a","targeting":{"if":[{"$ref":"pro"},"b"]}}}}`))
		require.NoError(t, err)
		require.Equal(t, map[string]any{"==": []any{map[string]any{"var": "plan"}, "pro"}}, doc.Flags["f"].Targeting["if"].([]any)[0])
	})

	problems := []struct{ name, doc, want string }{
		{"a default variant that is not a variant is refused", `{"flags":{"new-checkout":{"state":"ENABLED","variants":{"red":1},"defaultVariant":"blue"}}}`,
			`flag "new-checkout": defaultVariant "blue" is not one of its variants`},
		{"an unknown state is refused", `{"flags":{"f":{"state":"ON","variants":{"a":1},"defaultVariant":"a"}}}`, `flag "f": state "ON" must be ENABLED or DISABLED`},
		{"a missing state is refused", `{"flags":{"f":{"variants":{"a":1}}}}`, `flag "f": state is required`},
		{"variants of mixed types are refused", `{"flags":{"f":{"state":"ENABLED","variants":{"a":1,"b":"x"}}}}`, `flag "f": variant "b" is string but variant "a" is number`},
		{"no variants are refused", `{"flags":{"f":{"state":"ENABLED","variants":{}}}}`, `flag "f": variants must name at least one variant`},
		{"a ref to a missing evaluator is refused", `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"targeting":{"if":[{"$ref":"nope"},"a"]}}}}`,
			`flag "f": targeting refers to evaluator "nope", which $evaluators does not define`},
		{"an unknown operator is refused", `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"targeting":{"nope":[]}}}}`, `flag "f": targeting: unknown operator "nope"`},
		{"targeting that is not an object is refused", `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"targeting":"a"}}}`, `flag "f": targeting must be a JSON Logic object`},
		{"non-primitive metadata is refused", `{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"metadata":{"x":[1]}}}}`, `flag "f": metadata: "x" must be a string, number or boolean`},
		{"a document without flags is refused", `{}`, `flags: required`},
		{"an object mixing var with other keys inside an array operator is refused",
			`{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"targeting":{"some":[{"var":"xs"},{"==":[{"var":"x","y":1},1]}]}}}}`,
			`flag "f": targeting: an object with a "var" key and other keys`},
		{"text that is not JSON is refused", `{"flags":`, `not a JSON object`},
	}
	for _, p := range problems {
		t.Run(p.name, func(t *testing.T) {
			_, err := Parse([]byte(p.doc))
			require.Error(t, err)
			require.Contains(t, err.Error(), p.want)
		})
	}

	t.Run("the differential fixture is valid apart from its deliberately unknown operators", func(t *testing.T) {
		data, err := os.ReadFile("testdata/differential.json")
		require.NoError(t, err)
		_, err = Parse(data)
		require.ErrorContains(t, err, `unknown operator "nope"`)
	})
}

func TestEvaluate(t *testing.T) {
	set, err := Load([]byte(`{"flags":{
		"fractional-flag":{"state":"ENABLED","variants":{"clubs":"c","diamonds":"d","hearts":"h","spades":"s"},"defaultVariant":"clubs",
			"targeting":{"fractional":[{"cat":[{"var":"$flagd.flagKey"},{"var":"user.name"}]},["clubs",25],["diamonds",25],["hearts",25],["spades",25]]}},
		"late":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":{"if":[{">":[{"var":"$flagd.timestamp"},2000000000]},"on"]}},
		"code-default":{"state":"ENABLED","variants":{"on":true}},
		"off":{"state":"DISABLED","variants":{"on":true},"defaultVariant":"on"}}}`),
		WithClock(func() time.Time { return time.Unix(2000000001, 0) }))
	require.NoError(t, err)

	t.Run("fractional buckets match flagd's published vectors", func(t *testing.T) {
		for name, want := range map[string]string{"jack": "hearts", "queen": "spades", "ten": "clubs", "nine": "diamonds"} {
			r := set.Evaluate("fractional-flag", map[string]any{"user": map[string]any{"name": name}})
			require.Equal(t, want, r.Variant, name)
			require.Equal(t, ReasonTargetingMatch, r.Reason)
		}
	})
	t.Run("the timestamp comes from the set's clock", func(t *testing.T) {
		require.Equal(t, true, set.Evaluate("late", nil).Value)
	})
	t.Run("a flag without a default variant tells the caller to use its own default", func(t *testing.T) {
		r := set.Evaluate("code-default", nil)
		require.Equal(t, Result{Key: "code-default", Reason: ReasonDefault, Metadata: map[string]any{}}, r)
	})
	t.Run("a disabled flag is a success without a value", func(t *testing.T) {
		r := set.Evaluate("off", nil)
		require.Equal(t, ReasonDisabled, r.Reason)
		require.Nil(t, r.Value)
		require.Empty(t, r.ErrorCode)
	})
	t.Run("asking for the wrong type is a type mismatch", func(t *testing.T) {
		r := set.Resolve("off", TypeString, nil)
		require.Equal(t, ReasonDisabled, r.Reason)
		r = set.Resolve("late", TypeString, nil)
		require.Equal(t, ErrTypeMismatch, r.ErrorCode)
	})
	t.Run("an unknown flag is not found", func(t *testing.T) {
		require.Equal(t, ErrFlagNotFound, set.Evaluate("nope", nil).ErrorCode)
	})
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/differential.json"); err == nil {
		f.Add(data)
	}
	f.Add([]byte(`{"flags":{"f":{"state":"ENABLED","variants":{"a":1},"defaultVariant":"a","targeting":{"if":[{"var":"x"},"a"]}}}}`))
	f.Add([]byte(`{"$evaluators":{"e":{"in":["a",{"var":"s"}]}},"flags":{"f":{"state":"ENABLED","variants":{"a":"a"},"targeting":{"$ref":"e"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parse(data, false)
		if err != nil {
			return
		}
		// Whatever parses must compile and evaluate without panicking.
		set := Compile(doc)
		ctx := map[string]any{"targetingKey": "k", "x": 1.0, "s": "abc", "user": map[string]any{"name": "n"}}
		for _, k := range set.Keys() {
			for _, typ := range allTypes {
				set.Resolve(k, typ, ctx)
			}
		}
	})
}

func TestArrayOperators(t *testing.T) {
	ctx := map[string]any{
		"tags":  []any{"beta", "vip"},
		"nums":  []any{1.0, 2.0, 3.0},
		"items": []any{map[string]any{"price": 5.0}, map[string]any{"price": 20.0}},
		"plan":  "pro",
		"limit": 10.0,
	}
	cases := []struct {
		name, rule string
		want       any // rule result; an error when wantErr
		wantErr    bool
	}{
		{"map reads each element as the data", `{"map":[{"var":"nums"},{"*":[{"var":""},2]}]}`, []any{2.0, 4.0, 6.0}, false},
		{"filter keeps truthy elements", `{"filter":[{"var":"nums"},{">":[{"var":""},1]}]}`, []any{2.0, 3.0}, false},
		{"filter sees outer variables through solveVars", `{"filter":[{"var":"items"},{">":[{"var":"price"},{"var":"limit"}]}]}`, []any{map[string]any{"price": 20.0}}, false},
		{"reduce folds with current and accumulator", `{"reduce":[{"var":"nums"},{"+":[{"var":"current"},{"var":"accumulator"}]},10]}`, 16.0, false},
		{"reduce over no array is 0", `{"reduce":[{"var":"nope"},{"+":[1]},"x"]}`, 0.0, false},
		{"reduce with a null initial value fails", `{"reduce":[{"var":"nums"},{"+":[1]},null]}`, nil, true},
		{"all over an empty array is false", `{"all":[[],true]}`, false, false},
		{"none over an empty array is true", `{"none":[[],true]}`, true, false},
		{"some finds an element", `{"some":[{"var":"tags"},{"==":[{"var":""},"vip"]}]}`, true, false},
		{"some over a string fails", `{"some":[{"var":"plan"},{"==":[{"var":""},"p"]}]}`, nil, true},
		{"all whose rule is a present var fails", `{"all":[{"var":"items"},{"var":"price"}]}`, nil, true},
		{"map does not evaluate objects in a literal array", `{"map":[[{"var":"plan"}],{"var":""}]}`, []any{map[string]any{"var": "plan"}}, false},
		{"set returns a modified copy", `{"set":[{"a":1,"b":2},"b",{"var":"plan"}]}`, map[string]any{"a": 1.0, "b": "pro"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rule any
			require.NoError(t, json.Unmarshal([]byte(c.rule), &rule))
			require.NoError(t, checkRule(rule, true))
			got, err := compile(rule)(&scope{ctx: ctx, flagKey: "f"})
			if c.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}
