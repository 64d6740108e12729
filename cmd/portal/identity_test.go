package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/github/githubtest"
	"github.com/billpay/portal/internal/httpapi"
)

// billpayMain starts a portal with BillPay's catalog and flags and guest access off.
func billpayMain(t *testing.T, mutate func(*config.Config)) *Main {
	t.Helper()
	m := runFlagsMain(t, func(c *config.Config) {
		c.Catalog.Locations = []config.Location{fileLocation(t, "../../catalog-info/all.yaml")}
		c.Auth.Guest = false
		c.Auth.AdminGroups = []string{"group:default/platform-team"}
		if mutate != nil {
			mutate(c)
		}
	})
	waitForSettled(t, m, 30*time.Second)
	return m
}

// signIn starts a session for a catalog user directly, for tests about what people may do rather than how
// they sign in (TestGitHubSignIn covers that).
func signIn(t *testing.T, m *Main, userRef string) (cookie, csrf string) {
	t.Helper()
	cookie, sess, err := m.Auth.StartSession(context.Background(), userRef, "", time.Hour)
	require.NoError(t, err)
	return cookie, sess.CSRF
}

func withSession(cookie, csrf string) []string {
	return []string{"Cookie", "portal_session=" + cookie, "X-CSRF-Token", csrf, "Content-Type", "application/json"}
}

func TestMutatingRoutesRequireAuthorization(t *testing.T) {
	// Dozens of deliberate failures from one address would otherwise trip the failed-authentication throttle.
	m := billpayMain(t, func(c *config.Config) { c.Auth.RateLimit.FailedAuthPerMinute = 0 })
	cookie, csrf := signIn(t, m, "user:default/lucia.fernandez")
	r := call(t, http.MethodPost, m.URL()+"/api/auth/tokens", `{"name":"reader","scopes":["catalog:read"],"expiresInDays":1}`, withSession(cookie, csrf)...)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	readOnly := r.json(t)["token"].(string)

	expired := auth.PersonalTokenPrefix + "expired-0123456789abcdefghijklmnopqrstuvwxyz"
	require.NoError(t, m.Store.CreateAccessToken(context.Background(), auth.AccessToken{ID: "tok_expired", Name: "old", Owner: "user:default/lucia.fernandez",
		Scopes: auth.AllScopes, CreatedAt: time.Now().Add(-48 * time.Hour), ExpiresAt: time.Now().Add(-24 * time.Hour)}, auth.HashSecret(expired)))

	// Reads that carry a body and the token routes (decided by the token rules) are not changes to refuse by scope.
	notScoped := func(opID string) bool {
		perm, ok := httpapi.PermissionOf(opID)
		return ok && (perm == auth.CatalogRead || perm == auth.TokenManage)
	}
	checked := 0
	for path, item := range m.Server.API().OpenAPI().Paths {
		for method, op := range map[string]*huma.Operation{http.MethodPost: item.Post, http.MethodPut: item.Put, http.MethodDelete: item.Delete, http.MethodPatch: item.Patch} {
			if op == nil || !strings.HasPrefix(path, "/api/") || strings.Contains(path, "/github/") {
				continue
			}
			opID := op.OperationID
			url := m.URL() + strings.NewReplacer("{environment}", "dev", "{key}", "refunds-enabled", "{id}", "x", "{uid}", "x",
				"{kind}", "component", "{namespace}", "default", "{name}", "payment-service").Replace(path)
			body := `{}`
			t.Run(method+" "+path, func(t *testing.T) {
				for name, header := range map[string]string{"no token": "", "a bad token": "Bearer nope-nope-nope-nope", "an expired token": "Bearer " + expired} {
					var headers []string
					if header != "" {
						headers = []string{"Authorization", header}
					}
					got := call(t, method, url, body, append(headers, "Content-Type", "application/json")...)
					require.Equal(t, http.StatusUnauthorized, got.status, "%s: %s", name, got.body)
				}
				if _, declared := httpapi.PermissionOf(opID); !declared {
					t.Fatalf("%s has no permission rule: add it to mutatingPermissions", opID)
				}
				if !notScoped(opID) {
					got := call(t, method, url, body, "Authorization", "Bearer "+readOnly, "Content-Type", "application/json")
					require.Equal(t, http.StatusForbidden, got.status, "a catalog:read token: %s", got.body)
					require.Contains(t, string(got.body), "scope")
				}
			})
			checked++
		}
	}
	require.Greater(t, checked, 15, "every mutating route was tried")
}

