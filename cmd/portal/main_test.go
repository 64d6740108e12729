package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
)

const testToken = "test-token-0123456789abcdef"

// MustRunMain starts the real Main on a free loopback port with a temporary SQLite database (or
// the PostgreSQL schema in dbURL) and stops it when the test ends.
func MustRunMain(t testing.TB, mutate func(*config.Config)) *Main {
	t.Helper()
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "error"
	cfg.Auth.Tokens = []config.Token{{Token: testToken, Subject: "test", Admin: true}}
	cfg.Catalog.ProcessingInterval = config.Duration(time.Hour)
	if mutate != nil {
		mutate(&cfg)
	}
	require.NoError(t, cfg.Validate())
	m := NewMain(cfg, io.Discard)
	if testing.Verbose() {
		m = NewMain(cfg, os.Stderr)
	}
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

// fileLocation is a config location reading path with every kind allowed.
func fileLocation(t testing.TB, path string) config.Location {
	abs, err := filepath.Abs(path)
	require.NoError(t, err)
	return config.Location{Type: "file", Target: abs, Rules: []config.Rule{{Allow: []string{
		"Component", "API", "Resource", "System", "Domain", "Group", "User", "Location", "Template"}}}}
}

// apiGet fetches a path with the test token and decodes the JSON answer into out.
func apiGet(t testing.TB, m *Main, path string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, m.URL()+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && len(body) > 0 {
		require.NoError(t, json.Unmarshal(body, out), "body: %s", body)
	}
	return resp.StatusCode
}

// waitForTotal polls until the catalog holds want entities.
func waitForTotal(t testing.TB, m *Main, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got struct {
		TotalItems int `json:"totalItems"`
	}
	for time.Now().Before(deadline) {
		apiGet(t, m, "/api/catalog/entities/by-query?limit=0", &got)
		if got.TotalItems == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("catalog has %d entities after %s, want %d", got.TotalItems, timeout, want)
}

func TestBillPayCatalogLoads(t *testing.T) {
	m := MustRunMain(t, func(c *config.Config) {
		c.Catalog.Locations = []config.Location{fileLocation(t, "../../catalog-info/all.yaml")}
	})
	waitForTotal(t, m, 56, 20*time.Second)

	var e map[string]any
	require.Equal(t, http.StatusOK, apiGet(t, m, "/api/catalog/entities/by-name/component/default/payment-service", &e))
	md := e["metadata"].(map[string]any)
	require.NotEmpty(t, md["uid"])
	require.NotEmpty(t, md["etag"])
	ann := md["annotations"].(map[string]any)
	require.True(t, strings.HasPrefix(ann["backstage.io/managed-by-location"].(string), "file:"))
	require.True(t, strings.HasSuffix(ann["backstage.io/managed-by-origin-location"].(string), "catalog-info/all.yaml"))
	_, hasStatus := e["status"]
	require.False(t, hasStatus, "payment-service has processing errors: %v", e["status"])
}

// BenchmarkIngest measures ingest of the generated catalog in PORTAL_BENCH_CATALOG (a directory
// written by ../shared/bench/gen-catalog.mjs) to fully queryable.
func BenchmarkIngest(b *testing.B) {
	dir := os.Getenv("PORTAL_BENCH_CATALOG")
	if dir == "" {
		b.Skip("set PORTAL_BENCH_CATALOG to a directory made by gen-catalog.mjs")
	}
	var meta struct {
		N int `json:"N"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	require.NoError(b, err)
	require.NoError(b, json.Unmarshal(data, &meta))
	for b.Loop() {
		m := MustRunMain(b, func(c *config.Config) {
			c.Catalog.Locations = []config.Location{fileLocation(b, filepath.Join(dir, "all.yaml"))}
		})
		waitForTotal(b, m, meta.N+2, 5*time.Minute)
		require.NoError(b, m.Close())
	}
}
