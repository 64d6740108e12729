package github_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/github/githubtest"
)

// These tests live beside the adapter, not in package source, so that the domain package's tests never
// link go-github. Each drives source's GitHub reader and discovery through the real go-github client
// pointed at the fake GitHub server.

// TestGitHubReader reads blob and tree URLs through the real go-github client and the fake server.
func TestGitHubReader(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewServer(t)
	fake.AddRepo("billpay", "payments", "main")
	fake.PutFile("billpay", "payments", "catalog-info.yaml", "kind: System\n")
	fake.PutFile("billpay", "payments", "services/api/catalog-info.yaml", "kind: Component\n")
	fake.PutFileAt("billpay", "payments", "v2", "services/api/catalog-info.yaml", "kind: Component # v2\n")

	ghe := githubtest.NewServer(t)
	ghe.SetWebHost("ghe.billpay.test")
	ghe.AddRepo("platform", "infra", "trunk")
	ghe.PutFile("platform", "infra", "catalog-info.yaml", "kind: Resource\n")
	ghe.RequireToken("ghe-token")

	r, err := source.NewGitHubReader(
		source.GitHubHost{Files: MustClient(t, fake, "")},
		source.GitHubHost{Host: "ghe.billpay.test", Files: MustClient(t, ghe, "ghe-token")},
	)
	require.NoError(t, err)

	read := func(target string) (string, error) {
		b, err := r.Read(ctx, "url", target)
		return string(b), err
	}

	t.Run("reads a blob URL", func(t *testing.T) {
		got, err := read("https://github.com/billpay/payments/blob/main/services/api/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component\n", got)
	})

	t.Run("reads a blob URL at another ref", func(t *testing.T) {
		got, err := read("https://github.com/billpay/payments/blob/v2/services/api/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component # v2\n", got)
	})

	t.Run("reads the catalog-info.yaml of a tree URL", func(t *testing.T) {
		got, err := read("https://github.com/billpay/payments/tree/main/services/api")
		require.NoError(t, err)
		require.Equal(t, "kind: Component\n", got)

		got, err = read("https://github.com/billpay/payments/tree/main")
		require.NoError(t, err)
		require.Equal(t, "kind: System\n", got)
	})

	t.Run("reads from a GitHub Enterprise host with that host's token", func(t *testing.T) {
		got, err := read("https://ghe.billpay.test/platform/infra/blob/trunk/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Resource\n", got)
	})

	t.Run("reports a missing file as not found", func(t *testing.T) {
		_, err := read("https://github.com/billpay/payments/blob/main/nope.yaml")
		require.Equal(t, errs.NotFound, errs.CodeOf(err))
		_, err = read("https://github.com/billpay/payments/tree/main/services")
		require.Equal(t, errs.NotFound, errs.CodeOf(err))
	})

	t.Run("reads a file written after the first read", func(t *testing.T) {
		fake.PutFile("billpay", "payments", "services/api/catalog-info.yaml", "kind: Component # edited\n")
		got, err := read("https://github.com/billpay/payments/blob/main/services/api/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component # edited\n", got)
	})
}

// TestDispatcherEndToEnd routes each location type to a real backend: the disk, the fake GitHub
// through the real go-github client, and a plain HTTP server.
func TestDispatcherEndToEnd(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewServer(t)
	fake.AddRepo("billpay", "payments", "main")
	fake.PutFile("billpay", "payments", "catalog-info.yaml", "from: github\n")
	gh, err := source.NewGitHubReader(source.GitHubHost{Files: MustClient(t, fake, "")})
	require.NoError(t, err)

	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("from: http\n"))
	}))
	t.Cleanup(plain.Close)

	file := filepath.Join(t.TempDir(), "catalog-info.yaml")
	require.NoError(t, os.WriteFile(file, []byte("from: file\n"), 0o600))

	d := &source.Dispatcher{File: source.FileReader{}, GitHub: gh, HTTP: source.NewHTTPReader(plain.Client())}
	for _, c := range []struct{ typ, target, want string }{
		{"file", file, "from: file\n"},
		{"url", "https://github.com/billpay/payments/blob/main/catalog-info.yaml", "from: github\n"},
		{"url", plain.URL + "/catalog-info.yaml", "from: http\n"},
	} {
		t.Run("reads "+c.want[6:len(c.want)-1]+" locations", func(t *testing.T) {
			b, err := d.Read(ctx, c.typ, c.target)
			require.NoError(t, err)
			require.Equal(t, c.want, string(b))
		})
	}
}

