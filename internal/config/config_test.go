package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoad(t *testing.T) {
	write := func(t *testing.T, content string) string {
		p := filepath.Join(t.TempDir(), "portal.yaml")
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}

	t.Run("no file gives the defaults", func(t *testing.T) {
		cfg, err := Load("", nil)
		require.NoError(t, err)
		require.Equal(t, ":7007", cfg.Listen)
		require.Equal(t, "data", cfg.DataDir)
		require.False(t, cfg.Auth.Guest)
		require.Equal(t, Duration(100*time.Second), cfg.Catalog.ProcessingInterval)
		require.Equal(t, "/billpay/services/", cfg.Deploy.RolePath)
		require.Equal(t, "billpay-service-boundary", cfg.Deploy.BoundaryPolicyName)
	})

	t.Run("the shipped portal.yaml is valid and turns guest on for loopback", func(t *testing.T) {
		cfg, err := Load("../../portal.yaml", nil)
		require.NoError(t, err)
		require.True(t, cfg.Auth.Guest)
		require.Equal(t, "127.0.0.1:7007", cfg.Listen)
		require.Equal(t, "catalog-info/all.yaml", cfg.Catalog.Locations[0].Target)
	})

	t.Run("environment variables override every kind of key", func(t *testing.T) {
		cfg, err := Load(write(t, "auth: {guest: true}\nlisten: 127.0.0.1:1\n"), []string{
			"PORTAL_LISTEN=127.0.0.1:9000",
			"PORTAL_DATA_DIR=/var/lib/portal",
			"PORTAL_DATABASE_URL=postgres://db/portal",
			"PORTAL_AUTH_GUEST=false",
			"PORTAL_CATALOG_PROCESSING_INTERVAL=5m",
			`PORTAL_AUTH_TOKENS=[{"token":"0123456789abcdef01","subject":"ci"}]`,
			"UNRELATED=1",
		})
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1:9000", cfg.Listen)
		require.Equal(t, "/var/lib/portal", cfg.DataDir)
		require.Equal(t, "postgres://db/portal", cfg.Database.URL)
		require.False(t, cfg.Auth.Guest)
		require.Equal(t, Duration(5*time.Minute), cfg.Catalog.ProcessingInterval)
		require.Equal(t, []Token{{Token: "0123456789abcdef01", Subject: "ci"}}, cfg.Auth.Tokens)
	})

	t.Run("env names follow the key path", func(t *testing.T) {
		require.Equal(t, "PORTAL_AUTH_GUEST", EnvName("auth.guest"))
		require.Equal(t, "PORTAL_GITHUB_WEBHOOK_SECRET", EnvName("github.webhookSecret"))
		require.Equal(t, "PORTAL_BASE_URL", EnvName("baseUrl"))
	})

	for _, tc := range []struct {
		name, file string
		env        []string
		key        string
	}{
		{"an unknown key is refused", "catalgo: {}\n", nil, "catalgo"},
		{"a bad duration names its key", "catalog: {processingInterval: soon}\n", nil, "processingInterval"},
		{"a bad boolean in the environment names its key", "", []string{"PORTAL_AUTH_GUEST=maybe"}, "auth.guest"},
		{"guest on a public address is refused", "listen: 0.0.0.0:7007\nauth: {guest: true}\n", nil, "auth.guest"},
		{"a short token is refused", "auth: {tokens: [{token: short, subject: ci}]}\n", nil, "auth.tokens[0].token"},
		{"an unknown location type is refused", "catalog: {locations: [{type: git, target: x}]}\n", nil, "catalog.locations[0].type"},
		{"a database URL of another engine is refused", "database: {url: 'mysql://x'}\n", nil, "database.url"},
		{"a bad listen address is refused", "listen: nowhere\n", nil, "listen"},
		{"service roles at the root path are refused", "deploy: {rolePath: /}\n", nil, "deploy.rolePath"},
		{"a role path without its last slash is refused", "", []string{"PORTAL_DEPLOY_ROLE_PATH=/billpay/services"}, "deploy.rolePath"},
		{"no boundary policy is refused", "deploy: {boundaryPolicyName: ''}\n", nil, "deploy.boundaryPolicyName"},
		{"a boundary given as an ARN is refused", "deploy: {boundaryPolicyName: 'arn:aws:iam::1:policy/b'}\n", nil, "deploy.boundaryPolicyName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = write(t, tc.file)
			}
			_, err := Load(path, tc.env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.key)
		})
	}

	t.Run("guest on a public address is allowed when config says so", func(t *testing.T) {
		_, err := Load(write(t, "listen: 0.0.0.0:7007\nauth: {guest: true, allowGuestOnNetwork: true}\n"), nil)
		require.NoError(t, err)
	})

	t.Run("a secret in the database URL is not echoed", func(t *testing.T) {
		_, err := Load(write(t, "database: {url: 'mysql://user:hunter2@x'}\n"), nil)
		require.Error(t, err)
		require.NotContains(t, err.Error(), "hunter2")
	})
}