func TestFlagOwnershipOverHTTP(t *testing.T) {
	m := billpayMain(t, nil)
	lucia, luciaCSRF := signIn(t, m, "user:default/lucia.fernandez") // payments-team
	base := m.URL() + "/api/flags/environments/production/flags/"

	r := call(t, http.MethodPost, base+"new-checkout-flow/disable", "", withSession(lucia, luciaCSRF)...)
	require.Equal(t, http.StatusOK, r.status, "payments-team owns new-checkout-flow: %s", r.body)

	r = call(t, http.MethodPost, base+"refunds-enabled/disable", "", withSession(lucia, luciaCSRF)...)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Contains(t, string(r.body), "flags.flag.write")
	require.Contains(t, string(r.body), "group:default/admin-team")

	r = call(t, http.MethodPost, base+"new-checkout-flow/enable", "", "Cookie", "portal_session="+lucia)
	require.Equal(t, http.StatusForbidden, r.status, "a cookie without the CSRF token changes nothing")
	require.Contains(t, string(r.body), "CSRF")

	r = call(t, http.MethodPut, base+"new-checkout-flow",
		`{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","metadata":{"owner":"group:default/admin-team"}}`, withSession(lucia, luciaCSRF)...)
	require.Equal(t, http.StatusForbidden, r.status, "a flag cannot be handed to a group one is not in")

	var events struct {
		Items []map[string]any `json:"items"`
	}
	require.Equal(t, http.StatusOK, apiGet(t, m, "/api/audit?resource=flag:production/new-checkout-flow", &events))
	require.NotEmpty(t, events.Items)
	e := events.Items[len(events.Items)-1]
	require.Equal(t, "user:default/lucia.fernandez", e["actor"])
	require.Equal(t, "disableFlag", e["action"])
	require.Equal(t, "session", e["via"])
	require.EqualValues(t, 200, e["status"])
	require.Equal(t, "127.0.0.1", e["remote"])
	require.Contains(t, string(mustJSON(e["before"])), `"ENABLED"`)
	require.Contains(t, string(mustJSON(e["after"])), `"DISABLED"`)

	var denied struct {
		Items []map[string]any `json:"items"`
	}
	apiGet(t, m, "/api/audit?actor=user:default/lucia.fernandez&action=putFlag", &denied)
	require.Len(t, denied.Items, 1, "refused attempts are recorded too")
	require.EqualValues(t, 403, denied.Items[0]["status"])
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestGitHubSignIn(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.EnableOAuth("portal-client-id", "portal-client-secret-0123456789",
		githubtest.OAuthUser{Login: "lucia-fernandez", Name: "Lucía Fernández", Orgs: []string{"billpay"}, Teams: []string{"billpay/payments"}},
		githubtest.OAuthUser{Login: "stranger", Orgs: []string{"elsewhere"}},
		githubtest.OAuthUser{Login: "no-catalog-user", Orgs: []string{"billpay"}})
	// The OAuth redirect URI is built from baseUrl, so the portal's address must be known before it starts.
	addr := freeAddr(t)
	m := billpayMain(t, func(c *config.Config) {
		c.Listen, c.BaseURL = addr, "http://"+addr
		c.Auth.GitHub = config.AuthGitHub{ClientID: "portal-client-id", ClientSecret: "portal-client-secret-0123456789",
			WebBaseURL: gh.URL(), APIBaseURL: gh.URL(), AllowedOrganizations: []string{"billpay"}, Resolver: "annotation"}
	})

	browser := func() *http.Client {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		return &http.Client{Jar: jar}
	}

	t.Run("a catalog user signs in, acts with CSRF protection, and signs out", func(t *testing.T) {
		gh.SignInAs("lucia-fernandez")
		c := browser()
		resp, err := c.Get(m.URL() + "/api/auth/github/start?returnTo=/catalog/default/component/payment-service")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, "/catalog/default/component/payment-service", resp.Request.URL.Path, "back where the person started")

		var me map[string]any
		resp = getJSON(t, c, m.URL()+"/api/auth/me", &me)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "user:default/lucia.fernandez", me["subject"])
		require.Equal(t, "session", me["via"])
		require.Contains(t, me["ownership"], "group:default/payments-team")
		csrf := me["csrfToken"].(string)
		require.NotEmpty(t, csrf)

		u, _ := url.Parse(m.URL())
		var session *http.Cookie
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == "portal_session" {
				session = ck
			}
		}
		require.NotNil(t, session)

		req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/flags/environments/dev/flags/new-checkout-flow/disable", nil)
		resp, err = c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")
		req, _ = http.NewRequest(http.MethodPost, m.URL()+"/api/flags/environments/dev/flags/new-checkout-flow/disable", nil)
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err = c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)

		req, _ = http.NewRequest(http.MethodPost, m.URL()+"/api/auth/signout", nil)
		req.Header.Set("X-CSRF-Token", csrf)
		resp, err = c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp = getJSON(t, c, m.URL()+"/api/auth/me", nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "signed out")
		replay := call(t, http.MethodGet, m.URL()+"/api/auth/me", "", "Cookie", "portal_session="+session.Value)
		require.Equal(t, http.StatusUnauthorized, replay.status, "the old cookie is dead on the server, not just in the browser")
	})

	t.Run("outsiders and people without a catalog User are refused", func(t *testing.T) {
		for login, want := range map[string]string{"stranger": "not a member of an organization", "no-catalog-user": "no catalog User"} {
			gh.SignInAs(login)
			resp, err := browser().Get(m.URL() + "/api/auth/github/start")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
			require.Contains(t, string(body), want)
		}
	})

	t.Run("a callback without the state cookie, or with another state, is refused", func(t *testing.T) {
		gh.SignInAs("lucia-fernandez")
		c := browser()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Get(m.URL() + "/api/auth/github/start")
		require.NoError(t, err)
		resp.Body.Close()
		authorize := resp.Header.Get("Location")
		require.Contains(t, authorize, "code_challenge_method=S256")
		require.NotContains(t, authorize, "client_secret")
		resp, err = c.Get(authorize)
		require.NoError(t, err)
		resp.Body.Close()
		callback := resp.Header.Get("Location")
		forged := strings.Replace(callback, "state=", "state=x", 1)
		resp, err = c.Get(forged)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		other := browser()
		other.CheckRedirect = c.CheckRedirect
		resp, err = other.Get(callback)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "login CSRF: a code delivered to another browser")
	})

	t.Run("open redirects are refused", func(t *testing.T) {
		gh.SignInAs("lucia-fernandez")
		resp, err := browser().Get(m.URL() + "/api/auth/github/start?returnTo=//evil.example/")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, "/", resp.Request.URL.Path)
		require.Equal(t, strings.TrimPrefix(m.URL(), "http://"), resp.Request.URL.Host)
	})
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func getJSON(t *testing.T, c *http.Client, url string, out any) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(body, out), "%s", body)
	}
	return resp
}

