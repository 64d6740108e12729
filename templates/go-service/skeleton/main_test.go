package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestRoutes(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(routes(&ready))
	defer srv.Close()

	for _, tc := range []struct {
		path   string
		ready  bool
		status int
	}{
		{"/healthz", false, http.StatusOK},
		{"/readyz", false, http.StatusServiceUnavailable},
		{"/readyz", true, http.StatusOK},
		{"/api/info", true, http.StatusOK},
	} {
		ready.Store(tc.ready)
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s = %d %s, want %d", tc.path, resp.StatusCode, body, tc.status)
		}
	}
}
