package flagsbench

import (
	"context"
	"fmt"
	"testing"

	"github.com/open-feature/flagd/core/pkg/evaluator"
	"github.com/open-feature/flagd/core/pkg/logger"
	"github.com/open-feature/flagd/core/pkg/store"
	flagdsync "github.com/open-feature/flagd/core/pkg/sync"

	"github.com/billpay/portal/internal/flags"
)

// doc has one flag per kind of evaluation, shaped like BillPay's (flags/production.flagd.json): a kill switch
// without targeting, a rule on e-mail domain and roles through a shared evaluator, and a percentage rollout bucketed
// on the targeting key.
const doc = `{
  "$evaluators": {"billpay-staff": {"ends_with": [{"var": "email"}, "@billpay.example"]}},
  "metadata": {"flagSetId": "billpay-bench"},
  "flags": {
    "refunds-enabled": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"},
    "bulk-refunds": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"if": [{"and": [{"$ref": "billpay-staff"}, {"in": ["admin", {"var": "roles"}]}]}, "on",
        {"in": [{"var": "country"}, ["BR", "MX"]]}, "off", null]}},
    "new-checkout-flow": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
      "targeting": {"fractional": [["on", 10], ["off", 90]]}}
  }
}`

var cases = []struct {
	name, key string
}{
	{"static", "refunds-enabled"},
	{"targeting", "bulk-refunds"},
	{"fractional", "new-checkout-flow"},
}

// contexts are what a payment backend passes: a user id, e-mail, roles and country. The targeting rule matches
// the first; the others fall through it.
var contexts = []map[string]any{
	{"targetingKey": "user-1001", "email": "ann@billpay.example", "roles": []any{"support", "admin"}, "country": "US"},
	{"targetingKey": "user-1002", "email": "bob@example.com", "roles": []any{"customer"}, "country": "BR"},
	{"targetingKey": "user-1003", "email": "cy@example.org", "roles": []any{}, "country": "DE"},
	{"targetingKey": "user-1004", "email": "di@billpay.example", "roles": []any{"support"}, "country": "MX"},
}

func portal(b *testing.B) *flags.Set {
	set, err := flags.Load([]byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	return set
}

func flagd(b *testing.B) *evaluator.JSON {
	log := logger.NewLogger(nil, false)
	s, err := store.NewStore(log, []string{"bench"})
	if err != nil {
		b.Fatal(err)
	}
	je := evaluator.NewJSON(log, s)
	if err := je.SetState(flagdsync.DataSync{FlagData: doc, Source: "bench"}); err != nil {
		b.Fatal(err)
	}
	return je
}

// BenchmarkEvaluate runs each kind of flag through both evaluators, untyped (as OFREP and flagd's
// ResolveAsAnyValue evaluate) and typed as boolean (as an in-process provider's BooleanValue does). It first checks
// that both give the same variant and reason for every context, so the figures compare equal work.
func BenchmarkEvaluate(b *testing.B) {
	set, je := portal(b), flagd(b)
	ctx := context.Background()
	for _, c := range cases {
		for i, ec := range contexts {
			ours := set.Evaluate(c.key, ec)
			ref := je.ResolveAsAnyValue(ctx, "bench", c.key, ec)
			if ours.Variant != ref.Variant || string(ours.Reason) != ref.Reason || ours.ErrorCode != "" || ref.Error != nil {
				b.Fatalf("%s, context %d: portal %s/%s %s, flagd %s/%s %v", c.key, i, ours.Variant, ours.Reason, ours.ErrorCode,
					ref.Variant, ref.Reason, ref.Error)
			}
		}
		b.Run(c.name+"/portal", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				set.Evaluate(c.key, contexts[i&3])
				i++
			}
		})
		b.Run(c.name+"/flagd", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				je.ResolveAsAnyValue(ctx, "bench", c.key, contexts[i&3])
				i++
			}
		})
		b.Run(c.name+"/portal-bool", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				set.Resolve(c.key, flags.TypeBoolean, contexts[i&3])
				i++
			}
		})
		b.Run(c.name+"/flagd-bool", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_, _, _, _, _ = je.ResolveBooleanValue(ctx, "bench", c.key, contexts[i&3])
				i++
			}
		})
	}
}

// BenchmarkEvaluateParallel evaluates from every core at once (GOMAXPROCS goroutines), as a server does: a compiled
// Set is immutable and shared without locks, so per-evaluation time should fall with more cores.
func BenchmarkEvaluateParallel(b *testing.B) {
	set, je := portal(b), flagd(b)
	ctx := context.Background()
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s/portal", c.name), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					set.Evaluate(c.key, contexts[i&3])
					i++
				}
			})
		})
		b.Run(fmt.Sprintf("%s/flagd", c.name), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					je.ResolveAsAnyValue(ctx, "bench", c.key, contexts[i&3])
					i++
				}
			})
		})
	}
}
