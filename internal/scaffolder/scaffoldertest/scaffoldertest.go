// Package scaffoldertest runs templates through a dry run and compares what they produce with golden
// files, for the tests of Portal's own templates (templates/) and of the Backstage-style samples.
package scaffoldertest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// unreachable is a catalog and GitHub for dry runs, which must never call them.
type unreachable struct{ t testing.TB }

func (u unreachable) AddLocation(context.Context, string, bool) ([]catalog.Entity, error) {
	u.t.Fatal("a dry run called the catalog")
	return nil, nil
}

// MustRunner returns a runner with all built-in actions registered, as the server has them.
func MustRunner(t testing.TB) *scaffolder.Runner {
	t.Helper()
	acts := action.Builtins(action.Options{
		Catalog: unreachable{t},
		GitHub: map[string]action.GitHubHost{"github.com": {Token: "unused", NewClient: func(string) (action.GitHubRepos, error) {
			t.Fatal("a dry run called GitHub")
			return nil, nil
		}}},
	})
	reg, err := scaffolder.NewRegistry(acts...)
	if err != nil {
		t.Fatal(err)
	}
	return &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}), WorkDir: t.TempDir()}
}

// Result is a dry run's outcome in comparable form.
type Result struct {
	Template *scaffolder.Template
	// Files maps produced paths to contents; executable files are listed in Executable.
	Files      map[string]string
	Executable map[string]bool
	Output     string // JSON
	Log        []string
	Raw        *scaffolder.DryRunResult
}

// DryRunDir dry-runs the template in dir (template.yaml plus its files, testdata/ excluded) with the
// values in valuesFile, as `backstage-cli`/the portal's editor would send them. It fails the test
// when the values are invalid or the run does not complete.
func DryRunDir(t testing.TB, dir, valuesFile string, user scaffolder.UserInfo) *Result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := scaffolder.ParseTemplate(data)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	// A template is also a catalog entity; it must pass the catalog's own validation.
	for _, doc := range catalog.ParseDocuments(data) {
		if doc.Err != nil {
			t.Fatalf("%s/template.yaml: %v", dir, doc.Err)
		}
		if err := catalog.Validate(doc.Entity); err != nil {
			t.Fatalf("%s/template.yaml is not a valid catalog entity: %v", dir, err)
		}
	}
	vraw, err := os.ReadFile(valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	v, err := scaffolder.ParseYAMLValue(vraw)
	if err != nil {
		t.Fatal(err)
	}
	values, _ := v.(*nunjucks.Object)
	var contents []scaffolder.SerializedFile
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "testdata" {
				return fs.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		contents = append(contents, scaffolder.SerializedFile{Path: rel, Content: b, Executable: fi.Mode().Perm()&0o111 != 0})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := MustRunner(t).DryRun(context.Background(), scaffolder.DryRunRequest{
		Template: tpl, Values: values, DirectoryContents: contents, User: user,
		Secrets: map[string]string{"USER_OAUTH_TOKEN": "gho_dryrunsecret"},
	})
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	out := &Result{Template: tpl, Files: map[string]string{}, Executable: map[string]bool{}, Raw: res}
	for _, f := range res.DirectoryContents {
		out.Files[f.Path] = string(f.Content)
		if f.Executable {
			out.Executable[f.Path] = true
		}
	}
	for _, l := range res.Log {
		line := l.Body.Message
		if l.Body.Status != "" {
			line = "[" + string(l.Body.Status) + "] " + line
		}
		if l.Body.StepID != "" {
			line = l.Body.StepID + ": " + line
		}
		out.Log = append(out.Log, line)
	}
	out.Output, _ = nunjucks.Dump(res.Output, "  ")
	if res.Status != scaffolder.StatusCompleted {
		t.Fatalf("%s: dry run %s: %v\n%s", dir, res.Status, res.Err, strings.Join(out.Log, "\n"))
	}
	if strings.Contains(strings.Join(out.Log, "\n"), "gho_dryrunsecret") {
		t.Fatalf("%s: a secret reached the dry-run log", dir)
	}
	return out
}

// CompareGolden compares the result with golden files under goldenDir: files/ (the produced tree),
// output.json and log.txt. With update set it rewrites them instead.
func CompareGolden(t testing.TB, r *Result, goldenDir string, update bool) {
	t.Helper()
	filesDir := filepath.Join(goldenDir, "files")
	if update {
		if err := os.RemoveAll(filesDir); err != nil {
			t.Fatal(err)
		}
		for p, c := range r.Files {
			full := filepath.Join(filesDir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			mode := os.FileMode(0o644)
			if r.Executable[p] {
				mode = 0o755
			}
			if err := os.WriteFile(full, []byte(c), mode); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(goldenDir, "output.json"), []byte(r.Output+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(goldenDir, "log.txt"), []byte(strings.Join(r.Log, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := map[string]string{}
	err := filepath.WalkDir(filesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filesDir, p)
		want[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("%v (run with -update to create the golden files)", err)
	}
	if got, w := sortedKeys(r.Files), sortedKeys(want); strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Fatalf("produced files\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
	}
	for p, w := range want {
		if r.Files[p] != w {
			t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", p, filepath.Join(filesDir, p), r.Files[p], w)
		}
	}
	if b, err := os.ReadFile(filepath.Join(goldenDir, "output.json")); err != nil || strings.TrimSpace(string(b)) != r.Output {
		t.Errorf("output.json:\n--- got\n%s\n--- want\n%s", r.Output, b)
	}
	if b, err := os.ReadFile(filepath.Join(goldenDir, "log.txt")); err != nil || strings.TrimSpace(string(b)) != strings.Join(r.Log, "\n") {
		t.Errorf("log.txt:\n--- got\n%s\n--- want\n%s", strings.Join(r.Log, "\n"), b)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
