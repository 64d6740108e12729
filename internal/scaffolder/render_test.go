package scaffolder_test

import (
	"context"
	"testing"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// TestRenderKeepsTypes follows the observations of Backstage's dry run (reference §10).
func TestRenderKeepsTypes(t *testing.T) {
	tr := scaffolder.NewTemplater(scaffolder.TemplaterOptions{})
	vars := MustValues(t, `
parameters:
  a: 5
  b: x
  flag: true
  list: [1, two]
  obj: {k: v}
  f: false
  notes: [notes]
  two: [a, b]
  repoUrl: github.com?owner=billpay&repo=payments
  empty: ""
  ref: group:platform
steps:
  fetch-base:
    output: {path: ./base}
`)
	for _, tc := range []struct{ in, want string }{
		{`${{ parameters.a }}`, `5`},
		{`${{parameters.a}}`, `5`},
		{`${{ parameters.flag }}`, `true`},
		{`${{ parameters.list }}`, `[1,"two"]`},
		{`${{ parameters.obj }}`, `{"k":"v"}`},
		{`${{ parameters.a }} `, `"5 "`},
		{`${{ parameters.a }}0`, `"50"`},
		{`${{ parameters.a }}${{ parameters.b }}`, `"5x"`},
		{`{% if parameters.flag %}8080{% else %}80{% endif %}`, `8080`},
		{`{% if parameters.f %}8080{% else %}80{% endif %}`, `80`},
		{`{% for n in parameters.notes %}"notes" {% endfor %}`, `"notes"`},
		{`{% for n in parameters.notes %}"${{ n }}" {% endfor %}`, `"\"notes\" "`}, // the inner tag is dumped too, so JSON.parse fails
		{`{% for n in parameters.two %}"${{ n }}" {% endfor %}`, `"\"a\" \"b\" "`},
		{`${{ parameters.repoUrl | parseRepoUrl }}`, `{"host":"github.com","owner":"billpay","repo":"payments"}`},
		{`${{ (parameters.repoUrl | parseRepoUrl).owner }}`, `"billpay"`},
		{`${{ parameters.repoUrl | projectSlug }}`, `"billpay/payments"`},
		{`${{ parameters.ref | parseEntityRef }}`, `{"kind":"group","namespace":"default","name":"platform"}`},
		{`${{ "platform" | parseEntityRef({ defaultKind: "group", defaultNamespace: "ops" }) }}`, `{"kind":"group","namespace":"ops","name":"platform"}`},
		{`${{ parameters | pick('obj.k') }}`, `"v"`},
		{`${{ steps['fetch-base'].output.path }}`, `"./base"`},
		{`${{ steps.nope.output.path }}`, `undefined`},
		{`${{ parameters.empty }}`, `""`}, // dumped as "", which is not the empty string
		{``, `undefined`},
		{`${{ parameters.a + 1 if parameters.flag else 0 }}`, `6`},
		{`plain text`, `"plain text"`},
		{"${{ parameters.b\n }}", `"x"`}, // the rewrite misses a multi-line tag; the text is rendered
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, failures, err := tr.Render(context.Background(), tc.in, vars)
			if err != nil {
				t.Fatal(err)
			}
			if len(failures) > 0 {
				t.Fatalf("failures: %v", failures[0].Err)
			}
			s := "undefined"
			if !nunjucks.IsUndefined(got) {
				s = toJSON(t, got)
			}
			if s != tc.want {
				t.Fatalf("got %s, want %s", s, tc.want)
			}
		})
	}

	t.Run("ObjectsDropUndefinedKeys", func(t *testing.T) {
		in := MustValues(t, `{keep: "${{ parameters.b }}", drop: "${{ parameters.missing }}", lit: "", list: ["${{ parameters.missing }}", x]}`)
		got, _, err := tr.Render(context.Background(), in, vars)
		if err != nil {
			t.Fatal(err)
		}
		if s := toJSON(t, got); s != `{"keep":"x","list":[null,"x"]}` {
			t.Fatalf("got %s", s)
		}
	})

	t.Run("FailuresKeepTheValueAsWritten", func(t *testing.T) {
		for _, in := range []string{
			`${{ parameters.b | parseRepoUrl }}`,
			`${{ parameters.missing | trim }}`,
			`${{ nosuchfilter | nope }}`,
			`${{ parameters.a `,
		} {
			got, failures, err := tr.Render(context.Background(), in, vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != in || len(failures) != 1 {
				t.Fatalf("Render(%q) = %v with %d failures; Backstage keeps the string as written", in, got, len(failures))
			}
		}
	})

	t.Run("ErrLimitsAreNotPaperedOver", func(t *testing.T) {
		small := scaffolder.NewTemplater(scaffolder.TemplaterOptions{Limits: nunjucks.Limits{MaxSteps: 1000}})
		_, _, err := small.Render(context.Background(), `{% for i in range(100000) %}x{% endfor %}`, vars)
		if err == nil {
			t.Fatal("a template over its limits rendered")
		}
	})

	t.Run("ParseRepoURLRules", func(t *testing.T) {
		for in, ok := range map[string]bool{
			"github.com?owner=o&repo=r":          true,
			"github.com?repo=r":                  false,
			"gitlab.com?repo=r&project=p":        true,
			"gitlab.com?repo=r":                  false,
			"bitbucket.org?project=p&repo=r":     true,
			"dev.azure.com?project=p&repo=r":     true,
			"unknown.example.com?owner=o&repo=r": false,
		} {
			_, err := scaffolder.ParseRepoURL(in, scaffolder.DefaultIntegrations)
			if (err == nil) != ok {
				t.Errorf("ParseRepoURL(%q) err = %v", in, err)
			}
		}
	})
}

func TestRedactor(t *testing.T) {
	r := scaffolder.NewRedactor("hunter22", "hunter22-long-version", "ab")
	if got := r.Redact("token hunter22-long-version and hunter22 and ab"); got != "token *** and *** and ab" {
		t.Fatalf("got %q", got)
	}
}
