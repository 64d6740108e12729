package flags

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/open-feature/flagd/core/pkg/evaluator"
	"github.com/open-feature/flagd/core/pkg/logger"
	"github.com/open-feature/flagd/core/pkg/store"
	"github.com/open-feature/flagd/core/pkg/sync"
	"github.com/stretchr/testify/require"
)

// reference loads a document into flagd core v0.16.1, the evaluator whose results ours must equal.
func reference(t testing.TB, doc string) *evaluator.JSON {
	t.Helper()
	log := logger.NewLogger(nil, false)
	s, err := store.NewStore(log, []string{"test"})
	require.NoError(t, err)
	je := evaluator.NewJSON(log, s)
	require.NoError(t, je.SetState(sync.DataSync{FlagData: doc, Source: "test"}))
	return je
}

type outcome struct {
	Value     any
	Variant   string
	Reason    string
	ErrorCode string
}

func referenceOutcome(je *evaluator.JSON, key string, typ Type, ctx map[string]any) outcome {
	c := context.Background()
	var (
		value   any
		variant string
		reason  string
		err     error
	)
	switch typ {
	case TypeBoolean:
		value, variant, reason, _, err = je.ResolveBooleanValue(c, "diff", key, ctx)
	case TypeString:
		value, variant, reason, _, err = je.ResolveStringValue(c, "diff", key, ctx)
	case TypeInteger:
		value, variant, reason, _, err = je.ResolveIntValue(c, "diff", key, ctx)
	case TypeFloat:
		value, variant, reason, _, err = je.ResolveFloatValue(c, "diff", key, ctx)
	case TypeObject:
		value, variant, reason, _, err = je.ResolveObjectValue(c, "diff", key, ctx)
	default:
		av := je.ResolveAsAnyValue(c, "diff", key, ctx)
		value, variant, reason, err = av.Value, av.Variant, av.Reason, av.Error
	}
	o := outcome{Value: value, Variant: variant, Reason: reason}
	// flagd reports "use the code default" internally as FALLBACK and sends DEFAULT on the wire.
	if o.Reason == "FALLBACK" {
		o.Reason = string(ReasonDefault)
	}
	if err != nil || o.Reason == string(ReasonDisabled) || (o.Reason == string(ReasonDefault) && o.Variant == "") {
		o.Value = nil
	}
	if err != nil {
		o.ErrorCode = err.Error()
	}
	return o
}

func ourOutcome(set *Set, key string, typ Type, ctx map[string]any) outcome {
	r := set.Resolve(key, typ, ctx)
	return outcome{Value: r.Value, Variant: r.Variant, Reason: string(r.Reason), ErrorCode: string(r.ErrorCode)}
}

var allTypes = []Type{TypeAny, TypeBoolean, TypeString, TypeInteger, TypeFloat, TypeObject}

func mustLoadLenient(t testing.TB, data []byte) *Set {
	t.Helper()
	doc, err := parse(data, false)
	require.NoError(t, err)
	return Compile(doc)
}

func compareAll(t *testing.T, je *evaluator.JSON, set *Set, keys []string, contexts []map[string]any) int {
	t.Helper()
	n := 0
	for _, key := range keys {
		for i, ctx := range contexts {
			for _, typ := range allTypes {
				want := referenceOutcome(je, key, typ, ctx)
				got := ourOutcome(set, key, typ, ctx)
				require.Equal(t, want, got, "flag %q, type %d, context #%d %v", key, typ, i, ctx)
				n++
			}
		}
	}
	return n
}

