package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCatalogValidate(t *testing.T) {
	t.Run("BillPay's catalog is valid", func(t *testing.T) {
		code, out, errOut := runCLI(t, "catalog", "validate", "../../catalog-info/all.yaml")
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "ok: 55 entities")
	})

	t.Run("problems are reported as file:line and fail the run", func(t *testing.T) {
		dir := t.TempDir()
		bad := filepath.Join(dir, "catalog-info.yaml")
		require.NoError(t, os.WriteFile(bad, []byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fine
spec: {type: service, lifecycle: production, owner: team}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: -bad-name-
spec: {type: service, lifecycle: production, owner: team}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: missing-definition}
spec: {type: openapi, lifecycle: production, owner: team, definition: {$text: ./nope.yaml}}
---
kind: [broken
`), 0o644))
		code, _, errOut := runCLI(t, "catalog", "validate", bad)
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "catalog-info.yaml:7: component:default/-bad-name-")
		require.Contains(t, errOut, "catalog-info.yaml:13: api:default/missing-definition: Placeholder $text could not read location ./nope.yaml")
		require.Contains(t, errOut, "catalog-info.yaml:18: YAML error")
		require.Contains(t, errOut, "3 problem(s)")
	})

	t.Run("a missing file fails", func(t *testing.T) {
		code, _, errOut := runCLI(t, "catalog", "validate", filepath.Join(t.TempDir(), "none.yaml"))
		require.Equal(t, 1, code)
		require.Contains(t, errOut, "no such file")
	})

	t.Run("no path is a usage error", func(t *testing.T) {
		code, _, _ := runCLI(t, "catalog", "validate")
		require.Equal(t, 2, code)
	})
}

func TestVersionAndUsage(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	require.Equal(t, 0, code)
	require.Contains(t, out, "portal ")
	code, _, errOut := runCLI(t, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "frobnicate"`)
}

func TestMigrate(t *testing.T) {
	t.Setenv("PORTAL_DATA_DIR", t.TempDir())
	code, out, errOut := runCLI(t, "migrate", "--config", "../../portal.yaml")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "up to date")
}