func TestFailedAuthenticationIsThrottled(t *testing.T) {
	m := billpayMain(t, func(c *config.Config) { c.Auth.RateLimit.FailedAuthPerMinute = 5 })
	var last httpResult
	for range 8 {
		last = call(t, http.MethodGet, m.URL()+"/api/catalog/entities?limit=1", "", "Authorization", "Bearer guess-guess-guess-guess")
	}
	require.Equal(t, http.StatusTooManyRequests, last.status)
	require.NotEmpty(t, last.header.Get("Retry-After"))
	good := call(t, http.MethodGet, m.URL()+"/api/catalog/entities?limit=1", "", "Authorization", "Bearer "+testToken)
	require.Equal(t, http.StatusTooManyRequests, good.status, "the address is throttled until it cools down, whatever it sends")
}

func TestMutationsAreRateLimitedPerPrincipal(t *testing.T) {
	m := billpayMain(t, func(c *config.Config) { c.Auth.RateLimit.MutationsPerSecond, c.Auth.RateLimit.MutationBurst = 0.1, 3 })
	lucia, csrf := signIn(t, m, "user:default/lucia.fernandez")
	var last httpResult
	for i := range 4 {
		state := "enable"
		if i%2 == 0 {
			state = "disable"
		}
		last = call(t, http.MethodPost, m.URL()+"/api/flags/environments/dev/flags/new-checkout-flow/"+state, "", withSession(lucia, csrf)...)
	}
	require.Equal(t, http.StatusTooManyRequests, last.status)
	require.NotEmpty(t, last.header.Get("Retry-After"))
	other := call(t, http.MethodPost, m.URL()+"/api/flags/environments/dev/flags/new-checkout-flow/enable", "", "Authorization", "Bearer "+testToken)
	require.Equal(t, http.StatusOK, other.status, "limits are per principal: %s", other.body)
	read := call(t, http.MethodGet, m.URL()+"/api/flags/environments", "", "Cookie", "portal_session="+lucia)
	require.Equal(t, http.StatusOK, read.status, "reads are not limited")
}

