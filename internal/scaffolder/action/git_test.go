package action_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/action"
)

const gitToken = "ghs_gittesttoken0123456789"

// newRemote makes an empty repository owner/name on a loopback GitHub (pushes land in a bare
// repository served by git http-backend) and returns the server and the repository's clone URL.
func newRemote(t *testing.T, name string) (*fakeGitHub, string) {
	t.Helper()
	fake := newFakeGitHub(t, gitToken)
	client, err := newGoGitHubRepos(fake.URL(), gitToken)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := client.CreateRepository(context.Background(), action.NewRepository{Owner: "billpay", Name: name, Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	return fake, repo.CloneURL
}

// writeTree fills dir with files (path -> content; "link:" makes a symlink, a "+x" path suffix an
// executable).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		mode := os.FileMode(0o644)
		if q, ok := strings.CutSuffix(p, "+x"); ok {
			p, mode = q, 0o755
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(c, "link:"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGitInitAndPush pushes with go-git to a real git server and reads back what arrived: the files
// .gitignore leaves in, modes, symlinks as links, the signature, and the hash InitAndPush returned.
func TestGitInitAndPush(t *testing.T) {
	// A host git configuration that would change everything if it were read: ignore every file,
	// rewrite the remote to a dead address, sign commits.
	home := t.TempDir()
	writeTree(t, home, map[string]string{
		".gitconfig":         "[core]\n\texcludesFile = " + filepath.Join(home, "ignore-all") + "\n[url \"http://127.0.0.1:1/\"]\n\tinsteadOf = http://\n[commit]\n\tgpgSign = true\n",
		"ignore-all":         "*\n",
		".config/git/ignore": "*\n",
	})
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))

	fake, remote := newRemote(t, "svc")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"README.md":        "# svc\n",
		"bin/run.sh+x":     "#!/bin/sh\n",
		"docs/index.md":    "link:../README.md",
		".gitignore":       "*.log\n/build/\n",
		"debug.log":        "noise",
		"build/out.bin":    "binary",
		"sub/.gitignore":   "secret.txt\n",
		"sub/secret.txt":   "s3cr3t",
		"sub/kept.txt":     "kept",
		"sub/deep/app.log": "noise",
	})

	hash, err := action.Git{AllowHTTP: true}.InitAndPush(context.Background(), dir, remote, "main", "initial commit",
		action.Signature{Name: "Portal", Email: "portal@billpay.example"}, gitToken)
	if err != nil {
		t.Fatal(err)
	}
	if head := fake.git(t, "billpay", "svc", "rev-parse", "refs/heads/main"); head != hash {
		t.Fatalf("pushed %s, InitAndPush returned %s", head, hash)
	}
	files := fake.git(t, "billpay", "svc", "ls-tree", "-r", "--name-only", "main")
	if want := ".gitignore\nREADME.md\nbin/run.sh\ndocs/index.md\nsub/.gitignore\nsub/kept.txt"; files != want {
		t.Fatalf("pushed files:\n%s\nwant:\n%s", files, want)
	}
	if readme := fake.git(t, "billpay", "svc", "show", "main:README.md"); readme != "# svc" {
		t.Fatalf("README = %q", readme)
	}
	for path, mode := range map[string]string{"bin/run.sh": "100755", "docs/index.md": "120000", "README.md": "100644"} {
		if got := fake.git(t, "billpay", "svc", "ls-tree", "main", path); !strings.HasPrefix(got, mode) {
			t.Errorf("%s pushed as %s, want mode %s", path, got, mode)
		}
	}
	if target := fake.git(t, "billpay", "svc", "cat-file", "-p", "main:docs/index.md"); target != "../README.md" {
		t.Errorf("symlink target = %q", target)
	}
	commit := fake.git(t, "billpay", "svc", "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s|%P|%G?", "main")
	if commit != "Portal <portal@billpay.example>|Portal <portal@billpay.example>|initial commit||N" {
		t.Fatalf("commit = %q", commit)
	}
	if fake.git(t, "billpay", "svc", "symbolic-ref", "HEAD") == "" {
		t.Fatal("no HEAD")
	}

	// The token travelled as Basic auth on every request and was never written down.
	auth := fake.PushAuth()
	if len(auth) == 0 {
		t.Fatal("the push never reached the server")
	}
	for _, a := range auth {
		if !strings.HasPrefix(a, "Basic ") {
			t.Fatalf("Authorization = %q", a)
		}
	}
	filepath.WalkDir(filepath.Join(dir, ".git"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), gitToken) || strings.Contains(string(data), "127.0.0.1") {
			t.Errorf("%s keeps the token or the remote:\n%s", p, data)
		}
		return nil
	})
	if head, err := os.ReadFile(filepath.Join(dir, ".git", "HEAD")); err != nil || string(head) != "ref: refs/heads/main\n" {
		t.Fatalf(".git/HEAD = %q, %v", head, err)
	}
}

