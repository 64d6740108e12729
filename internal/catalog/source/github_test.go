package source_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
)

// The GitHub reader and discovery are exercised through the real go-github client and a fake GitHub
// server in internal/github; the tests here cover what needs no GitHub at all: URL parsing, routing,
// configuration and push planning.

func TestParseGitHubURL(t *testing.T) {
	t.Run("parses a blob URL", func(t *testing.T) {
		u, err := source.ParseGitHubURL("https://GitHub.com/billpay/payments/blob/main/services/api/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, source.GitHubURL{Host: "github.com", Owner: "billpay", Repo: "payments", Ref: "main",
			Path: "services/api/catalog-info.yaml"}, u)
		require.Equal(t, "services/api/catalog-info.yaml", u.FilePath())
		require.Equal(t, "https://github.com/billpay/payments/blob/main/services/api/catalog-info.yaml", u.BlobURL())
	})

	t.Run("reads a tree URL of a directory as its catalog-info.yaml", func(t *testing.T) {
		u, err := source.ParseGitHubURL("https://github.com/billpay/payments/tree/main/services/api")
		require.NoError(t, err)
		require.True(t, u.Tree)
		require.Equal(t, "services/api/catalog-info.yaml", u.FilePath())
		require.Equal(t, "https://github.com/billpay/payments/blob/main/services/api/catalog-info.yaml", u.BlobURL())
		require.Equal(t, "https://github.com/billpay/payments/tree/main/services/api", u.String())
	})

	t.Run("reads a tree URL of the root as the root catalog-info.yaml", func(t *testing.T) {
		u, err := source.ParseGitHubURL("https://github.com/billpay/payments/tree/main")
		require.NoError(t, err)
		require.Equal(t, "catalog-info.yaml", u.FilePath())
	})

	t.Run("reads a tree URL of a YAML file as that file", func(t *testing.T) {
		u, err := source.ParseGitHubURL("https://github.com/billpay/payments/tree/main/all.yaml")
		require.NoError(t, err)
		require.Equal(t, "all.yaml", u.FilePath())
	})

	t.Run("decodes escaped paths", func(t *testing.T) {
		u, err := source.ParseGitHubURL("https://github.com/billpay/payments/blob/main/my%20dir/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "my dir/catalog-info.yaml", u.Path)
		require.Equal(t, "https://github.com/billpay/payments/blob/main/my%20dir/catalog-info.yaml", u.BlobURL())
	})

	t.Run("refuses URLs that are not blob or tree URLs", func(t *testing.T) {
		for _, raw := range []string{
			"https://github.com/billpay/payments",
			"https://github.com/billpay/payments/raw/main/catalog-info.yaml",
			"https://github.com/billpay/payments/blob/main",
			"https://github.com/billpay/payments/blob/main/../../x/blob/main/y.yaml",
			"github.com/billpay/payments/blob/main/x.yaml",
			"file:///tmp/x.yaml",
		} {
			_, err := source.ParseGitHubURL(raw)
			require.Equal(t, errs.Invalid, errs.CodeOf(err), raw)
		}
	})
}

// recorder is a Reader that remembers which reader the Dispatcher chose.
type recorder struct {
	name string
	got  *string
}

func (r recorder) Read(context.Context, string, string) ([]byte, error) {
	*r.got = r.name
	return []byte(r.name), nil
}

// files is an in-memory source.GitHubFiles, enough to tell that a request reached it.
type files map[string]string

func (f files) GetFile(_ context.Context, owner, repo, ref, path string) ([]byte, error) {
	if s, ok := f[owner+"/"+repo+"@"+ref+":"+path]; ok {
		return []byte(s), nil
	}
	return nil, errs.E(errs.NotFound, "no %s", path)
}

func (f files) ListOrgRepos(context.Context, string) ([]source.GitHubRepo, error) { return nil, nil }

