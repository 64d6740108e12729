package action_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/billpay/portal/internal/github"
	"github.com/billpay/portal/internal/github/githubtest"
	"github.com/billpay/portal/internal/scaffolder/action"
)

// fakeGitHub is the go-github adapter (internal/github) against a loopback GitHub whose repositories
// are real git repositories on disk.
type fakeGitHub struct {
	*githubtest.GitServer
	token string
}

func newFakeGitHub(t *testing.T, token string) *fakeGitHub {
	return &fakeGitHub{GitServer: githubtest.NewGitServer(t, token), token: token}
}

func newGoGitHubRepos(baseURL, token string) (action.GitHubRepos, error) {
	return github.NewClient(baseURL, token, nil)
}

func (f *fakeGitHub) git(t *testing.T, owner, repo string, args ...string) string {
	t.Helper()
	return f.Git(t, owner, repo, args...)
}

func (f *fakeGitHub) options(t *testing.T) action.Options {
	return action.Options{
		Git: action.Git{AllowHTTP: true},
		GitHub: map[string]action.GitHubHost{"github.com": {Token: f.token, NewClient: func(token string) (action.GitHubRepos, error) {
			return newGoGitHubRepos(f.URL(), token)
		}}},
	}
}

func TestPublishGitHub(t *testing.T) {
	const token = "ghs_integrationtoken0123456789"
	fake := newFakeGitHub(t, token)
	e := MustEnv(t, fake.options(t), map[string]string{
		"template.yaml": "", "skeleton/README.md": "# ${{ values.name }}\n", "skeleton/app/run.sh": "#!/bin/sh\necho ${{ values.name }}\n",
	})
	res := e.Run(t, `
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: "${{ parameters.name }}"}}
    - id: publish
      action: publish:github
      input:
        repoUrl: github.com?owner=billpay&repo=${{ parameters.name }}
        description: Payments service
        repoVisibility: internal
        defaultBranch: main
        topics: [java, payments]
        gitAuthorName: Portal
        gitAuthorEmail: portal@billpay.example
        requiredStatusCheckContexts: [build]
  output:
    remoteUrl: ${{ steps.publish.output.remoteUrl }}
    repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}
    commitHash: ${{ steps.publish.output.commitHash }}
`, `{name: payments}`)
	MustOK(t, res)

	// The repository exists with the workspace pushed to main.
	head := fake.git(t, "billpay", "payments", "rev-parse", "refs/heads/main")
	files := fake.git(t, "billpay", "payments", "ls-tree", "-r", "--name-only", "main")
	if files != "README.md\napp/run.sh" {
		t.Fatalf("pushed files:\n%s", files)
	}
	if readme := fake.git(t, "billpay", "payments", "show", "main:README.md"); readme != "# payments" {
		t.Fatalf("README = %q", readme)
	}
	if mode := fake.git(t, "billpay", "payments", "ls-tree", "main", "app/run.sh"); !strings.HasPrefix(mode, "100755") {
		t.Fatalf("run.sh pushed without its execute bit: %s", mode)
	}
	if author := fake.git(t, "billpay", "payments", "log", "-1", "--format=%an <%ae> %s", "main"); author != "Portal <portal@billpay.example> initial commit" {
		t.Fatalf("commit = %q", author)
	}

	// Outputs, as Backstage names them.
	for k, want := range map[string]string{
		"remoteUrl":       fake.URL() + "/git/billpay/payments.git",
		"repoContentsUrl": "https://github.com/billpay/payments/blob/main",
		"commitHash":      head,
	} {
		if got, _ := res.Output.Get(k); got != want {
			t.Errorf("output %s = %v, want %s", k, got, want)
		}
	}

	// The REST calls and what they carried.
	reqs := strings.Join(fake.Requests(), "\n")
	create := fake.Body("POST /orgs/billpay/repos")
	topics := fake.Body("PUT /repos/billpay/payments/topics")
	prot := fake.Body("PUT /repos/billpay/payments/branches/main/protection")
	pushAuth := fake.PushAuth()
	if reqs != "GET /users/billpay\nPOST /orgs/billpay/repos\nPUT /repos/billpay/payments/topics\nPUT /repos/billpay/payments/branches/main/protection" {
		t.Fatalf("requests:\n%s", reqs)
	}
	if create["visibility"] != "internal" || create["private"] != true || create["description"] != "Payments service" {
		t.Fatalf("create body = %v", create)
	}
	if fmt.Sprint(topics["names"]) != "[java payments]" {
		t.Fatalf("topics body = %v", topics)
	}
	reviews, _ := prot["required_pull_request_reviews"].(map[string]any)
	checks, _ := prot["required_status_checks"].(map[string]any)
	if prot["enforce_admins"] != true || reviews["required_approving_review_count"] != 1.0 || checks["strict"] != true || fmt.Sprint(checks["contexts"]) != "[build]" {
		t.Fatalf("protection body = %v", prot)
	}

	// The token went to the remote as Basic auth only: never in a URL, the log, or the repository's config.
	if len(pushAuth) == 0 {
		t.Fatal("git never reached the server")
	}
	log := strings.Join(e.log, "\n")
	if strings.Contains(log, token) {
		t.Fatal("the token is in the task log")
	}
	cfg, err := e.ws.ReadFile(".git/config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), token) || strings.Contains(string(cfg), "extraHeader") {
		t.Fatalf(".git/config keeps the credentials:\n%s", cfg)
	}
	if out, _ := res.Output.MarshalJSON(); strings.Contains(string(out), token) {
		t.Fatal("the token is in the outputs")
	}

	t.Run("ErrRepositoryExists", func(t *testing.T) {
		e := MustEnv(t, fake.options(t), map[string]string{"template.yaml": ""})
		requireFailed(t, e.Run(t, `
    - action: publish:github
      input: {repoUrl: "github.com?owner=billpay&repo=payments"}
`, `{}`), "name already exists")
	})

	t.Run("UserAccountAndSourcePath", func(t *testing.T) {
		e := MustEnv(t, fake.options(t), map[string]string{"template.yaml": "", "s/sub/only.txt": "x", "s/outside.txt": "y"})
		MustOK(t, e.Run(t, `
    - action: fetch:plain
      input: {url: ./s}
    - action: publish:github
      input: {repoUrl: "github.com?owner=jane&repo=tool", sourcePath: sub, protectDefaultBranch: false}
`, `{}`))
		if files := fake.git(t, "jane", "tool", "ls-tree", "-r", "--name-only", "master"); files != "only.txt" {
			t.Fatalf("pushed %q", files)
		}
	})

	t.Run("ErrWrongTokenCannotPush", func(t *testing.T) {
		opts := fake.options(t)
		host := opts.GitHub["github.com"]
		host.NewClient = func(string) (action.GitHubRepos, error) { return newGoGitHubRepos(fake.URL(), token) }
		opts.GitHub["github.com"] = host
		e := MustEnv(t, opts, map[string]string{"template.yaml": ""})
		requireFailed(t, e.Run(t, `
    - action: publish:github
      input: {repoUrl: "github.com?owner=billpay&repo=other", token: wrong-token-value}
`, `{}`), "git push failed")
		if strings.Contains(strings.Join(e.log, "\n"), "wrong-token-value") {
			t.Fatal("the step's token is in the log")
		}
	})

	t.Run("ErrNotGitHub", func(t *testing.T) {
		e := MustEnv(t, fake.options(t), map[string]string{"template.yaml": ""})
		requireFailed(t, e.Run(t, `
    - action: publish:github
      input: {repoUrl: "gitlab.com?owner=billpay&repo=x"}
`, `{}`), "cannot publish to gitlab.com")
	})
}