func TestGitInitAndPushEmptyWorkspace(t *testing.T) {
	fake, remote := newRemote(t, "empty")
	hash, err := action.Git{AllowHTTP: true}.InitAndPush(context.Background(), t.TempDir(), remote, "trunk", "nothing yet",
		action.Signature{Name: "Scaffolder", Email: "scaffolder@backstage.io"}, gitToken)
	if err != nil {
		t.Fatal(err)
	}
	if head := fake.git(t, "billpay", "empty", "rev-parse", "refs/heads/trunk"); head != hash {
		t.Fatalf("pushed %s, returned %s", head, hash)
	}
	if files := fake.git(t, "billpay", "empty", "ls-tree", "-r", "--name-only", "trunk"); files != "" {
		t.Fatalf("pushed files %q", files)
	}
}

// TestGitInitAndPushExistingRepository: a workspace that is a repository already gets one more
// commit, pushed to the requested branch whatever its HEAD is on, as git init and push HEAD:branch did.
func TestGitInitAndPushExistingRepository(t *testing.T) {
	fake, remote := newRemote(t, "again")
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "a"})
	sig := action.Signature{Name: "Portal", Email: "portal@billpay.example"}
	first, err := action.Git{AllowHTTP: true}.InitAndPush(context.Background(), dir, remote, "main", "one", sig, gitToken)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"b.txt": "b"})
	second, err := action.Git{AllowHTTP: true}.InitAndPush(context.Background(), dir, remote, "main", "two", sig, gitToken)
	if err != nil {
		t.Fatal(err)
	}
	if parent := fake.git(t, "billpay", "again", "log", "-1", "--format=%P", "main"); parent != first {
		t.Fatalf("parent of %s = %q, want %s", second, parent, first)
	}
	if files := fake.git(t, "billpay", "again", "ls-tree", "-r", "--name-only", "main"); files != "a.txt\nb.txt" {
		t.Fatalf("pushed files %q", files)
	}
}

func TestGitInitAndPushErrors(t *testing.T) {
	sig := action.Signature{Name: "Portal", Email: "portal@billpay.example"}
	push := func(g action.Git, ctx context.Context, remote, branch, token string) error {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"f.txt": "x"})
		_, err := g.InitAndPush(ctx, dir, remote, branch, "m", sig, token)
		return err
	}

	t.Run("ErrRemoteNotHTTPS", func(t *testing.T) {
		for _, remote := range []string{"http://127.0.0.1/x.git", "file:///tmp/x.git", "ssh://git@example.com/x.git", "git@example.com:x.git", "/tmp/x.git"} {
			if err := push(action.Git{}, context.Background(), remote, "main", gitToken); !errs.Is(err, errs.Invalid) {
				t.Errorf("%s: %v", remote, err)
			}
		}
	})
	t.Run("ErrCredentialsInURL", func(t *testing.T) {
		err := push(action.Git{}, context.Background(), "https://x-access-token:abc@example.com/x.git", "main", "")
		if !errs.Is(err, errs.Invalid) || strings.Contains(err.Error(), "abc") {
			t.Fatal(err)
		}
	})
	t.Run("ErrBadBranch", func(t *testing.T) {
		if err := push(action.Git{}, context.Background(), "https://example.com/x.git", "a..b", gitToken); !errs.Is(err, errs.Invalid) {
			t.Fatal(err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		_, remote := newRemote(t, "canceled")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := push(action.Git{AllowHTTP: true}, ctx, remote, "main", gitToken); !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	})
	t.Run("ErrCanceledDuringPush", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cancel()
			<-r.Context().Done()
		}))
		defer srv.Close()
		if err := push(action.Git{AllowHTTP: true}, ctx, srv.URL+"/x.git", "main", gitToken); !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	})
	t.Run("ErrRemoteMessageWithoutToken", func(t *testing.T) {
		// A remote that echoes the credentials back in its refusal.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Permission to billpay/x denied for "+r.Header.Get("Authorization")+" ("+gitToken+")", http.StatusForbidden)
		}))
		defer srv.Close()
		err := push(action.Git{AllowHTTP: true}, context.Background(), srv.URL+"/x.git", "main", gitToken)
		if !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "git push failed") || !strings.Contains(err.Error(), "Permission to billpay/x denied") {
			t.Fatal(err)
		}
		for e := error(err); e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), gitToken) || strings.Contains(e.Error(), "Basic eC1") {
				t.Fatalf("the token is in the error: %v", e)
			}
		}
	})
	t.Run("ErrWrongToken", func(t *testing.T) {
		_, remote := newRemote(t, "denied")
		err := push(action.Git{AllowHTTP: true}, context.Background(), remote, "main", "wrong-token")
		if !errs.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "authentication required") || strings.Contains(err.Error(), "wrong-token") {
			t.Fatal(err)
		}
	})
}
