package scaffolder_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/scaffoldertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBackstageSamples dry-runs templates written the way Backstage's own samples are (nunjucks
// filters, conditionals, each, conditional file names, cookiecutterCompat) and compares every file,
// the output and the log with golden files. The files the fetch steps render are also checked
// against real nunjucks in TestSamplesMatchNunjucks.
func TestBackstageSamples(t *testing.T) {
	dirs, err := filepath.Glob("testdata/backstage/*/template.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no samples", err)
	}
	for _, tpl := range dirs {
		dir := filepath.Dir(tpl)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := scaffoldertest.DryRunDir(t, dir, filepath.Join(dir, "testdata", "values.yaml"), scaffolder.UserInfo{Ref: "user:default/jane"})
			scaffoldertest.CompareGolden(t, r, filepath.Join(dir, "testdata", "dry-run"), *update)
		})
	}
}

// TestSamplesMatchNunjucks compares the files the samples' fetch steps produce with the same
// skeletons rendered by nunjucks 3.2.4 itself under Backstage's fetch:template rules
// (testdata/gen_skeletons.js wrote testdata/backstage/*/testdata/nunjucks/).
func TestSamplesMatchNunjucks(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/backstage/*/testdata/nunjucks")
	if len(dirs) == 0 {
		t.Fatal("no nunjucks renderings")
	}
	for _, nj := range dirs {
		dir := filepath.Dir(filepath.Dir(nj))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := scaffoldertest.DryRunDir(t, dir, filepath.Join(dir, "testdata", "values.yaml"), scaffolder.UserInfo{Ref: "user:default/jane"})
			n := 0
			err := filepath.WalkDir(nj, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				want, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(nj, p)
				rel = filepath.ToSlash(rel)
				got, ok := r.Files[rel]
				if !ok {
					t.Errorf("nunjucks produced %s; the dry run did not", rel)
				} else if got != string(want) {
					t.Errorf("%s:\n--- dry run\n%s\n--- nunjucks\n%s", rel, got, want)
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("nothing compared")
			}
		})
	}
}

// TestSamplesMatchCookiecutter compares fetch:cookiecutter with the real cookiecutter (Debian's
// 1.7.3), which rendered testdata/backstage/*/testdata/cookiecutter/ from the same skeleton and
// values (testdata/gen_cookiecutter.sh beside each).
func TestSamplesMatchCookiecutter(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/backstage/*/testdata/cookiecutter")
	if len(dirs) == 0 {
		t.Fatal("no cookiecutter renderings")
	}
	for _, cc := range dirs {
		dir := filepath.Dir(filepath.Dir(cc))
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := scaffoldertest.DryRunDir(t, dir, filepath.Join(dir, "testdata", "values.yaml"), scaffolder.UserInfo{})
			n := 0
			err := filepath.WalkDir(cc, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				want, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(cc, p)
				if got := r.Files[filepath.ToSlash(rel)]; got != string(want) {
					t.Errorf("%s:\n--- Portal\n%s\n--- cookiecutter\n%s", rel, got, want)
				}
				n++
				return nil
			})
			if err != nil || n != len(r.Files) {
				t.Fatalf("compared %d of %d files: %v", n, len(r.Files), err)
			}
		})
	}
}