func TestDifferential(t *testing.T) {
	data, err := os.ReadFile("testdata/differential.json")
	require.NoError(t, err)
	je := reference(t, string(data))
	set := mustLoadLenient(t, data)
	keys := append(set.Keys(), "no-such-flag")

	t.Run("hand-written contexts give flagd's results", func(t *testing.T) {
		contexts := []map[string]any{
			nil,
			{},
			{"targetingKey": "user-1"},
			{"targetingKey": "user-2", "email": "steve@ballmer.com", "plan": "pro"},
			{"targetingKey": 42.0, "email": "admin@example.com"},
			{"targetingKey": "", "plan": "free", "n": 1.0},
			{"user": map[string]any{"name": "jack"}},
			{"user": map[string]any{"name": "queen"}, "targetingKey": "queen"},
			{"user": map[string]any{"name": "ten"}},
			{"user": map[string]any{"name": "nine"}},
			{"$flagd": map[string]any{"flagKey": "flagd-override-not"}, "plan": "pro"},
			{"version": "1.2.3", "op": ">=", "target": "1.2.0"},
			{"version": "v2.0.0-alpha", "op": "<", "target": "2.0.0"},
			{"version": "1", "op": "=", "target": "1.0.0"},
			{"version": 1.2, "op": "~", "target": "1.2.9"},
			{"version": "2.0.0.0", "op": "=", "target": "2.0.0"},
			{"version": "1.2.3+build", "op": "^", "target": "1.9.0"},
			{"version": "1.2.3", "op": "??", "target": "1.2.3"},
			{"age": 17.0}, {"age": 18.0}, {"age": 30.0}, {"age": "30"}, {"age": 31.0}, {"age": 40.0}, {"age": 66.0},
			{"age": 62.0}, {"age": "abc"}, {"age": true},
			{"beta": true, "plan": "pro", "email": "a@x.io"},
			{"beta": true, "plan": "", "tags": []any{"beta", "vip"}, "n": 0.0},
			{"beta": false, "tags": []any{}, "n": 2.0},
			{"tags": []any{"vip", 1.0}, "n": 1.5},
			{"plan": "enterprise", "n": 3.0, "age": 5.0},
			{"email": "admin@x.io", "plan": "pro", "age": 1.0},
			{"w": 0.0, "targetingKey": "abc", "plan": "pro"},
			{"w": 5.0, "targetingKey": "abc"},
			{"w": -1.0, "targetingKey": "xyz"},
			{"w": "7", "targetingKey": "xyz"},
			{"user": map[string]any{"cat": []any{"a"}}},
			{"user": map[string]any{"a": 1.0, "b": 2.0}},
			{"flag": true},
			// Arrays for map, filter, reduce, all, none and some.
			{"items": []any{map[string]any{"price": 5.0, "name": "pro"}, map[string]any{"price": 20.0, "name": "a", "ok": true}},
				"nums": []any{1.0, 2.0, 3.0}, "tags": []any{"beta"}, "n": 1.0},
			{"items": []any{}, "nums": []any{}, "tags": []any{}, "groups": []any{map[string]any{"tags": []any{"beta"}}, map[string]any{"tags": []any{}}}},
			{"items": []any{map[string]any{"targetingKey": "u1", "$flagd": map[string]any{"flagKey": "zz"}, "price": 11.0},
				map[string]any{"targetingKey": "u2"}, nil, "str"}, "nums": []any{0.0, nil, "2"}, "tags": []any{"vip", "beta"}},
			{"items": "notarray", "nums": "123", "matrix": []any{[]any{1.0, 2.0}, []any{0.0}}, "plan": ""},
			{"items": []any{map[string]any{"price": 12.0, "meta": map[string]any{"tier": "gold"}}}, "price": 100.0, "plan": "pro", "user": map[string]any{}},
			{"user": "bob", "items": []any{map[string]any{"a": 1.0}}, "nums": []any{5.0}, "matrix": []any{[]any{1.0}, []any{}}},
			{"groups": []any{map[string]any{"tags": []any{"beta"}}, map[string]any{"tags": []any{"beta", "x"}}}, "tags": []any{1.0, "x"}},
			{"items": []any{map[string]any{"ok": 1.0}, map[string]any{"ok": map[string]any{"==": []any{1.0, 1.0}}}}, "n": 2.0},
			{"items": []any{map[string]any{"ok": []any{1.0}}}, "user": map[string]any{"name": "bob"}, "matrix": "x"},
			{"items": []any{map[string]any{"price": 1.0, "name": "free"}, map[string]any{"name": "free"}}, "plan": "free", "price": 0.0},
			{"items": []any{map[string]any{"targetingKey": "u3", "$flagd": map[string]any{"flagKey": "k", "timestamp": 1.5}}, map[string]any{"targetingKey": 3.0}},
				"nums": []any{true}, "tags": []any{true}},
			{"items": []any{[]any{1.0}, 2.0, "x"}, "nums": []any{"a", "1.5"}, "groups": []any{"x"}},
		}
		n := compareAll(t, je, set, keys, contexts)
		t.Logf("%d evaluations compared", n)
	})

	t.Run("randomised contexts give flagd's results", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 2))
		contexts := make([]map[string]any, 0, 600)
		for range cap(contexts) {
			contexts = append(contexts, randomContext(rng))
		}
		n := compareAll(t, je, set, keys, contexts)
		t.Logf("%d evaluations compared", n)
	})
}

