package flags

import (
	"context"
	"testing"
)

const benchDoc = `{"flags":{
	"static":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"},
	"rule":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off",
		"targeting":{"if":[{"and":[{"in":[{"var":"plan"},["pro","enterprise"]]},{"ends_with":[{"var":"email"},"@billpay.com"]}]},"on","off"]}},
	"semver":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off",
		"targeting":{"if":[{"sem_ver":[{"var":"version"},">=","2.1.0"]},"on","off"]}},
	"fractional":{"state":"ENABLED","variants":{"a":"a","b":"b","c":"c"},"defaultVariant":"a",
		"targeting":{"fractional":[["a",50],["b",30],["c",20]]}},
	"some":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off",
		"targeting":{"if":[{"some":[{"var":"roles"},{"==":[{"var":""},"admin"]}]},"on","off"]}},
	"filter":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off",
		"targeting":{"if":[{"filter":[{"var":"invoices"},{">":[{"var":"amount"},100]}]},"on","off"]}},
	"some-objects":{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off",
		"targeting":{"if":[{"some":[{"var":"invoices"},{">":[{"var":"amount"},100]}]},"on","off"]}}}}`

var benchCtx = map[string]any{"targetingKey": "user-1234", "plan": "pro", "email": "ann@billpay.com", "version": "2.3.1",
	"roles":    []any{"viewer", "editor", "billing", "admin"},
	"invoices": []any{map[string]any{"amount": 20.0}, map[string]any{"amount": 80.0}, map[string]any{"amount": 120.0}, map[string]any{"amount": 300.0}}}

func benchmarkOurs(b *testing.B, key string) {
	set, err := Load([]byte(benchDoc))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := set.Evaluate(key, benchCtx); r.ErrorCode != "" {
			b.Fatal(r.ErrorDetails)
		}
	}
}

func BenchmarkEvaluateStatic(b *testing.B)      { benchmarkOurs(b, "static") }
func BenchmarkEvaluateTargeting(b *testing.B)   { benchmarkOurs(b, "rule") }
func BenchmarkEvaluateSemVer(b *testing.B)      { benchmarkOurs(b, "semver") }
func BenchmarkEvaluateFractional(b *testing.B)  { benchmarkOurs(b, "fractional") }
func BenchmarkEvaluateSome(b *testing.B)        { benchmarkOurs(b, "some") }
func BenchmarkEvaluateFilter(b *testing.B)      { benchmarkOurs(b, "filter") }
func BenchmarkEvaluateSomeObjects(b *testing.B) { benchmarkOurs(b, "some-objects") }

// The reference evaluator on the same flags, for the ratio the budget is judged by.
func benchmarkFlagd(b *testing.B, key string) {
	je := reference(b, benchDoc)
	b.ReportAllocs()
	for b.Loop() {
		je.ResolveAsAnyValue(context.Background(), "bench", key, benchCtx)
	}
}

func BenchmarkEvaluateFlagdStatic(b *testing.B)     { benchmarkFlagd(b, "static") }
func BenchmarkEvaluateFlagdTargeting(b *testing.B)  { benchmarkFlagd(b, "rule") }
func BenchmarkEvaluateFlagdFractional(b *testing.B) { benchmarkFlagd(b, "fractional") }
func BenchmarkEvaluateFlagdSome(b *testing.B)       { benchmarkFlagd(b, "some") }
func BenchmarkEvaluateFlagdFilter(b *testing.B)     { benchmarkFlagd(b, "filter") }
