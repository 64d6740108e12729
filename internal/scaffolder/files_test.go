package scaffolder_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

// archives is a GitHubArchives serving one tarball per repository, as GitHub's tarball endpoint
// does: everything under an "<owner>-<repo>-<sha>/" directory.
type archives map[string][]byte

func (a archives) Tarball(_ context.Context, owner, repo, ref string) (io.ReadCloser, error) {
	b, ok := a[owner+"/"+repo+"@"+ref]
	if !ok {
		return nil, errs.E(errs.NotFound, "no archive for %s/%s@%s", owner, repo, ref)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func tarGz(t *testing.T, entries ...[3]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		if e[2] != "" {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e[2], 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(e[1]))
		}
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

func TestGitHubTemplateFiles(t *testing.T) {
	src := scaffolder.TemplateSources{GitHub: map[string]scaffolder.GitHubArchives{"github.com": archives{
		"billpay/templates@main": tarGz(t,
			[3]string{"billpay-templates-abc123/templates/svc/template.yaml", "kind: Template", ""},
			[3]string{"billpay-templates-abc123/templates/svc/skeleton/README.md", "# ${{ values.name }}", ""},
			[3]string{"billpay-templates-abc123/templates/other/secret.txt", "not yours", ""},
		),
		"evil/templates@main": tarGz(t,
			[3]string{"evil-templates-1/t/template.yaml", "", ""},
			[3]string{"evil-templates-1/t/skeleton/../../../../escape.txt", "x", ""},
		),
		"evil/links@main": tarGz(t,
			[3]string{"evil-links-1/t/skeleton/passwd", "", "/etc/passwd"},
		),
	}}}
	files, err := src.Open("https://github.com/billpay/templates/blob/main/templates/svc/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := workspace.Create(t.TempDir(), "dst-")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := files.ReadTree(context.Background(), "skeleton", dst); err != nil {
		t.Fatal(err)
	}
	if b, err := dst.ReadFile("README.md"); err != nil || string(b) != "# ${{ values.name }}" {
		t.Fatalf("README = %q, %v", b, err)
	}
	if b, err := files.ReadFile(context.Background(), "skeleton/README.md"); err != nil || string(b) != "# ${{ values.name }}" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if _, err := files.ReadFile(context.Background(), "../other/secret.txt"); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("reading another template: err = %v, want errs.Forbidden", err)
	}

	for name, base := range map[string]string{
		"ErrArchiveEntryEscapes": "https://github.com/evil/templates/blob/main/t/template.yaml",
		"ErrArchiveSymlinkOut":   "https://github.com/evil/links/blob/main/t/template.yaml",
	} {
		t.Run(name, func(t *testing.T) {
			files, err := src.Open(base)
			if err != nil {
				t.Fatal(err)
			}
			dst, _ := workspace.Create(t.TempDir(), "dst-")
			defer dst.Close()
			err = files.ReadTree(context.Background(), "skeleton", dst)
			if !errs.Is(err, errs.Forbidden) {
				t.Fatalf("err = %v, want errs.Forbidden", err)
			}
		})
	}
}

func TestFileTemplateRoots(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "templates", "svc"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := scaffolder.TemplateSources{FileRoots: []string{filepath.Join(root, "templates")}}
	if _, err := src.Open("file://" + filepath.ToSlash(filepath.Join(root, "templates", "svc", "template.yaml"))); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Open("file:///etc/template.yaml"); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("err = %v, want errs.Forbidden", err)
	}
}

func TestResolveTemplatePath(t *testing.T) {
	base := "https://github.com/billpay/templates/blob/main/templates/svc/template.yaml"
	for ref, want := range map[string]string{
		"./skeleton": "skeleton",
		"skeleton/":  "skeleton",
		".":          ".",
		"./a/../b":   "b",
		"https://github.com/billpay/templates/blob/main/templates/svc/skeleton": "skeleton",
	} {
		got, err := scaffolder.ResolveTemplatePath(base, ref)
		if err != nil || got != want {
			t.Errorf("ResolveTemplatePath(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	for _, ref := range []string{"../other", "/etc/passwd", "https://github.com/other/repo/blob/main/x", "https://evil.example.com/x", "file:///etc"} {
		if _, err := scaffolder.ResolveTemplatePath(base, ref); !errs.Is(err, errs.Forbidden) {
			t.Errorf("ResolveTemplatePath(%q): err = %v, want errs.Forbidden", ref, err)
		}
	}
}
