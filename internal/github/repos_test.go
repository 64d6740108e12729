package github_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/github"
	"github.com/billpay/portal/internal/github/githubtest"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

const repoToken = "ghs_reposadaptertoken0123456789"

func mustGitClient(t *testing.T, fake *githubtest.GitServer, token string) *github.Client {
	t.Helper()
	c, err := github.NewClient(fake.URL(), token, nil)
	require.NoError(t, err)
	return c
}

func TestCreateRepository(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewGitServer(t, repoToken)
	c := mustGitClient(t, fake, repoToken)

	t.Run("OK", func(t *testing.T) {
		repo, err := c.CreateRepository(ctx, action.NewRepository{Owner: "billpay", Name: "ledger", Description: "Ledger", Visibility: "internal", HasIssues: true})
		require.NoError(t, err)
		require.Equal(t, "https://github.com/billpay/ledger", repo.HTMLURL)
		require.Equal(t, fake.URL()+"/git/billpay/ledger.git", repo.CloneURL)
		body := fake.Body("POST /orgs/billpay/repos")
		require.Equal(t, "ledger", body["name"])
		require.Equal(t, "internal", body["visibility"])
		require.Equal(t, true, body["private"])
		require.Equal(t, true, body["has_issues"])
	})

	t.Run("UserAccount", func(t *testing.T) {
		_, err := c.CreateRepository(ctx, action.NewRepository{Owner: "jane", Name: "tool", Visibility: "public"})
		require.NoError(t, err)
		require.True(t, fake.HasRepo("jane", "tool"))
		require.Equal(t, false, fake.Body("POST /user/repos")["private"])
	})

	t.Run("ErrExists", func(t *testing.T) {
		_, err := c.CreateRepository(ctx, action.NewRepository{Owner: "billpay", Name: "ledger"})
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Contains(t, errs.MessageOf(err), "name already exists")
	})

	t.Run("ErrUnknownOwner", func(t *testing.T) {
		_, err := c.CreateRepository(ctx, action.NewRepository{Owner: "nobody", Name: "x"})
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
	})

	t.Run("ErrBadToken", func(t *testing.T) {
		_, err := mustGitClient(t, fake, "wrong-token").CreateRepository(ctx, action.NewRepository{Owner: "billpay", Name: "y"})
		require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
		require.NotContains(t, err.Error(), "wrong-token")
	})

	t.Run("TopicsAndProtection", func(t *testing.T) {
		require.NoError(t, c.ReplaceTopics(ctx, "billpay", "ledger", []string{"go"}))
		require.Equal(t, []any{"go"}, fake.Body("PUT /repos/billpay/ledger/topics")["names"])
		require.NoError(t, c.ProtectBranch(ctx, "billpay", "ledger", "main", action.BranchProtection{
			RequiredApprovingReviewCount: 2, EnforceAdmins: true, RequiredCommitSigning: true}))
		prot := fake.Body("PUT /repos/billpay/ledger/branches/main/protection")
		require.Equal(t, true, prot["enforce_admins"])
		require.Nil(t, prot["required_status_checks"])
		require.Contains(t, fake.Requests(), "POST /repos/billpay/ledger/branches/main/protection/required_signatures")
	})
}

func TestTarballReadsTemplates(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewGitServer(t, repoToken)
	src := t.TempDir()
	for p, c := range map[string]string{
		"templates/svc/template.yaml":          "kind: Template\n",
		"templates/svc/skeleton/README.md":     "# ${{ values.name }}\n",
		"templates/svc/skeleton/bin/run.sh":    "#!/bin/sh\n",
		"templates/other/skeleton/secret.txt":  "another template's file\n",
		"templates/svc/skeleton/docs/index.md": "docs\n",
	} {
		full := filepath.Join(src, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
	fake.AddRepoFromDir("billpay", "golden-paths", "main", src)
	c := mustGitClient(t, fake, repoToken)

	t.Run("Tarball", func(t *testing.T) {
		rc, err := c.Tarball(ctx, "billpay", "golden-paths", "main")
		require.NoError(t, err)
		defer rc.Close()
		ws, err := workspace.Create(t.TempDir(), "x-")
		require.NoError(t, err)
		require.NoError(t, workspace.ExtractTar(rc, ws, workspace.ExtractOptions{StripComponents: 1}))
		b, err := ws.ReadFile("templates/svc/skeleton/README.md")
		require.NoError(t, err)
		require.Equal(t, "# ${{ values.name }}\n", string(b))
	})

	t.Run("ErrNoSuchRef", func(t *testing.T) {
		_, err := c.Tarball(ctx, "billpay", "golden-paths", "no-such-branch")
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
	})

	t.Run("TemplateSources", func(t *testing.T) {
		files, err := scaffolder.TemplateSources{GitHub: map[string]scaffolder.GitHubArchives{"github.com": c}}.
			Open("https://github.com/billpay/golden-paths/blob/main/templates/svc/template.yaml")
		require.NoError(t, err)
		ws, err := workspace.Create(t.TempDir(), "x-")
		require.NoError(t, err)
		require.NoError(t, files.ReadTree(ctx, "skeleton", ws))
		got, err := ws.Walk(".", workspace.WalkOptions{})
		require.NoError(t, err)
		var paths []string
		for _, f := range got {
			paths = append(paths, f.Path)
		}
		require.Equal(t, "README.md bin/run.sh docs/index.md", strings.Join(paths, " "))
		b, err := files.ReadFile(ctx, "skeleton/docs/index.md")
		require.NoError(t, err)
		require.Equal(t, "docs\n", string(b))
		_, err = files.ReadFile(ctx, "../other/skeleton/secret.txt")
		require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
	})
}

func TestListRepositoriesAndBranches(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewGitServer(t, repoToken)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("x"), 0o644))
	fake.AddRepoFromDir("billpay", "payments", "main", dir)
	fake.AddRepoFromDir("billpay", "ledger", "trunk", dir)
	fake.AddRepoFromDir("jane", "dotfiles", "main", dir)
	c := mustGitClient(t, fake, repoToken)

	repos, err := c.ListRepositories(ctx, "billpay", 10)
	require.NoError(t, err)
	require.ElementsMatch(t, []github.RepoSummary{{Owner: "billpay", Name: "payments"}, {Owner: "billpay", Name: "ledger"}}, repos)
	repos, err = c.ListRepositories(ctx, "jane", 10)
	require.NoError(t, err)
	require.Equal(t, []github.RepoSummary{{Owner: "jane", Name: "dotfiles"}}, repos)
	branches, err := c.ListBranches(ctx, "billpay", "ledger", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"trunk"}, branches)
	_, err = c.ListBranches(ctx, "billpay", "nope", 10)
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)
}