func randomContext(rng *rand.Rand) map[string]any {
	pick := func(xs ...any) any { return xs[rng.IntN(len(xs))] }
	ctx := map[string]any{}
	maybe := func(k string, v func() any) {
		if rng.IntN(3) > 0 {
			ctx[k] = v()
		}
	}
	maybe("targetingKey", func() any {
		return pick(fmt.Sprintf("user-%d", rng.IntN(10000)), "", 7.0, nil, "user-1")
	})
	maybe("email", func() any {
		return pick(fmt.Sprintf("u%d@example.com", rng.IntN(100)), "admin@x.io", "steve@ballmer.com", "", 3.0, nil)
	})
	maybe("plan", func() any { return pick("pro", "free", "enterprise", "", true, 1.0) })
	maybe("age", func() any { return pick(float64(rng.IntN(100)), fmt.Sprint(rng.IntN(100)), "x", nil, false) })
	maybe("n", func() any { return pick(float64(rng.IntN(5)), 0.5, "2", nil) })
	maybe("beta", func() any { return pick(true, false, "yes", 0.0) })
	maybe("tags", func() any { return pick([]any{"beta"}, []any{"vip", "beta"}, []any{}, []any{1.0, "x"}, "beta") })
	maybe("user", func() any {
		return pick(map[string]any{"name": fmt.Sprintf("n%d", rng.IntN(50))}, map[string]any{"name": "bob"}, map[string]any{}, "bob")
	})
	maybe("version", func() any {
		return pick(fmt.Sprintf("%d.%d.%d", rng.IntN(3), rng.IntN(3), rng.IntN(3)), "v1.2", "1.2.0-rc.1", "bad", 2.0)
	})
	maybe("op", func() any { return pick("=", "!=", "<", "<=", ">", ">=", "^", "~", "x") })
	maybe("target", func() any { return pick("1.0.0", "1.2.0", "v2", "2.0.0-beta") })
	maybe("w", func() any { return pick(float64(rng.IntN(20)), -2.0, 1.5, nil) })
	item := func() any {
		return pick(map[string]any{"price": float64(rng.IntN(30)), "name": pick("pro", "free", "a")},
			map[string]any{"targetingKey": fmt.Sprintf("t%d", rng.IntN(100))}, map[string]any{}, nil, 4.0, "pro")
	}
	maybe("items", func() any {
		l := make([]any, rng.IntN(4))
		for i := range l {
			l[i] = item()
		}
		return pick(l, l, l, "items", nil)
	})
	maybe("nums", func() any {
		l := make([]any, rng.IntN(4))
		for i := range l {
			l[i] = pick(float64(rng.IntN(4)), "3", nil, true)
		}
		return pick(l, l, 7.0)
	})
	maybe("groups", func() any {
		return pick([]any{map[string]any{"tags": []any{"beta"}}}, []any{map[string]any{"tags": []any{"vip"}}, map[string]any{"tags": []any{"beta"}}}, []any{})
	})
	maybe("matrix", func() any { return pick([]any{[]any{1.0, 2.0}}, []any{[]any{0.0}, []any{3.0}}, []any{}, []any{"x"}) })
	return ctx
}
