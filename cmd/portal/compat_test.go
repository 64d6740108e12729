package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
)

// TestCatalogClientCompatibility drives the real @backstage/catalog-client from npm (pinned in
// test/compat/package.json) against a running portal, over HTTP on loopback. The suite itself is in
// test/compat/catalog; `make test` installs its packages. Outside CI a machine without them skips.
func TestCatalogClientCompatibility(t *testing.T) {
	compat, err := filepath.Abs("../../test/compat")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(compat, "node_modules", "@backstage", "catalog-client")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("test/compat/node_modules is missing: run make deps-npm")
		}
		t.Skip("npm packages not installed: run make deps-npm")
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is needed for the client compatibility suite")

	fixtures := filepath.Join(compat, "catalog", "fixtures")
	files := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(fixtures, "http"))))
	t.Cleanup(files.Close)

	m := MustRunMain(t, func(c *config.Config) {
		c.Catalog.Locations = []config.Location{fileLocation(t, filepath.Join(fixtures, "all.yaml"))}
		c.Reading.AllowPrivateNetworks = true // the fixture server is on loopback
	})
	waitForSettled(t, m, 30*time.Second)

	cmd := exec.Command(node, "--test", "--test-reporter=spec", "--test-concurrency=1", "catalog/")
	cmd.Dir = compat
	cmd.Env = append(os.Environ(),
		"PORTAL_BASE_URL="+m.URL(),
		"PORTAL_TOKEN="+testToken,
		"PORTAL_FIXTURE_HTTP="+files.URL,
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Log(out.String())
	require.NoError(t, err, "catalog-client compatibility suite failed")
}

// waitForSettled waits until the catalog has entities and their number stops changing.
func waitForSettled(t testing.TB, m *Main, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last, stable := -1, 0
	for time.Now().Before(deadline) {
		var got struct {
			TotalItems int `json:"totalItems"`
		}
		apiGet(t, m, "/api/catalog/entities/by-query?limit=0", &got)
		if got.TotalItems > 0 && got.TotalItems == last {
			stable++
			if stable >= 5 {
				return
			}
		} else {
			stable = 0
		}
		last = got.TotalItems
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("catalog did not settle within %s", timeout)
}
