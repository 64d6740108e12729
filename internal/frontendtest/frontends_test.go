package frontendtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	chromiumPath = "/usr/bin/chromium"
	// devClientKey is the dev environment's OFREP client key in the Portal this test starts.
	devClientKey = "dev-client-key-frontends-e2e"
)

// apps are the four builds under frontends/dist, each served from an origin of its own as in production.
var apps = []string{"shell", "payment-app", "admin-panel", "feature-flags"}

// TestMicrofrontendsAgainstPortal builds and starts a real Portal (guest access on, BillPay's flags seeded from
// flags/) and a mock of BillPay's Backend API served from its OpenAPI definition by Prism (frontends/tools/
// mock-api.mjs), serves the production builds of the shell and the three remotes from four loopback origins of
// their own, and runs frontends/e2e/e2e.mjs (playwright-core driving Debian's chromium) twice: once against the
// running Portal, once after Portal has stopped (the mock keeps running). What each phase asserts is listed at the
// top of the script; screenshots land in frontends/test-output/ (or $FRONTENDS_TEST_OUTPUT).
//
// It builds no frontend itself: `make frontends` (run by .ci/run) installs and builds them. In CI missing builds,
// packages or browser fail the test; elsewhere it skips with the command to run.
func TestMicrofrontendsAgainstPortal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Portal and a browser")
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	frontends := filepath.Join(root, "frontends")
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(what)
		}
		t.Skip(what)
	}
	for _, app := range apps {
		if _, err := os.Stat(filepath.Join(frontends, "dist", app, "index.html")); err != nil {
			missing("frontends/dist/" + app + " is not built: run make frontends")
		}
	}
	for _, pkg := range []string{"playwright-core", "@stoplight/prism-cli"} {
		if _, err := os.Stat(filepath.Join(frontends, "node_modules", pkg, "package.json")); err != nil {
			missing("frontends/node_modules has no " + pkg + ": run make frontends")
		}
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing(chromiumPath + " is missing: apt-get install chromium")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}

	portal := startPortal(t, root)
	api := startMockAPI(t, frontends, node)

	out := os.Getenv("FRONTENDS_TEST_OUTPUT")
	if out == "" {
		out = filepath.Join(frontends, "test-output")
	}
	require.NoError(t, os.MkdirAll(out, 0o755))

	// Each app's origin gets its own config.json (Portal's URL, the dev client key and the Backend API mock's URL,
	// never baked into a build); the shell's manifest points at the three remote origins. /portal/ on every origin
	// proxies to Portal's management API, as CloudFront's behaviour (or the dev server's proxy.conf.json) does.
	servers := map[string]*httptest.Server{}
	for _, app := range apps {
		servers[app] = httptest.NewUnstartedServer(nil)
	}
	config, err := json.Marshal(map[string]any{
		"environment": "dev",
		"environments": map[string]any{
			"dev": map[string]string{"portalUrl": portal.String(), "ofrepClientKey": devClientKey, "portalApiUrl": "/portal", "apiBaseUrl": api.String()},
		},
	})
	require.NoError(t, err)
	manifest := map[string]any{}
	for app, route := range map[string][2]string{
		"payment-app": {"pay", "Payments"}, "admin-panel": {"admin", "Admin"}, "feature-flags": {"flags", "Feature flags"},
	} {
		manifest[app] = map[string]string{
			"remoteEntry": "http://" + servers[app].Listener.Addr().String() + "/remoteEntry.js", "exposedModule": "./routes",
			"routePath": route[0], "displayName": route[1],
		}
	}
	manifestJSON, err := json.Marshal(manifest)
	require.NoError(t, err)
	for _, app := range apps {
		s := servers[app]
		s.Config.Handler = appHandler(filepath.Join(frontends, "dist", app), portal.url, config, manifestJSON)
		s.Start()
		t.Cleanup(s.Close)
	}

	run := func(phase string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "e2e.mjs"))
		cmd.Dir = frontends
		cmd.Env = append(os.Environ(),
			"PHASE="+phase,
			"PORTAL_URL="+portal.String(),
			"API_URL="+api.String(),
			"SHELL_URL="+servers["shell"].URL+"/",
			"PAYMENT_URL="+servers["payment-app"].URL+"/",
			"ADMIN_URL="+servers["admin-panel"].URL+"/",
			"FLAGS_URL="+servers["feature-flags"].URL+"/",
			"OUT_DIR="+out,
			"CHROMIUM_PATH="+chromiumPath,
		)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		t.Log(buf.String())
		require.NoError(t, err, "phase %s of frontends/e2e/e2e.mjs failed (output above)", phase)
	}
	run("live")
	portal.stop(t)
	run("offline")
}

