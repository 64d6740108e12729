package action

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/billpay/portal/internal/errs"
)

// Git publishes workspaces with go-git, in-process: Portal's image is built from scratch and has no
// git binary. Nothing of the host's git setup is read (no system or global config, templates, hooks
// or credential helpers) and nothing prompts. A token reaches the remote only as HTTP Basic auth held
// in memory for the one push: never in a URL, never written to .git/config, and scrubbed from any
// error the remote sends back, so it cannot show up in a log or a task event.
type Git struct {
	// AllowHTTP permits plain-http remotes, which only tests on loopback need.
	AllowHTTP bool
}

// Signature is a commit's author and committer.
type Signature struct {
	Name, Email string
}

// InitAndPush makes dir a new repository with one commit of everything in it (minus what its
// .gitignore files exclude, as `git add --all` does) on branch and pushes it to branch of remote,
// authenticating as GitHub apps and tokens do (x-access-token and the token over Basic auth). It
// returns the commit's hash.
func (g Git) InitAndPush(ctx context.Context, dir, remote, branch, message string, author Signature, token string) (string, error) {
	u, err := url.Parse(remote)
	if err != nil || (u.Scheme != "https" && !(g.AllowHTTP && u.Scheme == "http")) {
		return "", errs.E(errs.Invalid, "remote %q is not an https URL", remote)
	}
	if u.User != nil {
		return "", errs.E(errs.Invalid, "remote URL must not carry credentials")
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if err := ref.Validate(); err != nil {
		return "", errs.E(errs.Invalid, "%q is not a valid branch name", branch)
	}
	scrub := scrubber(token)
	fail := func(step string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := scrub(err.Error())
		// The cause keeps only the scrubbed text: the original may quote the remote's reply.
		return errs.Wrap(errs.Unavailable, errors.New(msg), "git %s failed: %s", step, msg)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}

	repo, err := initRepository(dir, ref)
	if err != nil {
		return "", fail("init", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", fail("init", err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fail("add", err)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	hash, err := wt.Commit(message, &git.CommitOptions{AllowEmptyCommits: true, Author: sig, Committer: sig})
	if err != nil {
		return "", fail("commit", err)
	}

	// A remote that lives only for this push: nothing about it is written to .git/config.
	rem := git.NewRemote(repo.Storer, &config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{remote}})
	var auth transport.AuthMethod
	if token != "" {
		auth = &githttp.BasicAuth{Username: "x-access-token", Password: token}
	}
	var progress remoteOutput
	err = rem.PushContext(ctx, &git.PushOptions{
		RemoteName: git.DefaultRemoteName,
		// The commit by hash rather than HEAD: a workspace that already was a repository may have HEAD on
		// another branch, and git pushed HEAD:refs/heads/<branch> regardless.
		RefSpecs: []config.RefSpec{config.RefSpec(hash.String() + ":" + ref.String())},
		Auth:     auth,
		Progress: &progress,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if msg := progress.errors(); msg != "" {
			err = errors.New(err.Error() + "; " + msg)
		}
		return "", fail("push", err)
	}
	return hash.String(), nil
}

// initRepository creates the repository in dir on branch ref, or opens the one dir already is, as
// `git init` re-initializes one. Both the work tree and .git are bound to dir: a symlink in the
// workspace is committed as a link and never followed out of it.
func initRepository(dir string, ref plumbing.ReferenceName) (*git.Repository, error) {
	wt := osfs.New(dir, osfs.WithBoundOS())
	dot := osfs.New(filepath.Join(dir, git.GitDirName), osfs.WithBoundOS())
	store := filesystem.NewStorage(dot, cache.NewObjectLRUDefault())
	repo, err := git.InitWithOptions(store, wt, git.InitOptions{DefaultBranch: ref})
	if errors.Is(err, git.ErrRepositoryAlreadyExists) {
		return git.Open(store, wt)
	}
	if err != nil {
		return nil, err
	}
	// Written as git init writes it (core.bare = false), so the workspace is an ordinary repository
	// to any tool that looks at it afterwards.
	cfg, err := repo.Config()
	if err != nil {
		return nil, err
	}
	return repo, repo.Storer.SetConfig(cfg)
}

// scrubber returns a function that blanks token, and the Basic credentials made of it, out of a
// message: a remote may echo a request back in its error.
func scrubber(token string) func(string) string {
	if token == "" {
		return func(s string) string { return s }
	}
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
	r := strings.NewReplacer(basic, "[redacted]", token, "[redacted]")
	return r.Replace
}

// maxRemoteOutput bounds what is kept of a remote's progress messages.
const maxRemoteOutput = 64 << 10

// remoteOutput keeps the messages a remote sends on the side band while it receives a push ("remote:"
// lines in git's output), where GitHub explains a refusal such as a protected branch.
type remoteOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *remoteOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if room := maxRemoteOutput - o.buf.Len(); room > 0 {
		o.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// errors returns the remote's error lines; progress counters and notices are left out.
func (o *remoteOutput) errors() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, line := range strings.FieldsFunc(o.buf.String(), func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = strings.TrimSpace(line)
		lower := strings.ToLower(line)
		if strings.HasPrefix(lower, "error") || strings.HasPrefix(lower, "fatal") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "; ")
}