// TestSecretsNeverLogged runs every kind of credential through a portal logging at debug level, including in
// places they do not belong, and checks that none appears in the logs or in error bodies.
func TestSecretsNeverLogged(t *testing.T) {
	gh := githubtest.NewServer(t)
	const clientSecret = "oauth-client-secret-4c7d1e9a"
	gh.EnableOAuth("client-id", clientSecret, githubtest.OAuthUser{Login: "lucia-fernandez", Orgs: []string{"billpay"}})
	gh.SignInAs("lucia-fernandez")
	addr := freeAddr(t)
	var logs syncBuffer
	cfg := config.Default()
	cfg.Listen, cfg.BaseURL, cfg.DataDir, cfg.Log.Level = addr, "http://"+addr, t.TempDir(), "debug"
	cfg.Auth.Tokens = []config.Token{{Token: "static-secret-token-91b2c3", Subject: "ci", Admin: true}, {Token: testToken, Subject: "test", Admin: true}}
	cfg.Auth.GitHub = config.AuthGitHub{ClientID: "client-id", ClientSecret: clientSecret, WebBaseURL: gh.URL(), APIBaseURL: gh.URL(), Resolver: "annotation"}
	cfg.Catalog.Locations = []config.Location{fileLocation(t, "../../catalog-info/all.yaml")}
	cfg.Flags.Environments = []config.FlagEnvironment{{Name: "dev", ClientKeys: []string{"client-key-secret-77aa01"}}, {Name: "production", ServerKeys: []string{"server-key-secret-88bb02"}}}
	cfg.GitHub.WebhookSecret = "webhook-secret-99cc03"
	require.NoError(t, cfg.Validate())
	m := NewMain(cfg, &logs)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	waitForSettled(t, m, 30*time.Second)

	var bodies []string
	record := func(r httpResult) { bodies = append(bodies, string(r.body)) }
	record(call(t, http.MethodGet, m.URL()+"/api/catalog/entities?limit=1", "", "Authorization", "Bearer static-secret-token-91b2c3"))
	record(call(t, http.MethodGet, m.URL()+"/api/catalog/entities?limit=1", "", "Authorization", "Bearer static-secret-token-91b2c4"))
	record(call(t, http.MethodGet, m.URL()+"/api/catalog/entities?token=static-secret-token-91b2c3", "", "Authorization", "Basic c3RhdGljLXNlY3JldA=="))
	record(call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags", `{}`, "X-API-Key", "client-key-secret-77aa01"))
	record(call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/x", `{}`, "Authorization", "Bearer server-key-secret-88bb02"))
	record(call(t, http.MethodPost, m.URL()+"/ofrep/v1/evaluate/flags/x", `{}`, "X-API-Key", "server-key-secret-88bb0X"))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(m.URL() + "/api/auth/github/start")
	require.NoError(t, err)
	resp.Body.Close()
	var me map[string]any
	getJSON(t, browser, m.URL()+"/api/auth/me", &me)
	require.Equal(t, "user:default/lucia.fernandez", me["subject"])
	req, _ := http.NewRequest(http.MethodPost, m.URL()+"/api/auth/tokens", strings.NewReader(`{"name":"ci","scopes":["catalog:read"],"expiresInDays":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", me["csrfToken"].(string))
	resp, err = browser.Do(req)
	require.NoError(t, err)
	var created map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	resp.Body.Close()
	pat := created["token"].(string)
	record(call(t, http.MethodGet, m.URL()+"/api/catalog/entities?limit=1", "", "Authorization", "Bearer "+pat))
	record(call(t, http.MethodPost, m.URL()+"/api/catalog/locations", `{"type":"url","target":"https://x.example/a.yaml"}`, "Authorization", "Bearer "+pat, "Content-Type", "application/json"))
	record(call(t, http.MethodGet, m.URL()+"/api/catalog/entities?limit=1", "", "Authorization", "Bearer "+pat+"x"))
	u, _ := url.Parse(m.URL())
	var session string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "portal_session" {
			session = ck.Value
		}
	}
	require.NotEmpty(t, session)
	require.NoError(t, m.Close())

	secrets := append([]string{"static-secret-token-91b2c3", "static-secret-token-91b2c4", "client-key-secret-77aa01", "server-key-secret-88bb02",
		"server-key-secret-88bb0X", clientSecret, "webhook-secret-99cc03", pat, session, me["csrfToken"].(string)}, gh.IssuedTokens()...)
	out := logs.String()
	require.Contains(t, out, `"route":"/api/auth/github/callback"`, "the logs were captured")
	for _, s := range secrets {
		require.NotContains(t, out, s, "a secret reached the logs")
		for _, b := range bodies {
			require.NotContains(t, b, s, "a secret was echoed in a response")
		}
	}
}

func TestCatalogChangesAreAuditedPerEntity(t *testing.T) {
	m := billpayMain(t, nil)
	r := call(t, http.MethodPost, m.URL()+"/api/catalog/refresh", `{"entityRef":"component:default/payment-service"}`,
		"Authorization", "Bearer "+testToken, "Content-Type", "application/json")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var e map[string]any
	require.Equal(t, http.StatusOK, apiGet(t, m, "/api/catalog/entities/by-name/component/default/admin-service", &e))
	uid := e["metadata"].(map[string]any)["uid"].(string)
	r = call(t, http.MethodDelete, m.URL()+"/api/catalog/entities/by-uid/"+uid, "", "Authorization", "Bearer "+testToken)
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)

	var events struct {
		Items []map[string]any `json:"items"`
	}
	apiGet(t, m, "/api/audit?resource=component:default/payment-service", &events)
	require.Len(t, events.Items, 1)
	require.Equal(t, "refreshEntity", events.Items[0]["action"])
	apiGet(t, m, "/api/audit?resource=component:default/admin-service", &events)
	require.Len(t, events.Items, 1)
	require.Equal(t, "deleteEntityByUid", events.Items[0]["action"])
	require.Equal(t, "test", events.Items[0]["actor"])
	require.Contains(t, string(mustJSON(events.Items[0]["before"])), `"admin-service"`, "the deleted entity is kept in the log")

	cookie, _ := signIn(t, m, "user:default/lucia.fernandez")
	page := call(t, http.MethodGet, m.URL()+"/catalog/default/component/payment-service/inspect", "", "Cookie", "portal_session="+cookie)
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, string(page.body), "History")
	require.Contains(t, string(page.body), "refreshEntity", "the entity page shows its audit entries")
}