func TestDispatcher(t *testing.T) {
	ctx := context.Background()
	var got string
	gh, err := source.NewGitHubReader(
		source.GitHubHost{Files: files{"billpay/payments@main:catalog-info.yaml": "github.com"}},
		source.GitHubHost{Host: "GHE.billpay.test", Files: files{"platform/infra@main:catalog-info.yaml": "ghe"}},
	)
	require.NoError(t, err)
	d := &source.Dispatcher{File: recorder{"file", &got}, GitHub: gh, HTTP: recorder{"http", &got}}

	t.Run("sends file locations to the file reader", func(t *testing.T) {
		_, err := d.Read(ctx, "file", "/catalog-info/all.yaml")
		require.NoError(t, err)
		require.Equal(t, "file", got)
	})

	t.Run("sends URLs on configured GitHub hosts to the GitHub reader", func(t *testing.T) {
		b, err := d.Read(ctx, "url", "https://github.com/billpay/payments/blob/main/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "github.com", string(b))

		b, err = d.Read(ctx, "url", "https://ghe.billpay.test/platform/infra/tree/main")
		require.NoError(t, err)
		require.Equal(t, "ghe", string(b))
	})

	t.Run("keeps a non-file URL on a GitHub host away from the HTTP reader", func(t *testing.T) {
		got = ""
		_, err := d.Read(ctx, "url", "https://github.com/billpay/payments/raw/main/catalog-info.yaml")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
		require.Empty(t, got)
	})

	t.Run("passes GitHub's not found through", func(t *testing.T) {
		_, err := d.Read(ctx, "url", "https://github.com/billpay/payments/blob/main/missing.yaml")
		require.Equal(t, errs.NotFound, errs.CodeOf(err))
		require.Contains(t, errs.MessageOf(err), "https://github.com/billpay/payments/blob/main/missing.yaml")
	})

	t.Run("sends other URLs to the HTTP reader", func(t *testing.T) {
		_, err := d.Read(ctx, "url", "https://docs.billpay.test/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "http", got)
	})

	t.Run("refuses unknown location types", func(t *testing.T) {
		_, err := d.Read(ctx, "github-discovery", "https://github.com/billpay")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})

	t.Run("refuses a type whose reader is not configured", func(t *testing.T) {
		_, err := (&source.Dispatcher{HTTP: recorder{"http", &got}}).Read(ctx, "file", "/etc/passwd")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})

	t.Run("refuses a GitHub host configured twice", func(t *testing.T) {
		_, err := source.NewGitHubReader(source.GitHubHost{Files: files{}}, source.GitHubHost{Host: "github.com", Files: files{}})
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})
}

func TestNewGitHubDiscovery(t *testing.T) {
	t.Run("names itself by host, organization and catalog path", func(t *testing.T) {
		d, err := source.NewGitHubDiscovery(files{}, source.GitHubDiscoveryConfig{Org: "billpay"})
		require.NoError(t, err)
		require.Equal(t, "github-discovery:github.com/billpay/catalog-info.yaml", d.Name())

		d, err = source.NewGitHubDiscovery(files{}, source.GitHubDiscoveryConfig{Host: "ghe.billpay.test", Org: "platform", CatalogPath: "backstage/catalog.yaml"})
		require.NoError(t, err)
		require.Equal(t, "github-discovery:ghe.billpay.test/platform/backstage/catalog.yaml", d.Name())
	})

	t.Run("refuses a missing organization, a bad filter and a climbing path", func(t *testing.T) {
		for _, cfg := range []source.GitHubDiscoveryConfig{
			{},
			{Org: "billpay/payments"},
			{Org: "billpay", RepoFilter: "("},
			{Org: "billpay", CatalogPath: "../x.yaml"},
		} {
			_, err := source.NewGitHubDiscovery(files{}, cfg)
			require.Equal(t, errs.Invalid, errs.CodeOf(err), "%+v", cfg)
		}
	})
}

func TestPlanPush(t *testing.T) {
	push := func(ref string, added, modified, removed []string) source.PushEvent {
		return source.PushEvent{Host: "github.com", Repo: "billpay/payments", Ref: ref, DefaultBranch: "main",
			Added: added, Modified: modified, Removed: removed}
	}

	t.Run("refreshes a modified catalog file without rediscovery", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/main", nil, []string{"catalog-info.yaml", "README.md"}, nil), "")
		require.Equal(t, []string{
			"https://github.com/billpay/payments/blob/main/README.md",
			"https://github.com/billpay/payments/blob/main/catalog-info.yaml",
		}, p.Refresh)
		require.False(t, p.Rediscover)
	})

	t.Run("rediscovers when the default branch gains the catalog file", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/main", []string{"catalog-info.yaml"}, nil, nil), "/catalog-info.yaml")
		require.True(t, p.Rediscover)
	})

	t.Run("rediscovers when the default branch loses the catalog file, and refreshes it", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/main", nil, nil, []string{"catalog-info.yaml"}), "")
		require.True(t, p.Rediscover)
		require.Equal(t, []string{"https://github.com/billpay/payments/blob/main/catalog-info.yaml"}, p.Refresh)
	})

	t.Run("does not rediscover for another branch", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/feature", []string{"catalog-info.yaml"}, nil, nil), "")
		require.False(t, p.Rediscover)
		require.Equal(t, []string{"https://github.com/billpay/payments/blob/feature/catalog-info.yaml"}, p.Refresh)
	})

	t.Run("watches the configured catalog path only", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/main", []string{"catalog-info.yaml"}, nil, nil), "/backstage/catalog.yaml")
		require.False(t, p.Rediscover)
		p = source.PlanPush(push("refs/heads/main", []string{"backstage/catalog.yaml"}, nil, nil), "backstage/catalog.yaml")
		require.True(t, p.Rediscover)
	})

	t.Run("lists a file touched by several commits once", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/main", []string{"a.yaml"}, []string{"a.yaml", "./a.yaml"}, nil), "")
		require.Equal(t, []string{"https://github.com/billpay/payments/blob/main/a.yaml"}, p.Refresh)
	})

	t.Run("matches targets spelled as tree URLs or with HEAD", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/main", nil, []string{"services/api/catalog-info.yaml"}, nil), "")
		require.True(t, p.Affects("https://github.com/billpay/payments/blob/main/services/api/catalog-info.yaml"))
		require.True(t, p.Affects("https://github.com/billpay/payments/tree/main/services/api"))
		require.True(t, p.Affects("https://github.com/BillPay/Payments/blob/HEAD/services/api/catalog-info.yaml"))
		require.False(t, p.Affects("https://github.com/billpay/payments/blob/other/services/api/catalog-info.yaml"))
		require.False(t, p.Affects("https://github.com/billpay/ledger/blob/main/services/api/catalog-info.yaml"))
		require.False(t, p.Affects("https://ghe.billpay.test/billpay/payments/blob/main/services/api/catalog-info.yaml"))
		require.False(t, p.Affects("/local/catalog-info.yaml"))
	})

	t.Run("matches a ref containing a slash", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/release/2024", nil, []string{"catalog-info.yaml"}, nil), "")
		require.True(t, p.Affects("https://github.com/billpay/payments/blob/release/2024/catalog-info.yaml"))
		require.True(t, p.Affects("https://github.com/billpay/payments/tree/release/2024"))
		require.False(t, p.Affects("https://github.com/billpay/payments/blob/release/2024x/catalog-info.yaml"))
		require.False(t, p.Affects("https://github.com/billpay/payments/blob/release/catalog-info.yaml"))
	})

	t.Run("does not take HEAD for a push to another branch", func(t *testing.T) {
		p := source.PlanPush(push("refs/heads/feature", nil, []string{"catalog-info.yaml"}, nil), "")
		require.False(t, p.Affects("https://github.com/billpay/payments/blob/HEAD/catalog-info.yaml"))
	})

	t.Run("plans nothing for a push without repository or ref", func(t *testing.T) {
		p := source.PlanPush(source.PushEvent{Ref: "refs/heads/main", Added: []string{"catalog-info.yaml"}}, "")
		require.Empty(t, p.Refresh)
		require.False(t, p.Rediscover)
		require.False(t, p.Affects("https://github.com/billpay/payments/blob/main/catalog-info.yaml"))
	})
}
