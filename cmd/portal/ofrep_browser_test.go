package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// TestOFREPWebClientInChromium runs a page using @openfeature/web-sdk with @openfeature/ofrep-web-provider (pinned
// in test/compat/package.json) in headless Chromium, driven by playwright-core, against a running Portal. The page
// is served from an origin of its own, so CORS is exercised as in production. The steps and what they assert are
// in test/compat/ofrep/browser.mjs. In CI a missing browser or npm packages fail the test; elsewhere it skips.
// browserSuite returns test/compat and node for a test that drives Debian's chromium through npm packages of
// test/compat. In CI a missing browser or package fails the test; elsewhere it skips.
func browserSuite(t *testing.T, packages ...string) (compat, node string) {
	t.Helper()
	compat, err := filepath.Abs("../../test/compat")
	require.NoError(t, err)
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(what)
		}
		t.Skip(what)
	}
	for _, pkg := range packages {
		if _, err := os.Stat(filepath.Join(compat, "node_modules", pkg, "package.json")); err != nil {
			missing("npm package " + pkg + " is not installed: run make deps-npm")
		}
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing(chromiumPath + " is missing: apt-get install chromium")
	}
	node, err = exec.LookPath("node")
	require.NoError(t, err, "node is needed for the browser suite")
	return compat, node
}

func TestOFREPWebClientInChromium(t *testing.T) {
	compat, node := browserSuite(t, "@openfeature/ofrep-web-provider", "@openfeature/web-sdk", "playwright-core")

	// The page and the packages' ES modules, nothing else, from a second origin.
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(filepath.Join(compat, "ofrep", "page"))))
	mux.Handle("/node_modules/@openfeature/", http.StripPrefix("/node_modules/@openfeature/",
		http.FileServer(http.Dir(filepath.Join(compat, "node_modules", "@openfeature")))))
	pages := httptest.NewServer(mux)
	t.Cleanup(pages.Close)

	for _, cacheMode := range []string{"local-cache-first", "disabled"} {
		t.Run(cacheMode, func(t *testing.T) {
			m := MustRunMain(t, withOFREPKeys)
			MustImportFlags(t, m, "dev")

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join("ofrep", "browser.mjs"))
			cmd.Dir = compat
			cmd.Env = append(os.Environ(),
				"PORTAL_BASE_URL="+m.URL(),
				"PORTAL_TOKEN="+testToken,
				"OFREP_PAGE_URL="+pages.URL+"/index.html",
				"OFREP_CLIENT_KEY="+ofrepDevClientKey,
				"OFREP_CACHE_MODE="+cacheMode,
				"OFREP_EXPECT_ROLLOUT="+rolloutVariant("user-1"),
				"CHROMIUM_PATH="+chromiumPath,
			)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			t.Log(out.String())
			require.NoError(t, err, "the OFREP web provider suite failed (output above)")
		})
	}
}