// TestGitHubDiscovery discovers catalog files through the real go-github client and the fake server,
// across several pages of repositories.
func TestGitHubDiscovery(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewServer(t)
	fake.SetMaxPerPage(3)
	for i := range 7 {
		name := fmt.Sprintf("svc-%d", i)
		fake.AddRepo("billpay", name, "main")
		if i != 3 {
			fake.PutFile("billpay", name, "catalog-info.yaml", "kind: Component\n")
		} else {
			fake.PutFile("billpay", name, "README.md", "no catalog here\n")
		}
	}
	fake.AddRepo("billpay", "legacy", "master")
	fake.PutFile("billpay", "legacy", "catalog-info.yaml", "kind: Component\n")
	fake.Archive("billpay", "legacy")
	fake.AddRepo("billpay", "forked-lib", "main")
	fake.PutFile("billpay", "forked-lib", "catalog-info.yaml", "kind: Component\n")
	fake.MarkFork("billpay", "forked-lib")
	fake.AddRepo("billpay", "docs-site", "gh-pages")
	fake.PutFile("billpay", "docs-site", "backstage/catalog.yaml", "kind: Component\n")
	fake.AddRepo("billpay", "brand-new", "main") // empty: no commits yet
	fake.AddRepo("elsewhere", "svc-x", "main")
	fake.PutFile("elsewhere", "svc-x", "catalog-info.yaml", "kind: Component\n")
	client := MustClient(t, fake, "")

	discover := func(t *testing.T, cfg source.GitHubDiscoveryConfig) []string {
		t.Helper()
		d, err := source.NewGitHubDiscovery(client, cfg)
		require.NoError(t, err)
		locs, err := d.Discover(ctx)
		require.NoError(t, err)
		var targets []string
		for _, l := range locs {
			require.Equal(t, "url", l.Type)
			targets = append(targets, l.Target)
		}
		return targets
	}
	blob := func(repo, branch, path string) string {
		return "https://github.com/billpay/" + repo + "/blob/" + branch + "/" + path
	}

	t.Run("finds the catalog file of every live, non-fork repository", func(t *testing.T) {
		fake.ResetRequests()
		got := discover(t, source.GitHubDiscoveryConfig{Org: "billpay"})
		require.Equal(t, []string{
			blob("svc-0", "main", "catalog-info.yaml"),
			blob("svc-1", "main", "catalog-info.yaml"),
			blob("svc-2", "main", "catalog-info.yaml"),
			blob("svc-4", "main", "catalog-info.yaml"),
			blob("svc-5", "main", "catalog-info.yaml"),
			blob("svc-6", "main", "catalog-info.yaml"),
		}, got)
		// 11 repositories at 3 a page, then one contents request per repository that passed the
		// filters: svc-0..6, docs-site and brand-new, whose emptiness GitHub reports as a 404.
		require.Equal(t, 4+9, fake.RequestCount(), "%v", fake.Requests())
	})

	t.Run("admits archived repositories and forks when asked", func(t *testing.T) {
		got := discover(t, source.GitHubDiscoveryConfig{Org: "billpay", IncludeArchived: true, IncludeForks: true, RepoFilter: "^(legacy|forked-lib)$"})
		require.Equal(t, []string{
			blob("forked-lib", "main", "catalog-info.yaml"),
			blob("legacy", "master", "catalog-info.yaml"),
		}, got)
	})

	t.Run("filters repository names with an unanchored regular expression", func(t *testing.T) {
		got := discover(t, source.GitHubDiscoveryConfig{Org: "billpay", RepoFilter: "c-[45]"})
		require.Equal(t, []string{blob("svc-4", "main", "catalog-info.yaml"), blob("svc-5", "main", "catalog-info.yaml")}, got)
	})

	t.Run("looks for a configured catalog path on each default branch", func(t *testing.T) {
		got := discover(t, source.GitHubDiscoveryConfig{Org: "billpay", CatalogPath: "/backstage/catalog.yaml"})
		require.Equal(t, []string{blob("docs-site", "gh-pages", "backstage/catalog.yaml")}, got)
	})

	t.Run("follows files being added and deleted", func(t *testing.T) {
		fake.PutFile("billpay", "svc-3", "catalog-info.yaml", "kind: Component\n")
		fake.DeleteFile("billpay", "svc-0", "catalog-info.yaml")
		t.Cleanup(func() {
			fake.DeleteFile("billpay", "svc-3", "catalog-info.yaml")
			fake.PutFile("billpay", "svc-0", "catalog-info.yaml", "kind: Component\n")
		})
		got := discover(t, source.GitHubDiscoveryConfig{Org: "billpay", RepoFilter: "^svc-[0-3]$"})
		require.Equal(t, []string{
			blob("svc-1", "main", "catalog-info.yaml"),
			blob("svc-2", "main", "catalog-info.yaml"),
			blob("svc-3", "main", "catalog-info.yaml"),
		}, got)
	})

	t.Run("yields targets the GitHub reader reads back", func(t *testing.T) {
		r, err := source.NewGitHubReader(source.GitHubHost{Files: client})
		require.NoError(t, err)
		for _, target := range discover(t, source.GitHubDiscoveryConfig{Org: "billpay", RepoFilter: "svc-6"}) {
			b, err := r.Read(ctx, "url", target)
			require.NoError(t, err)
			require.Equal(t, "kind: Component\n", string(b))
		}
	})

	t.Run("fails as a whole when GitHub fails, rather than return a partial set", func(t *testing.T) {
		fake.RequireToken("now-required")
		t.Cleanup(func() { fake.RequireToken("") })
		d, err := source.NewGitHubDiscovery(client, source.GitHubDiscoveryConfig{Org: "billpay"})
		require.NoError(t, err)
		locs, err := d.Discover(ctx)
		require.Equal(t, errs.Unavailable, errs.CodeOf(err))
		require.Nil(t, locs)
	})

	t.Run("reports an unknown organization as not found", func(t *testing.T) {
		d, err := source.NewGitHubDiscovery(client, source.GitHubDiscoveryConfig{Org: "nobody"})
		require.NoError(t, err)
		_, err = d.Discover(ctx)
		require.Equal(t, errs.NotFound, errs.CodeOf(err))
	})
}
