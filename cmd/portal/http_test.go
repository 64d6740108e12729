package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
)

func do(t *testing.T, method, url, token, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func backstageErrorName(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
		Response struct {
			StatusCode int `json:"statusCode"`
		} `json:"response"`
	}
	require.NoError(t, json.Unmarshal(body, &e), "body: %s", body)
	require.NotEmpty(t, e.Error.Message)
	return e.Error.Name
}

func TestHTTPSurface(t *testing.T) {
	m := MustRunMain(t, func(c *config.Config) { c.Server.MaxBodyBytes = 1024 })
	base := m.URL()

	t.Run("health, readiness and metrics need no token", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			code, _, _ := do(t, http.MethodGet, base+path, "", "")
			require.Equal(t, http.StatusOK, code, path)
		}
		_, _, metrics := do(t, http.MethodGet, base+"/metrics", "", "")
		require.Contains(t, string(metrics), "portal_http_requests_total")
		require.Contains(t, string(metrics), "portal_catalog_entities_processed_total")
	})

	t.Run("the OpenAPI 3.1 description lists every catalog route", func(t *testing.T) {
		code, _, body := do(t, http.MethodGet, base+"/api/openapi.json", "", "")
		require.Equal(t, http.StatusOK, code)
		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		require.NoError(t, json.Unmarshal(body, &doc))
		require.Equal(t, "3.1.0", doc.OpenAPI)
		for path, methods := range map[string][]string{
			"/api/catalog/entities":                                            {"get"},
			"/api/catalog/entities/by-query":                                   {"get", "post"},
			"/api/catalog/entities/by-uid/{uid}":                               {"get", "delete"},
			"/api/catalog/entities/by-name/{kind}/{namespace}/{name}":          {"get"},
			"/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry": {"get"},
			"/api/catalog/entities/by-refs":                                    {"post"},
			"/api/catalog/entity-facets":                                       {"get", "post"},
			"/api/catalog/locations":                                           {"get", "post"},
			"/api/catalog/locations/{id}":                                      {"get", "put", "delete"},
			"/api/catalog/locations/by-entity/{kind}/{namespace}/{name}":       {"get"},
			"/api/catalog/refresh":                                             {"post"},
			"/api/catalog/validate-entity":                                     {"post"},
			"/api/catalog/analyze-location":                                    {"post"},
		} {
			for _, method := range methods {
				require.Contains(t, doc.Paths[path], method, "%s %s", method, path)
			}
		}
		code, _, yml := do(t, http.MethodGet, base+"/api/openapi.yaml", "", "")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, string(yml), "openapi: 3.1.0")
		code, _, _ = do(t, http.MethodGet, base+"/api/docs", "", "")
		require.Equal(t, http.StatusOK, code)
	})

	t.Run("API calls without a token are refused when guest access is off", func(t *testing.T) {
		code, hdr, body := do(t, http.MethodPost, base+"/api/catalog/locations", "", `{"type":"url","target":"https://example.com/x.yaml"}`)
		require.Equal(t, http.StatusUnauthorized, code)
		require.Equal(t, "AuthenticationError", backstageErrorName(t, body))
		require.Contains(t, hdr.Get("WWW-Authenticate"), "Bearer")
		code, _, _ = do(t, http.MethodGet, base+"/api/catalog/entities", "", "")
		require.Equal(t, http.StatusUnauthorized, code)
	})

	t.Run("a wrong token is refused", func(t *testing.T) {
		code, _, body := do(t, http.MethodGet, base+"/api/catalog/entities", "not-a-valid-token-at-all", "")
		require.Equal(t, http.StatusUnauthorized, code)
		require.Equal(t, "AuthenticationError", backstageErrorName(t, body))
	})

	t.Run("request bodies are size-limited", func(t *testing.T) {
		big := `{"entityRefs":["` + strings.Repeat("x", 4096) + `"]}`
		code, _, body := do(t, http.MethodPost, base+"/api/catalog/entities/by-refs", testToken, big)
		require.Equal(t, http.StatusRequestEntityTooLarge, code, "body: %s", body)
		require.Equal(t, "PayloadTooLargeError", backstageErrorName(t, body))
	})

	t.Run("bad parameters get 400 with Backstage's error body", func(t *testing.T) {
		for _, path := range []string{
			"/api/catalog/entities?limit=1.0", "/api/catalog/entities?order=sideways:name",
			"/api/catalog/entities?fields=spec.tags[0]", "/api/catalog/entities/by-query?cursor=not-a-cursor",
			"/api/catalog/entity-facets", "/api/catalog/entities?filter==x",
		} {
			code, _, body := do(t, http.MethodGet, base+path, testToken, "")
			require.Equal(t, http.StatusBadRequest, code, path)
			require.Equal(t, "InputError", backstageErrorName(t, body), path)
		}
		code, _, body := do(t, http.MethodPost, base+"/api/catalog/locations", testToken, `{"type":"url","target":"x","extra":1}`)
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "InputError", backstageErrorName(t, body))
		code, _, body = do(t, http.MethodPost, base+"/api/catalog/locations", testToken, `{not json`)
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "InputError", backstageErrorName(t, body))
	})

	t.Run("bodies on Backstage routes must be declared JSON", func(t *testing.T) {
		for ct, msg := range map[string]string{"": "Content-Type missing", "text/plain": "Illegal Content-Type"} {
			req, err := http.NewRequest(http.MethodPost, base+"/api/catalog/refresh", strings.NewReader(`{"entityRef":"component:default/x"}`))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+testToken)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode)
			require.Contains(t, string(body), msg)
		}
	})

	t.Run("unknown entities are 404 NotFoundError", func(t *testing.T) {
		code, _, body := do(t, http.MethodGet, base+"/api/catalog/entities/by-name/component/default/nope", testToken, "")
		require.Equal(t, http.StatusNotFound, code)
		require.Equal(t, "NotFoundError", backstageErrorName(t, body))
	})
}