// appHandler serves one app's build as a CDN would: files with CORS (remoteEntry.js is an ES module loaded from
// the shell's origin), index.html for client-side routes, the runtime config and manifest for this run, and
// /portal/* proxied to Portal.
func appHandler(dir string, portal *url.URL, config, manifest []byte) http.Handler {
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(portal)
		r.Out.URL.Path = strings.TrimPrefix(r.In.URL.Path, "/portal")
		r.Out.URL.RawPath = ""
	}}
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/portal" || strings.HasPrefix(r.URL.Path, "/portal/") {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "no-cache")
		switch r.URL.Path {
		case "/config.json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(config)
			return
		case "/mf.manifest.json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(manifest)
			return
		}
		if filepath.Ext(r.URL.Path) == "" {
			http.ServeFile(w, r, filepath.Join(dir, "index.html"))
			return
		}
		files.ServeHTTP(w, r)
	})
}

// startMockAPI runs frontends/tools/mock-api.mjs — Prism serving catalog-info's backend-api definition, the one
// the apps' Backend API client is generated from — on a free loopback port until the test ends, and returns its
// base URL (the definition's paths are served from its root).
func startMockAPI(t *testing.T, frontends, node string) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().(*net.TCPAddr)
	require.NoError(t, l.Close())

	log := &lockedBuffer{}
	cmd := exec.Command(node, filepath.Join("tools", "mock-api.mjs"))
	cmd.Dir = frontends
	cmd.Env = append(os.Environ(), "MOCK_API_HOST=127.0.0.1", fmt.Sprintf("MOCK_API_PORT=%d", addr.Port))
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: the wrapper and Prism stop together, whatever happens to the wrapper.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("Backend API mock (Prism):\n%s", log.String())
		}
	})

	base := &url.URL{Scheme: "http", Host: addr.String()}
	deadline := time.Now().Add(90 * time.Second)
	for {
		// Any answer means Prism is listening: without a bearer token this one is 401.
		resp, err := http.Get(base.String() + "/me/payments")
		if err == nil {
			resp.Body.Close()
			return base
		}
		select {
		case err := <-done:
			t.Fatalf("the Backend API mock exited: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Backend API mock did not start: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type portalProcess struct {
	url     *url.URL
	cmd     *exec.Cmd
	done    chan error
	log     *bytes.Buffer
	stopped bool
}

func (p *portalProcess) String() string { return p.url.String() }

// startPortal builds cmd/portal and runs `portal serve` with guest access, a dev client key and flags seeded from
// flags/*.flagd.json, in a temporary data directory.
func startPortal(t *testing.T, root string) *portalProcess {
	t.Helper()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "portal")
	build := exec.Command("go", "build", "-o", bin, "./cmd/portal")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/portal: %s", out)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	cfg := fmt.Sprintf(`listen: %s
baseUrl: http://%s
dataDir: %s
server:
  shutdownTimeout: 2s
auth:
  guest: true
catalog:
  locations: []
scaffolder:
  workers: 0
flags:
  environments:
    - name: dev
      clientKeys: [%s]
    - name: staging
    - name: production
      protected: true
  seedDir: %s
`, addr, addr, filepath.Join(tmp, "data"), devClientKey, filepath.Join(root, "flags"))
	cfgPath := filepath.Join(tmp, "portal.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))

	p := &portalProcess{url: &url.URL{Scheme: "http", Host: addr}, done: make(chan error, 1), log: &bytes.Buffer{}}
	p.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	p.cmd.Dir = tmp
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.stopped {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url.String() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("portal did not become ready: %v\n%s", err, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// stop ends Portal the way an operator would (SIGTERM) and waits until its port no longer answers.
func (p *portalProcess) stop(t *testing.T) {
	t.Helper()
	p.stopped = true
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_, err := http.Get(p.url.String() + "/readyz")
	require.Error(t, err, "portal still answers after it stopped")
}
