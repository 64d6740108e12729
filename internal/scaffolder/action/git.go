package action

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Git runs the git binary for publish actions. Each command runs with the host's git configuration
// ignored (no credential helpers, no hooks from global templates) and prompting disabled. A token
// reaches git only as an http.extraHeader passed through the environment: never in a URL, never on a
// command line, never written to .git/config, so it cannot show up in a log or a process listing.
type Git struct {
	// Binary is the git executable; "" means "git" on PATH.
	Binary string
	// AllowHTTP permits plain-http remotes, which only tests on loopback need.
	AllowHTTP bool
}

// Signature is a commit's author and committer.
type Signature struct {
	Name, Email string
}

func (g Git) binary() string {
	if g.Binary != "" {
		return g.Binary
	}
	return "git"
}

func (g Git) run(ctx context.Context, dir string, extraEnv []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, g.binary(), args...)
	cmd.Dir = dir
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=", "SSH_ASKPASS=", "GIT_PROTOCOL_FROM_USER=0",
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "LANG=C",
	}
	allowed := "https"
	if g.AllowHTTP {
		allowed = "https:http"
	}
	env = append(env, "GIT_ALLOW_PROTOCOL="+allowed)
	cmd.Env = append(env, extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", errs.Wrap(errs.Unavailable, err, "git %s failed: %s", args[0], msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// InitAndPush makes dir a new repository with one commit of everything in it and pushes it to
// branch of remote, authenticating as GitHub apps and tokens do (x-access-token and the token over
// Basic auth). It returns the commit's hash.
func (g Git) InitAndPush(ctx context.Context, dir, remote, branch, message string, author Signature, token string) (string, error) {
	u, err := url.Parse(remote)
	if err != nil || (u.Scheme != "https" && !(g.AllowHTTP && u.Scheme == "http")) {
		return "", errs.E(errs.Invalid, "remote %q is not an https URL", remote)
	}
	if u.User != nil {
		return "", errs.E(errs.Invalid, "remote URL must not carry credentials")
	}
	id := []string{
		"GIT_AUTHOR_NAME=" + author.Name, "GIT_AUTHOR_EMAIL=" + author.Email,
		"GIT_COMMITTER_NAME=" + author.Name, "GIT_COMMITTER_EMAIL=" + author.Email,
	}
	steps := [][]string{
		{"init", "--quiet", "--initial-branch=" + branch},
		{"add", "--all"},
		{"commit", "--quiet", "--no-verify", "--allow-empty", "-m", message},
	}
	for _, args := range steps {
		if _, err := g.run(ctx, dir, id, args...); err != nil {
			return "", err
		}
	}
	hash, err := g.run(ctx, dir, nil, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	var auth []string
	if token != "" {
		basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
		auth = []string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: Basic " + basic}
	}
	if _, err := g.run(ctx, dir, auth, "push", "--quiet", remote, "HEAD:refs/heads/"+branch); err != nil {
		return "", err
	}
	return hash, nil
}
