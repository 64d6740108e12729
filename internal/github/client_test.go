package github_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/github"
	"github.com/billpay/portal/internal/github/githubtest"
)

// MustClient returns the real go-github adapter pointed at fake as a GitHub Enterprise server.
func MustClient(t *testing.T, fake *githubtest.Server, token string) *github.Client {
	t.Helper()
	c, err := github.NewClient(fake.URL(), token, nil)
	require.NoError(t, err)
	return c
}

// TestClientGetFile drives the real go-github client against the fake GitHub's contents API.
func TestClientGetFile(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewServer(t)
	fake.AddRepo("billpay", "payments", "main")
	fake.PutFile("billpay", "payments", "catalog-info.yaml", "kind: Component\n")
	fake.PutFile("billpay", "payments", "services/api/catalog-info.yaml", "kind: API\n")
	fake.PutFileAt("billpay", "payments", "release", "catalog-info.yaml", "kind: Component # release\n")
	fake.AddRepo("billpay", "empty", "main")
	c := MustClient(t, fake, "")

	t.Run("reads a file from the default branch", func(t *testing.T) {
		b, err := c.GetFile(ctx, "billpay", "payments", "", "catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component\n", string(b))
	})

	t.Run("reads a file at a ref", func(t *testing.T) {
		b, err := c.GetFile(ctx, "billpay", "payments", "release", "catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component # release\n", string(b))
		require.Contains(t, fake.Requests()[len(fake.Requests())-1], "/api/v3/repos/billpay/payments/contents/catalog-info.yaml?ref=release")
	})

	t.Run("decodes base64 spread over many lines", func(t *testing.T) {
		long := strings.Repeat("description: a long line of text\n", 50)
		fake.PutFile("billpay", "payments", "long.yaml", long)
		b, err := c.GetFile(ctx, "billpay", "payments", "main", "long.yaml")
		require.NoError(t, err)
		require.Equal(t, long, string(b))
	})

	t.Run("reports a missing file, ref or repository as not found", func(t *testing.T) {
		for _, args := range [][4]string{
			{"billpay", "payments", "main", "nope.yaml"},
			{"billpay", "payments", "no-such-branch", "catalog-info.yaml"},
			{"billpay", "nope", "main", "catalog-info.yaml"},
			{"billpay", "empty", "", "catalog-info.yaml"},
		} {
			_, err := c.GetFile(ctx, args[0], args[1], args[2], args[3])
			require.Equal(t, errs.NotFound, errs.CodeOf(err), "%v", args)
			require.Contains(t, errs.MessageOf(err), args[1])
		}
	})

	t.Run("reports a directory as not found", func(t *testing.T) {
		_, err := c.GetFile(ctx, "billpay", "payments", "main", "services/api")
		require.Equal(t, errs.NotFound, errs.CodeOf(err))
		require.Contains(t, errs.MessageOf(err), "is a directory")
	})

	t.Run("refuses a path that climbs out of the repository", func(t *testing.T) {
		_, err := c.GetFile(ctx, "billpay", "payments", "main", "../x.yaml")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})

	t.Run("fetches a file over the inline limit with the raw media type", func(t *testing.T) {
		fake.SetInlineLimit(64)
		t.Cleanup(func() { fake.SetInlineLimit(1 << 20) })
		big := strings.Repeat("x", 1000)
		fake.PutFile("billpay", "payments", "big.yaml", big)
		fake.ResetRequests()

		b, err := c.GetFile(ctx, "billpay", "payments", "main", "big.yaml")
		require.NoError(t, err)
		require.Equal(t, big, string(b))
		require.Equal(t, 2, fake.RequestCount(), "one JSON request, one raw request: %v", fake.Requests())
	})

	t.Run("refuses a file over MaxFileBytes", func(t *testing.T) {
		small := MustClient(t, fake, "")
		small.MaxFileBytes = 10
		_, err := small.GetFile(ctx, "billpay", "payments", "main", "catalog-info.yaml")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))

		fake.SetInlineLimit(4)
		t.Cleanup(func() { fake.SetInlineLimit(1 << 20) })
		_, err = small.GetFile(ctx, "billpay", "payments", "main", "catalog-info.yaml")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})
}

