package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/github/githubtest"
	"github.com/billpay/portal/internal/kube/kubetest"
)

// webGet fetches a page the way a browser without a session does.
func webGet(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestWebPortalBesideTheAPI(t *testing.T) {
	m := billpayMain(t, func(c *config.Config) { c.Auth.Guest = true })
	c := &http.Client{}

	for path, want := range map[string]string{
		"/":                       "Welcome to BillPay",
		"/catalog?kind=Component": "Payment Service",
		"/catalog/default/component/payment-service": "Core payment processing",
		"/catalog/default/api/payments-api/api":      "POST",
		"/flags":                                     "new-checkout-flow",
		"/flags/production/refunds-enabled":          "refunds-enabled",
		"/settings":                                  "Personal access tokens belong to people",
		"/docs":                                      "Documented entities",
		"/create":                                    "Templates",
		"/deploys":                                   "Deploy a component",
	} {
		status, body := webGet(t, c, m.URL()+path)
		require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
		assert.Contains(t, body, want, path)
	}

	t.Run("HomeSearchesTheCatalogAndDocsThroughThePortalSearch", func(t *testing.T) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			status, body := webGet(t, c, m.URL()+"/?q=payment")
			require.Equal(t, http.StatusOK, status)
			require.Contains(t, body, "Search the catalog and docs")
			if strings.Contains(body, `href="/catalog/default/component/payment-service"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the search never found payment-service: %s", body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("TheAPIAndHealthAreUntouched", func(t *testing.T) {
		var page struct {
			TotalItems int `json:"totalItems"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/catalog/entities/by-query?limit=0", &page))
		assert.Equal(t, 56, page.TotalItems)
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/api/openapi.json"} {
			status, _ := webGet(t, c, m.URL()+path)
			assert.Equal(t, http.StatusOK, status, path)
		}
		status, body := webGet(t, c, m.URL()+"/api/nope")
		assert.Equal(t, http.StatusNotFound, status)
		assert.NotContains(t, body, "<html", "unknown API paths are not pages")
	})

	t.Run("StaticAssetsAndUnknownPages", func(t *testing.T) {
		status, _ := webGet(t, c, m.URL()+"/static/portal.css")
		assert.Equal(t, http.StatusOK, status)
		status, body := webGet(t, c, m.URL()+"/catalog/default/component/nope")
		assert.Equal(t, http.StatusNotFound, status)
		assert.Contains(t, body, "No entity named")
	})

	t.Run("PagesAreCountedInTheMetrics", func(t *testing.T) {
		_, body := webGet(t, c, m.URL()+"/metrics")
		assert.Contains(t, body, `route="/catalog/{namespace}/{kind}/{name}"`, "each page is its own route")
	})
}

