package nunjucks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// FuzzTemplate parses and renders arbitrary text in both dialects: neither may panic, hang past its
// limits or produce more output than allowed.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []string{
		"${{ parameters.name | lower }}",
		"${{ steps['a'].output.x if parameters.flag else 'n' }}",
		"{% for k, v in parameters %}${{ k }}={{ v | dump }}{% endfor %}",
		"{% set x = [1, {a: 'b'}] %}${{ x[1].a ~ x | length }}",
		"{% macro m(a, b=2) %}${{ a + b }}{% endmacro %}${{ m(1) }}",
		"{%- if a -%} x {%- elif b %}y{% else %}z{% endif %}",
		"{% raw %}${{ }}{% endraw %}",
		"${{ 'a-b'.split('-') | join(r/x/g) }}",
		"${{ x[1:2:3] }}{{ cookiecutter.name.lower() }}",
		"{% switch a %}{% case 1 %}x{% default %}y{% endswitch %}",
		"{# c #}${{ 1 is divisibleby(0) }}${{ 1 // 0 }}",
	} {
		f.Add(seed)
	}
	limits := nunjucks.Limits{MaxSteps: 20_000, MaxOutput: 64 << 10, MaxItems: 1000, MaxDepth: 40, Timeout: time.Second}
	envs := []*nunjucks.Env{
		nunjucks.New(nunjucks.Options{VariableStart: "${{", VariableEnd: "}}", Limits: limits}),
		nunjucks.New(nunjucks.Options{JinjaCompat: true, Limits: limits, TrimBlocks: true, LstripBlocks: true}),
		nunjucks.New(nunjucks.Options{Python: true, StrictUndefined: true, Limits: limits}),
	}
	vars := map[string]any{
		"parameters": map[string]any{"name": "Svc", "flag": true, "list": []any{1.0, "a", nil}},
		"steps":      map[string]any{"a": map[string]any{"output": map[string]any{"x": "y"}}},
		"a":          1.0, "b": "", "x": []any{1.0, 2.0, 3.0},
		"cookiecutter": map[string]any{"name": "N"},
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, env := range envs {
			tpl, err := env.Parse(src)
			if err != nil {
				var se *nunjucks.SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("Parse error %T %v is not a *SyntaxError", err, err)
				}
				continue
			}
			start := time.Now()
			out, err := tpl.Render(context.Background(), vars)
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("render took %s", d)
			}
			if err == nil && len(out) > limits.MaxOutput {
				t.Fatalf("output of %d bytes over the limit", len(out))
			}
			_ = tpl.IsSingleExpression()
		}
	})
}
