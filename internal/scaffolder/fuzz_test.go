package scaffolder_test

import (
	"context"
	"testing"
	"time"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// FuzzRender feeds arbitrary step-input strings through Backstage's rendering rules (the single
// expression rewrite, dump and JSON parse-back included): no panic, no escape from the limits.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"${{ parameters.name }}", "${{ parameters.repoUrl | parseRepoUrl }}", "x ${{ parameters.n + 1 }} y",
		"{% if parameters.flag %}8080{% else %}80{% endif %}", "${{ parameters | pick('a.b') }}",
		"${{ 'platform' | parseEntityRef({ defaultKind: 'group' }) }}", "${{ parameters.list | dump }}${{",
		"${{ (parameters.repoUrl | projectSlug) ~ '}}' }}", "{% raw %}${{ x }}{% endraw %}",
	} {
		f.Add(s)
	}
	tr := scaffolder.NewTemplater(scaffolder.TemplaterOptions{Limits: nunjucks.Limits{MaxSteps: 20_000, MaxOutput: 1 << 16, MaxItems: 1000, Timeout: time.Second}})
	vars := nunjucks.ObjectOf("parameters", nunjucks.ObjectOf(
		"name", "svc", "n", 2.0, "flag", true, "repoUrl", "github.com?owner=o&repo=r",
		"list", []any{1.0, "a"}, "a", nunjucks.ObjectOf("b", "c")))
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		_, _, _ = tr.Render(context.Background(), nunjucks.ObjectOf("v", s, "w", []any{s}), vars)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("render took %s", d)
		}
	})
}
