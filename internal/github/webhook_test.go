package github_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/github"
	"github.com/billpay/portal/internal/github/githubtest"
)

// TestParsePush checks deliveries signed the way GitHub signs them (githubtest.Sign) against
// go-github's ValidatePayload and ParseWebHook.
func TestParsePush(t *testing.T) {
	secret := []byte("It's a Secret to Everybody")
	push := githubtest.Push{
		Owner: "billpay", Repo: "payments", Ref: "refs/heads/main", DefaultBranch: "main",
		Commits: []githubtest.Commit{
			{Added: []string{"catalog-info.yaml"}, Modified: []string{"README.md"}},
			{Modified: []string{"README.md", "services/api/openapi.yaml"}, Removed: []string{"old.yaml"}},
		},
	}.Payload()

	t.Run("accepts a signed push and gathers the files of every commit", func(t *testing.T) {
		ev, ok, err := github.ParsePush(githubtest.NewWebhookRequest("push", push, secret), secret)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, source.PushEvent{
			Host:          "github.com",
			Repo:          "billpay/payments",
			Ref:           "refs/heads/main",
			DefaultBranch: "main",
			Added:         []string{"catalog-info.yaml"},
			Modified:      []string{"README.md", "services/api/openapi.yaml"},
			Removed:       []string{"old.yaml"},
		}, ev)
	})

	t.Run("takes the host from the repository's html_url", func(t *testing.T) {
		p := githubtest.Push{Host: "ghe.billpay.test", Owner: "platform", Repo: "infra", Ref: "refs/heads/trunk", DefaultBranch: "trunk"}.Payload()
		ev, ok, err := github.ParsePush(githubtest.NewWebhookRequest("push", p, secret), secret)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "ghe.billpay.test", ev.Host)
	})

	t.Run("accepts a form-encoded delivery", func(t *testing.T) {
		body := []byte("payload=" + url.QueryEscape(string(push)))
		r := githubtest.NewWebhookRequest("push", body, secret)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ev, ok, err := github.ParsePush(r, secret)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "billpay/payments", ev.Repo)
	})

	t.Run("ignores a ping", func(t *testing.T) {
		ping := []byte(`{"zen":"Design for failure.","hook_id":292430182,"hook":{"type":"Organization","id":292430182,"active":true,"events":["push"]}}`)
		_, ok, err := github.ParsePush(githubtest.NewWebhookRequest("ping", ping, secret), secret)
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("ignores other events", func(t *testing.T) {
		_, ok, err := github.ParsePush(githubtest.NewWebhookRequest("issues", []byte(`{"action":"opened"}`), secret), secret)
		require.NoError(t, err)
		require.False(t, ok)
	})

	t.Run("rejects a delivery signed with another secret", func(t *testing.T) {
		_, _, err := github.ParsePush(githubtest.NewWebhookRequest("push", push, []byte("guess")), secret)
		require.Equal(t, errs.Unauthenticated, errs.CodeOf(err))
	})

	t.Run("rejects a delivery whose body was changed after signing", func(t *testing.T) {
		r := githubtest.NewWebhookRequest("push", push, secret)
		r.Body = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(bytes.Replace(push, []byte("payments"), []byte("payroll"), 1))).Body
		_, _, err := github.ParsePush(r, secret)
		require.Equal(t, errs.Unauthenticated, errs.CodeOf(err))
	})

	t.Run("rejects an unsigned delivery, even a ping", func(t *testing.T) {
		for _, event := range []string{"push", "ping"} {
			_, _, err := github.ParsePush(githubtest.NewWebhookRequest(event, push, nil), secret)
			require.Equal(t, errs.Unauthenticated, errs.CodeOf(err), event)
		}
	})

	t.Run("rejects a delivery signed only with SHA-1", func(t *testing.T) {
		r := githubtest.NewWebhookRequest("push", push, nil)
		r.Header.Set("X-Hub-Signature", "sha1=0000000000000000000000000000000000000000")
		_, _, err := github.ParsePush(r, secret)
		require.Equal(t, errs.Unauthenticated, errs.CodeOf(err))
	})

	t.Run("rejects every delivery when no secret is configured", func(t *testing.T) {
		_, _, err := github.ParsePush(githubtest.NewWebhookRequest("push", push, secret), nil)
		require.Equal(t, errs.Unauthenticated, errs.CodeOf(err))
	})

	t.Run("reports a signed but malformed push as invalid", func(t *testing.T) {
		for name, body := range map[string][]byte{
			"bad JSON":      []byte(`{"ref":`),
			"no repository": []byte(`{"ref":"refs/heads/main"}`),
			"no ref":        []byte(`{"repository":{"full_name":"billpay/payments"}}`),
		} {
			_, _, err := github.ParsePush(githubtest.NewWebhookRequest("push", body, secret), secret)
			require.Equal(t, errs.Invalid, errs.CodeOf(err), name)
		}
	})

	t.Run("reports a missing event header or wrong content type as invalid", func(t *testing.T) {
		r := githubtest.NewWebhookRequest("", push, secret)
		_, _, err := github.ParsePush(r, secret)
		require.Equal(t, errs.Invalid, errs.CodeOf(err))

		r = githubtest.NewWebhookRequest("push", push, secret)
		r.Header.Set("Content-Type", "text/plain")
		_, _, err = github.ParsePush(r, secret)
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})
}

// TestPushToRefresh follows a delivery from the wire to the catalog's decision.
func TestPushToRefresh(t *testing.T) {
	secret := []byte("s3cret")
	deliver := func(t *testing.T, ref string, c githubtest.Commit) source.PushPlan {
		t.Helper()
		body := githubtest.Push{Owner: "billpay", Repo: "payments", Ref: ref, DefaultBranch: "main", Commits: []githubtest.Commit{c}}.Payload()
		ev, ok, err := github.ParsePush(githubtest.NewWebhookRequest("push", body, secret), secret)
		require.NoError(t, err)
		require.True(t, ok)
		return source.PlanPush(ev, "")
	}

	t.Run("a new catalog file on the default branch re-runs discovery", func(t *testing.T) {
		p := deliver(t, "refs/heads/main", githubtest.Commit{Added: []string{"catalog-info.yaml"}})
		require.True(t, p.Rediscover)
		require.Equal(t, []string{"https://github.com/billpay/payments/blob/main/catalog-info.yaml"}, p.Refresh)
	})

	t.Run("an edited API spec refreshes what reads it, without discovery", func(t *testing.T) {
		p := deliver(t, "refs/heads/main", githubtest.Commit{Modified: []string{"services/api/openapi.yaml"}})
		require.False(t, p.Rediscover)
		require.True(t, p.Affects("https://github.com/billpay/payments/blob/main/services/api/openapi.yaml"))
		require.False(t, p.Affects("https://github.com/billpay/payments/blob/main/catalog-info.yaml"))
	})

	t.Run("a catalog file on a feature branch touches only that branch", func(t *testing.T) {
		p := deliver(t, "refs/heads/feature/x", githubtest.Commit{Added: []string{"catalog-info.yaml"}})
		require.False(t, p.Rediscover)
		require.False(t, p.Affects("https://github.com/billpay/payments/blob/main/catalog-info.yaml"))
		require.Equal(t, []string{"https://github.com/billpay/payments/blob/feature/x/catalog-info.yaml"}, p.Refresh)
		require.True(t, p.Affects(p.Refresh[0]), "a ref with a slash still matches its own targets")
		require.True(t, p.Affects("https://github.com/billpay/payments/tree/feature/x"))
	})
}