func TestGuestAccess(t *testing.T) {
	m := MustRunMain(t, func(c *config.Config) { c.Auth.Guest = true })
	code, _, _ := do(t, http.MethodGet, m.URL()+"/api/catalog/entities", "", "")
	require.Equal(t, http.StatusOK, code, "guests may read")
	code, _, body := do(t, http.MethodPost, m.URL()+"/api/catalog/refresh", "", `{"entityRef":"component:default/none"}`)
	require.Equal(t, http.StatusNotFound, code, "guests may act: %s", body)
	code, _, _ = do(t, http.MethodGet, m.URL()+"/api/catalog/entities", "wrong-token-wrong-token", "")
	require.Equal(t, http.StatusUnauthorized, code, "a bad token is never downgraded to guest")

	req, err := http.NewRequest(http.MethodGet, m.URL()+"/api/catalog/entities", nil)
	require.NoError(t, err)
	req.Host = "attacker.example:7007"
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode, "guest access answers only to loopback names (DNS rebinding)")
}

func TestRegisterLocations(t *testing.T) {
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/catalog-info.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(catalogFile("registered", "team-a")))
	}))
	t.Cleanup(files.Close)
	m := MustRunMain(t, func(c *config.Config) { c.Reading.AllowPrivateNetworks = true })
	base := m.URL() + "/api/catalog/locations"
	body := `{"type":"url","target":"` + files.URL + `/catalog-info.yaml"}`

	code, _, first := do(t, http.MethodPost, base, testToken, body)
	require.Equal(t, http.StatusCreated, code, string(first))
	waitForOwner(t, m, "component:default/registered", "team-a", 10*time.Second)

	code, _, dup := do(t, http.MethodPost, base, testToken, body)
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, "ConflictError", backstageErrorName(t, dup))

	code, _, again := do(t, http.MethodPost, base+"?onConflict=refresh", testToken, body)
	require.Equal(t, http.StatusCreated, code, string(again))
	var a, b struct {
		Location struct{ ID string } `json:"location"`
	}
	require.NoError(t, json.Unmarshal(first, &a))
	require.NoError(t, json.Unmarshal(again, &b))
	require.Equal(t, a.Location.ID, b.Location.ID, "onConflict=refresh answers with the existing location")

	optional := `{"type":"url","target":"` + files.URL + `/not-yet.yaml","presence":"optional"}`
	code, _, created := do(t, http.MethodPost, base, testToken, optional)
	require.Equal(t, http.StatusCreated, code, string(created))
	var loc struct {
		Location struct{ EntityRef string } `json:"location"`
	}
	require.NoError(t, json.Unmarshal(created, &loc))
	name := strings.TrimPrefix(loc.Location.EntityRef, "location:default/")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var e map[string]any
		if apiGet(t, m, "/api/catalog/entities/by-name/location/default/"+name, &e) == http.StatusOK {
			require.Nil(t, e["status"], "a missing optional target is not an error")
			require.Equal(t, "optional", e["spec"].(map[string]any)["presence"])
			break
		}
		require.True(t, time.Now().Before(deadline))
		time.Sleep(20 * time.Millisecond)
	}
}
