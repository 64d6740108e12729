package action_test

import (
	"context"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

type fakeCatalog struct {
	mu       sync.Mutex
	added    []string
	entities []catalog.Entity
	err      error
}

func (f *fakeCatalog) AddLocation(_ context.Context, target string, dryRun bool) ([]catalog.Entity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if !dryRun {
		f.added = append(f.added, target)
	}
	return f.entities, nil
}

type env struct {
	runner *scaffolder.Runner
	ws     *workspace.Dir
	tplDir string
	log    []string
	mu     sync.Mutex
}

// MustEnv makes a runner with the built-in actions, a workspace, and a template directory filled
// with files (path -> content; a content starting with "link:" makes a symlink).
func MustEnv(t *testing.T, opts action.Options, files map[string]string) *env {
	t.Helper()
	root := t.TempDir()
	tplDir := filepath.Join(root, "templates", "svc")
	// Skeleton scripts are executable, as a template repository keeps them.
	tree := make(map[string]string, len(files))
	for p, c := range files {
		if strings.HasSuffix(p, ".sh") {
			p += "+x"
		}
		tree[p] = c
	}
	writeTree(t, tplDir, tree)
	if opts.Catalog == nil {
		opts.Catalog = &fakeCatalog{}
	}
	reg, err := scaffolder.NewRegistry(action.Builtins(opts)...)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Create(root, "ws-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &env{
		runner: &scaffolder.Runner{
			Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}),
			Sources: scaffolder.TemplateSources{FileRoots: []string{filepath.Join(root, "templates")}},
			WorkDir: root,
		},
		ws: ws, tplDir: tplDir,
	}
}

// Run runs steps (YAML list items under spec.steps) against the template directory.
func (e *env) Run(t *testing.T, steps, values string) scaffolder.RunResult {
	t.Helper()
	tpl, err := scaffolder.ParseTemplate([]byte("apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: svc}\nspec:\n  steps:\n" + steps))
	if err != nil {
		t.Fatal(err)
	}
	v, err := scaffolder.ParseYAMLValue([]byte(values))
	if err != nil {
		t.Fatal(err)
	}
	vals, _ := v.(*nunjucks.Object)
	base := (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(e.tplDir, "template.yaml"))}).String()
	return e.runner.Run(context.Background(), scaffolder.RunRequest{
		TaskID: "t", Spec: tpl.NewTaskSpec(vals, scaffolder.UserInfo{}, base), Workspace: e.ws,
		Sink: scaffolder.EventSinkFunc(func(_ context.Context, ev scaffolder.Event) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.log = append(e.log, ev.Body.Message)
			return nil
		}),
	})
}

// MustOK fails unless the run completed.
func MustOK(t *testing.T, res scaffolder.RunResult) {
	t.Helper()
	if res.Status != scaffolder.StatusCompleted {
		t.Fatalf("status %s: %v", res.Status, res.Err)
	}
}

// Files lists the workspace as path -> content ("-> target" for links).
func (e *env) Files(t *testing.T) map[string]string {
	t.Helper()
	files, err := e.ws.Walk(".", workspace.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		if f.LinkTarget != "" {
			out[f.Path] = "-> " + f.LinkTarget
			continue
		}
		b, err := e.ws.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		out[f.Path] = string(b)
	}
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func requireFiles(t *testing.T, got, want map[string]string) {
	t.Helper()
	if strings.Join(keys(got), ",") != strings.Join(keys(want), ",") {
		t.Fatalf("files\n got %v\nwant %v", keys(got), keys(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %q\nwant %q", k, got[k], w)
		}
	}
}

func requireFailed(t *testing.T, res scaffolder.RunResult, substr string) {
	t.Helper()
	if res.Status != scaffolder.StatusFailed {
		t.Fatalf("status %s, want failed", res.Status)
	}
	if !strings.Contains(res.Err.Error(), substr) {
		t.Fatalf("error %q does not mention %q", res.Err, substr)
	}
}
