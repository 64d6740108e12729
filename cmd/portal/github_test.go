package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/github/githubtest"
)

func catalogFile(name, owner string) string {
	return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name +
		"\nspec:\n  type: service\n  lifecycle: production\n  owner: " + owner + "\n"
}

// sendPush delivers a push webhook the way GitHub does: JSON body, event header, HMAC signature.
func sendPush(t *testing.T, m *Main, secret string, push githubtest.Push) int {
	t.Helper()
	payload := push.Payload()
	req, err := http.NewRequest(http.MethodPost, m.URL()+"/api/catalog/github/webhook", bytes.NewReader(payload))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "0b5c1a52-1e7b-4c9e-9a1b-9a3f5f0d8e11")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", githubtest.Sign([]byte(secret), payload))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	t.Logf("webhook answered %d: %s", resp.StatusCode, body)
	return resp.StatusCode
}

func waitForOwner(t *testing.T, m *Main, ref, owner string, timeout time.Duration) {
	t.Helper()
	kind, rest, _ := strings.Cut(ref, ":")
	ns, name, _ := strings.Cut(rest, "/")
	deadline := time.Now().Add(timeout)
	var last any
	for time.Now().Before(deadline) {
		var e map[string]any
		if apiGet(t, m, "/api/catalog/entities/by-name/"+kind+"/"+ns+"/"+name, &e) == http.StatusOK {
			last = e["spec"].(map[string]any)["owner"]
			if last == owner {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s has owner %v after %s, want %s", ref, last, timeout, owner)
}

// TestGitHubDiscoveryAndWebhook runs GitHub discovery and the push webhook against a fake GitHub on
// loopback that speaks GitHub's REST wire protocol, driven through the real go-github client.
func TestGitHubDiscoveryAndWebhook(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddRepo("billpay", "payment-service", "main")
	gh.PutFile("billpay", "payment-service", "catalog-info.yaml", catalogFile("payment-service", "payments-team"))
	gh.AddRepo("billpay", "no-catalog", "main")
	const secret = "webhook-secret-for-tests"

	m := MustRunMain(t, func(c *config.Config) {
		c.GitHub.Integrations = []config.GitHubIntegration{{Host: "github.com", APIBaseURL: gh.URL(), Token: "ghp_test"}}
		c.GitHub.WebhookSecret = secret
		c.GitHub.Providers = []config.GitHubProvider{{Name: "billpay", Organization: "billpay", Interval: config.Duration(time.Hour)}}
	})

	t.Run("discovery finds the catalog file of every repository", func(t *testing.T) {
		waitForOwner(t, m, "component:default/payment-service", "payments-team", 10*time.Second)
	})

	t.Run("a push that changes the file is reflected within seconds", func(t *testing.T) {
		gh.PutFile("billpay", "payment-service", "catalog-info.yaml", catalogFile("payment-service", "platform-team"))
		code := sendPush(t, m, secret, githubtest.Push{Owner: "billpay", Repo: "payment-service", Ref: "refs/heads/main",
			DefaultBranch: "main", Commits: []githubtest.Commit{{Modified: []string{"catalog-info.yaml"}}}})
		require.Equal(t, http.StatusAccepted, code)
		waitForOwner(t, m, "component:default/payment-service", "platform-team", 5*time.Second)
	})

	t.Run("a push that adds a catalog file runs discovery again", func(t *testing.T) {
		gh.PutFile("billpay", "no-catalog", "catalog-info.yaml", catalogFile("user-service", "identity-team"))
		code := sendPush(t, m, secret, githubtest.Push{Owner: "billpay", Repo: "no-catalog", Ref: "refs/heads/main",
			DefaultBranch: "main", Commits: []githubtest.Commit{{Added: []string{"catalog-info.yaml"}}}})
		require.Equal(t, http.StatusAccepted, code)
		waitForOwner(t, m, "component:default/user-service", "identity-team", 5*time.Second)
	})

	t.Run("a delivery with a wrong signature is refused", func(t *testing.T) {
		code := sendPush(t, m, "not-the-secret", githubtest.Push{Owner: "billpay", Repo: "payment-service", Ref: "refs/heads/main"})
		require.Equal(t, http.StatusUnauthorized, code)
		code = sendPush(t, m, "", githubtest.Push{Owner: "billpay", Repo: "payment-service", Ref: "refs/heads/main"})
		require.Equal(t, http.StatusUnauthorized, code)
	})
}
