package main

import (
	"flag"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files (api/openapi.yaml)")

// TestOpenAPIDocumentIsCommitted keeps api/openapi.yaml, the description reviewers read, equal to
// what the running server generates. Run `go test ./cmd/portal -run OpenAPI -update` after changing
// an operation.
func TestOpenAPIDocumentIsCommitted(t *testing.T) {
	m := MustRunMain(t, nil)
	resp, err := http.Get(m.URL() + "/api/openapi.yaml")
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	const golden = "../../api/openapi.yaml"
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./cmd/portal -run OpenAPI -update")
	require.Equal(t, string(want), string(got), "api/openapi.yaml is stale: run go test ./cmd/portal -run OpenAPI -update")
}