// TestWebChangesGoThroughTheServicesAndTheAuditLog signs a person in, switches a flag and makes a token through
// the pages, and checks the API sees the same state and the audit log has both.
func TestWebChangesGoThroughTheServicesAndTheAuditLog(t *testing.T) {
	m := billpayMain(t, nil)
	cookie, csrf := signIn(t, m, "user:default/lucia.fernandez")
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	u, _ := url.Parse(m.URL())
	jar.SetCookies(u, []*http.Cookie{{Name: "portal_session", Value: cookie}})
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	status, body := webGet(t, c, m.URL()+"/flags/dev/new-checkout-flow")
	require.Equal(t, http.StatusOK, status)
	etag := html.UnescapeString(regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(body)[1])
	form := url.Values{"_csrf": {csrf}, "enabled": {"false"}, "etag": {etag}}
	resp, err := c.PostForm(m.URL()+"/flags/dev/new-checkout-flow/state", form)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	var flag struct {
		Definition struct {
			State string `json:"state"`
		} `json:"definition"`
		UpdatedBy string `json:"updatedBy"`
	}
	require.Equal(t, http.StatusOK, apiGet(t, m, "/api/flags/environments/dev/flags/new-checkout-flow", &flag))
	assert.Equal(t, "DISABLED", flag.Definition.State)
	assert.Equal(t, "user:default/lucia.fernandez", flag.UpdatedBy)

	resp, err = c.PostForm(m.URL()+"/flags/dev/new-checkout-flow/state", url.Values{"enabled": {"true"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token, no change")

	resp, err = c.PostForm(m.URL()+"/settings/tokens", url.Values{"_csrf": {csrf}, "name": {"laptop"}, "scope": {"catalog:read"}, "expiresInDays": {"7"}})
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", page)
	token := regexp.MustCompile(`value="(pat_[^"]+)"`).FindStringSubmatch(string(page))
	require.Len(t, token, 2)
	req, _ := http.NewRequest(http.MethodGet, m.URL()+"/api/auth/me", nil)
	req.Header.Set("Authorization", "Bearer "+token[1])
	me, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var who map[string]any
	require.NoError(t, json.NewDecoder(me.Body).Decode(&who))
	me.Body.Close()
	assert.Equal(t, "user:default/lucia.fernandez", who["subject"], "the token made on the page works against the API")

	var events struct {
		Items []struct {
			Action   string `json:"action"`
			Actor    string `json:"actor"`
			Path     string `json:"path"`
			Resource string `json:"resource"`
		} `json:"items"`
	}
	require.Equal(t, http.StatusOK, apiGet(t, m, "/api/audit?actor=user:default/lucia.fernandez", &events))
	var actions []string
	for _, e := range events.Items {
		actions = append(actions, e.Action+" "+e.Path)
	}
	assert.Contains(t, actions, "disableFlag /flags/dev/new-checkout-flow/state")
	assert.Contains(t, actions, "createAccessToken /settings/tokens")
}

// chromiumArgs are the flags every browser test runs Debian's chromium with.
var chromiumArgs = "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking " +
	"--disable-component-update --disable-sync"

// TestWebJourneysInChromium walks the portal's main journeys in headless Chromium, driven by playwright-core
// (test/compat/package.json), against a running Portal that signs people in through a GitHub fake: sign in, find
// a component by search and open its page and API, filter the catalog, create a service from a template and
// watch its task finish, evaluate a flag and switch it off and on again watching the preview change, create and
// revoke a personal access token, sign out. The steps are in
// test/compat/web/journeys.mjs; a screenshot of each page lands in test/web/out (kept out of git). In CI a missing
// browser or npm package fails the test; elsewhere it skips.
func TestWebJourneysInChromium(t *testing.T) {
	compat, node := browserSuite(t, "playwright-core")
	out, err := filepath.Abs("../../test/web/out")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(out, 0o755))

	gh := githubtest.NewServer(t)
	gh.EnableOAuth("portal-client-id", "portal-client-secret-0123456789",
		githubtest.OAuthUser{Login: "lucia-fernandez", Name: "Lucía Fernández", Orgs: []string{"billpay"}, Teams: []string{"billpay/payments"}})
	gh.SignInAs("lucia-fernandez")
	addr := freeAddr(t)
	// The deploy journey needs the local control plane; it runs wherever scripts/kube-testenv.sh built it (always in CI).
	deployJourney, kubeconfig := "0", ""
	if _, err := kubetest.BinDir(); err == nil || os.Getenv("CI") == "true" {
		deployJourney, kubeconfig = "1", journeyCluster(t)
	}
	m := billpayMain(t, func(c *config.Config) {
		c.Catalog.Locations = append(c.Catalog.Locations, fileLocation(t, "../../test/web/templates/hello.yaml"))
		if kubeconfig != "" {
			values := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(values, "dev.yaml"), []byte("defaults: {replicas: 1, progressDeadlineSeconds: 60}\n"), 0o644))
			c.Deploy.ValuesDir = values
			c.Deploy.Poll = config.Duration(200 * time.Millisecond)
			c.Deploy.Environments = []config.DeployEnvironment{
				{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: "local", Namespace: "billpay", Kubeconfig: kubeconfig}}
		}
		c.Listen, c.BaseURL = addr, "http://"+addr
		c.Auth.GitHub = config.AuthGitHub{ClientID: "portal-client-id", ClientSecret: "portal-client-secret-0123456789",
			WebBaseURL: gh.URL(), APIBaseURL: gh.URL(), AllowedOrganizations: []string{"billpay"}, Resolver: "annotation"}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "journeys.mjs"))
	cmd.Dir = compat
	cmd.Env = append(os.Environ(),
		"PORTAL_BASE_URL="+m.URL(),
		"CHROMIUM_PATH="+chromiumPath,
		"CHROMIUM_ARGS="+chromiumArgs,
		"SCREENSHOT_DIR="+out,
		"OFREP_CLIENT_KEY="+devClientKey,
		"DEPLOY_JOURNEY="+deployJourney,
	)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err = cmd.Run()
	t.Log(log.String())
	require.NoError(t, err, "the web journeys failed (output above)")
	shots, err := filepath.Glob(filepath.Join(out, "*.png"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(shots), 10, "a screenshot of each page: %s", strings.Join(shots, ", "))
}

// journeyCluster starts a control plane with kwok nodes and ECR on loopback holding payment-service 1.0.0 and 1.1.0,
// for the deploy journey; it returns the kubeconfig Portal reaches the cluster with.
func journeyCluster(t *testing.T) string {
	t.Helper()
	kenv := mustKubeEnv(t)
	fakeECR(t, "payment-service", "1.0.0", "1.1.0")
	billpayNamespace(t, kenv)
	return kenv.Kubeconfig
}
