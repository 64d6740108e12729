package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
)

// TestRefreshLoopPicksUpChangedFiles runs the real loop with a short interval: editing a file is
// enough for the change to show, with no refresh call.
func TestRefreshLoopPicksUpChangedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog-info.yaml")
	require.NoError(t, os.WriteFile(path, []byte(catalogFile("looped", "team-a")), 0o644))
	m := MustRunMain(t, func(c *config.Config) {
		c.Catalog.ProcessingInterval = config.Duration(300 * time.Millisecond)
		c.Catalog.Locations = []config.Location{fileLocation(t, path)}
	})
	waitForOwner(t, m, "component:default/looped", "team-a", 10*time.Second)
	require.NoError(t, os.WriteFile(path, []byte(catalogFile("looped", "team-b")), 0o644))
	waitForOwner(t, m, "component:default/looped", "team-b", 10*time.Second)
}

// syncBuffer is a log sink the server writes to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeShutsDownGracefully starts `portal serve` as a user would (flags and environment) and
// cancels its context as SIGTERM does: the command returns 0 and the port is released.
func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	t.Setenv("PORTAL_DATA_DIR", t.TempDir())
	t.Setenv("PORTAL_CATALOG_LOCATIONS", "[]")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", "../../portal.yaml", "--listen", addr}, &stdout, &stderr)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "portal did not become ready: %s", stderr.String())
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + "/api/catalog/entities")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the shipped portal.yaml lets guests in on loopback")

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	require.Contains(t, stderr.String(), "shutting down")
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "the port is released")
}

func TestServeRefusesInvalidConfig(t *testing.T) {
	t.Setenv("PORTAL_AUTH_GUEST", "true")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--config", "../../portal.yaml", "--listen", "0.0.0.0:0"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.True(t, strings.Contains(stderr.String(), "auth.guest"), fmt.Sprint(stderr.String()))
}