// TestClientAuth drives the real go-github client against the fake GitHub with a token required.
func TestClientAuth(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewServer(t)
	fake.AddRepo("billpay", "payments", "main")
	fake.PutFile("billpay", "payments", "catalog-info.yaml", "kind: Component\n")
	fake.RequireToken("ghp_right")

	t.Run("sends the token", func(t *testing.T) {
		_, err := MustClient(t, fake, "ghp_right").GetFile(ctx, "billpay", "payments", "", "catalog-info.yaml")
		require.NoError(t, err)
	})

	t.Run("reports a rejected token as unavailable, not as the caller's fault", func(t *testing.T) {
		_, err := MustClient(t, fake, "ghp_wrong").GetFile(ctx, "billpay", "payments", "", "catalog-info.yaml")
		require.Equal(t, errs.Unavailable, errs.CodeOf(err))
		require.Contains(t, errs.MessageOf(err), "Bad credentials")
	})
}

// TestClientRateLimit drives the real go-github client against the fake GitHub's rate limit responses.
func TestClientRateLimit(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewServer(t)
	fake.AddRepo("billpay", "payments", "main")
	fake.PutFile("billpay", "payments", "catalog-info.yaml", "kind: Component\n")
	c := MustClient(t, fake, "")

	reset := time.Now().Add(time.Hour).Truncate(time.Second)
	fake.ExhaustRateLimit(reset)

	t.Run("reports an exhausted rate limit as unavailable, with its reset time", func(t *testing.T) {
		_, err := c.GetFile(ctx, "billpay", "payments", "", "catalog-info.yaml")
		require.Equal(t, errs.Unavailable, errs.CodeOf(err))
		require.Contains(t, errs.MessageOf(err), "rate limit")
		require.Contains(t, errs.MessageOf(err), reset.UTC().Format(time.RFC3339))
	})

	t.Run("stops calling GitHub until the reset", func(t *testing.T) {
		before := fake.RequestCount()
		_, err := c.ListOrgRepos(ctx, "billpay")
		require.Equal(t, errs.Unavailable, errs.CodeOf(err))
		require.Equal(t, before, fake.RequestCount())
	})
}

// TestClientListOrgRepos drives the real go-github client through the fake GitHub's Link-header
// pagination.
func TestClientListOrgRepos(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewServer(t)
	for i := range 5 {
		fake.AddRepo("billpay", fmt.Sprintf("svc-%d", i), "main")
	}
	fake.AddRepo("other", "thing", "trunk")
	fake.Archive("billpay", "svc-1")
	fake.MarkFork("billpay", "svc-2")
	fake.SetMaxPerPage(2)
	c := MustClient(t, fake, "")

	t.Run("follows every page", func(t *testing.T) {
		fake.ResetRequests()
		repos, err := c.ListOrgRepos(ctx, "billpay")
		require.NoError(t, err)
		require.Len(t, repos, 5)
		require.Equal(t, 3, fake.RequestCount(), "5 repositories at 2 per page: %v", fake.Requests())
		for i, r := range repos {
			require.Equal(t, "billpay", r.Owner)
			require.Equal(t, fmt.Sprintf("svc-%d", i), r.Name)
			require.Equal(t, "main", r.DefaultBranch)
			require.Equal(t, i == 1, r.Archived)
			require.Equal(t, i == 2, r.Fork)
		}
	})

	t.Run("reports an unknown organization as not found", func(t *testing.T) {
		_, err := c.ListOrgRepos(ctx, "nobody")
		require.Equal(t, errs.NotFound, errs.CodeOf(err))
		require.Contains(t, errs.MessageOf(err), "organization nobody")
	})
}

func TestNewClient(t *testing.T) {
	t.Run("accepts a base URL that already ends in /api/v3/", func(t *testing.T) {
		fake := githubtest.NewServer(t)
		fake.AddRepo("billpay", "payments", "main")
		fake.PutFile("billpay", "payments", "catalog-info.yaml", "kind: Component\n")
		c, err := github.NewClient(fake.URL()+"/api/v3/", "", &http.Client{Timeout: 10 * time.Second})
		require.NoError(t, err)
		_, err = c.GetFile(context.Background(), "billpay", "payments", "", "catalog-info.yaml")
		require.NoError(t, err)
		require.Contains(t, fake.Requests()[0], "GET /api/v3/repos/")
	})

	t.Run("defaults to api.github.com", func(t *testing.T) {
		for _, base := range []string{"", "https://api.github.com/", "https://api.github.com"} {
			_, err := github.NewClient(base, "tok", nil)
			require.NoError(t, err, base)
		}
	})

	t.Run("refuses a base URL that is not absolute", func(t *testing.T) {
		_, err := github.NewClient("ghe.billpay.test", "", nil)
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})
}
