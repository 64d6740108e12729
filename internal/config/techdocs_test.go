package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTechDocsConfig(t *testing.T) {
	t.Run("defaults to a local publisher and two builders", func(t *testing.T) {
		cfg, err := Load("", nil)
		require.NoError(t, err)
		require.Equal(t, "local", cfg.TechDocs.Publisher)
		require.Equal(t, 2, cfg.TechDocs.Builder.Concurrency)
		require.Equal(t, Duration(10*time.Minute), cfg.TechDocs.Builder.CheckInterval)
		require.Equal(t, Duration(time.Minute), cfg.TechDocs.Builder.SyncCheckInterval)
		require.False(t, cfg.TechDocs.Builder.External)
	})

	t.Run("reads an S3 publisher from the file and the environment", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "portal.yaml")
		require.NoError(t, os.WriteFile(p, []byte("techdocs:\n  publisher: awsS3\n  s3: {bucket: docs, region: eu-west-1}\n"), 0o600))
		cfg, err := Load(p, []string{"PORTAL_TECHDOCS_S3_ENDPOINT=http://127.0.0.1:9000", "PORTAL_TECHDOCS_S3_FORCE_PATH_STYLE=true",
			"PORTAL_TECHDOCS_BUILDER_CONCURRENCY=4"})
		require.NoError(t, err)
		require.Equal(t, TechDocsS3{Bucket: "docs", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", ForcePathStyle: true}, cfg.TechDocs.S3)
		require.Equal(t, 4, cfg.TechDocs.Builder.Concurrency)
	})

	for _, c := range []struct{ env, key string }{
		{"PORTAL_TECHDOCS_PUBLISHER=gcs", "techdocs.publisher"},
		{"PORTAL_TECHDOCS_PUBLISHER=awsS3", "techdocs.s3.bucket"},
		{"PORTAL_TECHDOCS_S3_ENDPOINT=ftp://x", "techdocs.s3.endpoint"},
		{"PORTAL_TECHDOCS_BUILDER_CONCURRENCY=0", "techdocs.builder.concurrency"},
		{"PORTAL_TECHDOCS_BUILDER_CHECK_INTERVAL=0s", "techdocs.builder.checkInterval"},
	} {
		t.Run("refuses "+c.env, func(t *testing.T) {
			_, err := Load("", []string{c.env})
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), c.key), "%v names %s", err, c.key)
		})
	}
}
