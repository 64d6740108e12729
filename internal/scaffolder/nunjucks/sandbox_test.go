package nunjucks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

func backstageEnv(l nunjucks.Limits) *nunjucks.Env {
	return nunjucks.New(nunjucks.Options{VariableStart: "${{", VariableEnd: "}}", Limits: l})
}

// TestSandbox holds the escapes that work on nunjucks outside an isolate; each must either render
// nothing from the host or fail with an ordinary error.
func TestSandbox(t *testing.T) {
	env := backstageEnv(nunjucks.Limits{})
	vars := map[string]any{"parameters": map[string]any{"name": "x"}}
	for _, tc := range []struct{ name, tpl, want string }{
		{"PrototypeIsUndefined", `${{ parameters.__proto__ }}|${{ parameters.constructor }}|${{ "".constructor }}|${{ [].constructor }}|${{ (1).constructor }}`, "||||"},
		{"PythonDunderIsUndefined", `${{ parameters.__class__ }}|${{ "".__class__ }}|${{ [].__class__ }}`, "||"},
		{"NoGlobalObjects", `${{ process }}|${{ global }}|${{ globalThis }}|${{ require }}|${{ this }}|${{ env }}|${{ os }}`, "||||||"},
		{"MethodsAreBoundToTheirValue", `${{ "ab".toUpperCase() }}`, "AB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := env.RenderString(context.Background(), tc.tpl, vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, tpl string }{
		{"FunctionConstructorCannotBeCalled", `${{ "".constructor.constructor("return process")() }}`},
		{"ProtoChainCannotBeCalled", `${{ parameters.__proto__.constructor.constructor("return this")() }}`},
		{"IncludeReadsNoFiles", `{% include "/etc/passwd" %}`},
		{"ImportReadsNoFiles", `{% import "x.njk" as x %}`},
		{"ExtendsReadsNoFiles", `{% extends "base.njk" %}`},
		{"CallingDataFails", `${{ parameters.name() }}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := env.RenderString(context.Background(), tc.tpl, vars)
			if err == nil {
				t.Fatalf("rendered %q; want an error", got)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	small := nunjucks.Limits{MaxSteps: 100_000, MaxOutput: 1 << 20, MaxItems: 10_000, MaxDepth: 50, Timeout: 2 * time.Second}
	for _, tc := range []struct{ name, tpl string }{
		{"HugeRange", `${{ range(100000000) | length }}`},
		{"NestedLoops", `{% for i in range(5000) %}{% for j in range(5000) %}{% endfor %}{% endfor %}`},
		{"StringDoubling", `{% set x = "ab" %}{% for i in range(40) %}{% set x = x ~ x %}{% endfor %}${{ x | length }}`},
		{"StringRepeat", `${{ "x".repeat(1000000000) }}`},
		{"PadStart", `${{ "x".padStart(1000000000) }}`},
		{"Center", `${{ "x" | center(1000000000) }}`},
		{"ReplaceBlowUp", `{% set x = "aaaaaaaaaa" %}{% for i in range(10) %}{% set x = x | replace("a", "aaaaaaaaaa") %}{% endfor %}`},
		{"DumpOfSharedStructure", `{% set a = [1] %}{% for i in range(40) %}{% set a = [a, a] %}{% endfor %}${{ a | dump }}`},
		{"RecursiveMacro", `{% macro f(n) %}${{ f(n) }}{% endmacro %}${{ f(1) }}`},
		{"OutputSize", `{% for i in range(9000) %}${{ "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }}{% endfor %}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := backstageEnv(small).RenderString(context.Background(), tc.tpl, nil)
			if err == nil {
				t.Fatal("rendered; want a limit error")
			}
			if !errors.Is(err, nunjucks.ErrLimit) {
				t.Fatalf("error %v does not wrap ErrLimit", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}

	t.Run("Timeout", func(t *testing.T) {
		env := backstageEnv(nunjucks.Limits{MaxSteps: 1 << 40, Timeout: 100 * time.Millisecond})
		start := time.Now()
		_, err := env.RenderString(context.Background(), `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, nil)
		if !errors.Is(err, nunjucks.ErrLimit) {
			t.Fatalf("err = %v, want a limit error", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %s to notice a 100ms timeout", d)
		}
	})

	t.Run("ContextCancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := backstageEnv(nunjucks.Limits{MaxSteps: 1 << 40}).RenderString(ctx, `{% for i in range(100000) %}{% endfor %}`, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("DeepNestingIsASyntaxError", func(t *testing.T) {
		for _, src := range []string{
			"${{ " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}",
			"${{ " + strings.Repeat("[", 100000) + " }}",
			"${{ " + strings.Repeat("not ", 100000) + "x }}",
			"${{ " + strings.Repeat("-", 100000) + "1 }}",
			strings.Repeat("{% if x %}", 100000),
		} {
			_, err := backstageEnv(small).Parse(src)
			var se *nunjucks.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
		}
	})
}

func TestIsSingleExpression(t *testing.T) {
	env := backstageEnv(nunjucks.Limits{})
	for src, want := range map[string]bool{
		"${{ a }}":                              true,
		"${{a}}":                                true,
		" ${{ a }}":                             false,
		"${{ a }} ":                             false,
		"${{a}}0":                               false,
		"${{a}}${{b}}":                          false,
		"text":                                  false,
		"{% if f %}8080{% else %}80{% endif %}": true,
		"{% for x in y %}${{ x }}{% endfor %}":  true,
	} {
		tpl, err := env.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := tpl.IsSingleExpression(); got != want {
			t.Errorf("IsSingleExpression(%q) = %v, want %v", src, got, want)
		}
	}
}
