package workspace_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/billpay/portal/internal/scaffolder/workspace"
)

func mustWorkspace(t *testing.T) *workspace.Dir {
	t.Helper()
	d, err := workspace.Create(t.TempDir(), "ws-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func requireEscape(t *testing.T, err error) {
	t.Helper()
	var ee *workspace.EscapeError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v (%T), want an *EscapeError", err, err)
	}
}

func TestPathsStayInside(t *testing.T) {
	d := mustWorkspace(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cr3t"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A symlink planted in the workspace (as a hostile template or a buggy action could) that points out.
	if err := os.Symlink(outside, filepath.Join(d.Path(), "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(d.Path(), "secret-link")); err != nil {
		t.Fatal(err)
	}

	t.Run("ErrDotDot", func(t *testing.T) {
		for _, p := range []string{"..", "../x", "a/../../x", `..\x`} {
			requireEscape(t, d.WriteFile(p, []byte("x"), 0))
			_, err := d.ReadFile(p)
			requireEscape(t, err)
		}
	})
	t.Run("ErrAbsolute", func(t *testing.T) {
		for _, p := range []string{"/etc/passwd", filepath.Join(outside, "secret"), `C:\x`, `\x`} {
			_, err := d.ReadFile(p)
			requireEscape(t, err)
			requireEscape(t, d.Remove(p))
		}
	})
	t.Run("ErrSymlinkOut", func(t *testing.T) {
		_, err := d.ReadFile("out/secret")
		requireEscape(t, err)
		_, err = d.ReadFile("secret-link")
		requireEscape(t, err)
		requireEscape(t, d.WriteFile("out/new", []byte("x"), 0))
		requireEscape(t, d.Rename("out/secret", "stolen"))
		if _, err := os.Stat(filepath.Join(outside, "new")); !os.IsNotExist(err) {
			t.Fatal("a file was written outside the workspace")
		}
	})
	t.Run("ErrCreatingEscapingSymlink", func(t *testing.T) {
		requireEscape(t, d.Symlink("../../etc/passwd", "a/link"))
		requireEscape(t, d.Symlink("/etc/passwd", "link"))
		requireEscape(t, d.Symlink("../x", "link"))
	})
	t.Run("OKInside", func(t *testing.T) {
		if err := d.WriteFile("a/b/c.txt", []byte("hi"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := d.Symlink("b/c.txt", "a/link"); err != nil {
			t.Fatal(err)
		}
		got, err := d.ReadFile("a/link")
		if err != nil || string(got) != "hi" {
			t.Fatalf("read through inner link = %q, %v", got, err)
		}
		if err := d.Rename("a/b/c.txt", "x/y.txt"); err != nil {
			t.Fatal(err)
		}
		files, err := d.Walk(".", workspace.WalkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, f := range files {
			paths = append(paths, f.Path)
		}
		want := []string{"a/link", "out", "secret-link", "x/y.txt"}
		if len(paths) != len(want) {
			t.Fatalf("Walk = %v, want %v", paths, want)
		}
		for i := range want {
			if paths[i] != want[i] {
				t.Fatalf("Walk = %v, want %v", paths, want)
			}
		}
	})
	t.Run("WritingOverAnInnerLinkReplacesIt", func(t *testing.T) {
		if err := d.WriteFile("target.txt", []byte("orig"), 0); err != nil {
			t.Fatal(err)
		}
		if err := d.Symlink("target.txt", "l"); err != nil {
			t.Fatal(err)
		}
		if err := d.WriteFile("l", []byte("new"), 0); err != nil {
			t.Fatal(err)
		}
		got, _ := d.ReadFile("target.txt")
		if string(got) != "orig" {
			t.Fatalf("write through link changed its target to %q", got)
		}
	})
}

type entry struct {
	name, body, link string
	typ              byte
}

func tarball(t *testing.T, gz bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.link, Size: int64(len(e.body))}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = w.Write([]byte(e.body))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		_ = zw.Close()
	}
	return buf.Bytes()
}

func TestExtractTar(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		d := mustWorkspace(t)
		data := tarball(t, true,
			entry{name: "org-repo-abc/", typ: tar.TypeDir},
			entry{name: "org-repo-abc/templates/svc/template.yaml", body: "kind: Template"},
			entry{name: "org-repo-abc/templates/svc/skeleton/README.md", body: "# ${{ values.name }}"},
			entry{name: "org-repo-abc/templates/svc/skeleton/docs", typ: tar.TypeSymlink, link: "README.md"},
			entry{name: "org-repo-abc/other/file", body: "not wanted"},
		)
		if err := workspace.ExtractTar(bytes.NewReader(data), d, workspace.ExtractOptions{StripComponents: 1, Prefix: "templates/svc"}); err != nil {
			t.Fatal(err)
		}
		got, err := d.ReadFile("skeleton/README.md")
		if err != nil || string(got) != "# ${{ values.name }}" {
			t.Fatalf("README = %q, %v", got, err)
		}
		if ok, _ := d.Exists("other/file"); ok {
			t.Fatal("entry outside the prefix was extracted")
		}
	})
	for name, e := range map[string]entry{
		"ErrDotDotEntry":       {name: "../evil", body: "x"},
		"ErrNestedDotDotEntry": {name: "a/../../evil", body: "x"},
		"ErrAbsoluteEntry":     {name: "/tmp/evil", body: "x"},
		"ErrSymlinkOut":        {name: "link", typ: tar.TypeSymlink, link: "../../../etc/passwd"},
		"ErrAbsoluteSymlink":   {name: "link", typ: tar.TypeSymlink, link: "/etc/passwd"},
		"ErrHardLink":          {name: "hard", typ: tar.TypeLink, link: "/etc/passwd"},
	} {
		t.Run(name, func(t *testing.T) {
			d := mustWorkspace(t)
			err := workspace.ExtractTar(bytes.NewReader(tarball(t, false, e)), d, workspace.ExtractOptions{})
			requireEscape(t, err)
		})
	}
	t.Run("ErrWriteThroughExtractedLink", func(t *testing.T) {
		// A link inside the archive pointing at a directory of the archive is fine; a file written
		// "through" a link that would point out is refused at the link.
		d := mustWorkspace(t)
		err := workspace.ExtractTar(bytes.NewReader(tarball(t, false,
			entry{name: "dir", typ: tar.TypeSymlink, link: ".."},
			entry{name: "dir/evil", body: "x"},
		)), d, workspace.ExtractOptions{})
		requireEscape(t, err)
	})
}
