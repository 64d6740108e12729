package scaffolder_test

import (
	"context"
	"sync"
	"testing"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// fakeCatalog answers catalog:register with the entities it was given.
type fakeCatalog struct {
	mu       sync.Mutex
	added    []string
	entities []catalog.Entity
}

func (f *fakeCatalog) AddLocation(_ context.Context, target string, dryRun bool) ([]catalog.Entity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !dryRun {
		f.added = append(f.added, target)
	}
	return f.entities, nil
}

// MustRunner returns a runner with every built-in action; publish:github and catalog:register are
// present (a dry run skips them) but reach nothing.
func MustRunner(t testing.TB, extra ...scaffolder.Action) *scaffolder.Runner {
	t.Helper()
	acts := action.Builtins(action.Options{
		Catalog: &fakeCatalog{},
		GitHub: map[string]action.GitHubHost{"github.com": {Token: "t", NewClient: func(string) (action.GitHubRepos, error) {
			t.Fatal("a dry run must not reach GitHub")
			return nil, nil
		}}},
	})
	reg, err := scaffolder.NewRegistry(append(acts, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}), WorkDir: t.TempDir()}
}

// MustTemplate parses a template from YAML text.
func MustTemplate(t testing.TB, text string) *scaffolder.Template {
	t.Helper()
	tpl, err := scaffolder.ParseTemplate([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// MustValues parses YAML or JSON values.
func MustValues(t testing.TB, text string) *nunjucks.Object {
	t.Helper()
	v, err := scaffolder.ParseYAMLValue([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.(*nunjucks.Object)
	if !ok {
		t.Fatalf("values %q are not a mapping", text)
	}
	return o
}

// recorder is an EventSink that keeps events.
type recorder struct {
	mu     sync.Mutex
	events []scaffolder.Event
}

func (r *recorder) Emit(_ context.Context, e scaffolder.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		s := e.Body.Message
		if e.Body.StepID != "" {
			s = e.Body.StepID + ": " + s
		}
		if e.Body.Status != "" {
			s += " [" + string(e.Body.Status) + "]"
		}
		out[i] = s
	}
	return out
}

func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := scaffolder.ToJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
