package configdoc

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
)

var update = flag.Bool("update", false, "rewrite techdocs/docs/portal/configuration.md")

const page = "../../techdocs/docs/portal/configuration.md"

// TestConfigReference fails while the committed reference differs from the config struct.
func TestConfigReference(t *testing.T) {
	src, err := os.ReadFile("../../internal/config/config.go")
	require.NoError(t, err)
	got, err := Generate(Input{Source: src, Defaults: config.Default(), EnvName: config.EnvName})
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(page, got, 0o644))
	}
	want, err := os.ReadFile(page)
	require.NoError(t, err)
	if string(want) != string(got) {
		w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
		i := 0
		for i < len(w) && i < len(g) && w[i] == g[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of page)"
		}
		t.Fatalf("%s is stale: run go generate ./build/configdoc\nline %d is\n\t%s\nbut internal/config says\n\t%s",
			filepath.Clean(page), i+1, line(w), line(g))
	}
}

// TestReferenceRows checks a few rows, and that the variables the page names are the ones the
// loader reads.
func TestReferenceRows(t *testing.T) {
	src, err := os.ReadFile("../../internal/config/config.go")
	require.NoError(t, err)
	out, err := Generate(Input{Source: src, Defaults: config.Default(), EnvName: config.EnvName})
	require.NoError(t, err)
	text := string(out)
	for _, want := range []string{
		"| `listen` | string | `\":7007\"` | `PORTAL_LISTEN` | Listen is the address the HTTP server binds. |",
		"| `database.url` | string | `\"\"` | `PORTAL_DATABASE_URL` | **secret.** URL names PostgreSQL",
		"| `catalog.processingInterval` | duration | `1m40s` | `PORTAL_CATALOG_PROCESSING_INTERVAL` |",
		"| `auth.tokens[].token` | string |  |  | **secret.**",
	} {
		require.Contains(t, text, want)
	}
	// The environment variable each row names really sets that key.
	cfg, err := config.Load("", []string{"PORTAL_CATALOG_PROCESSING_INTERVAL=5m", "PORTAL_DATABASE_URL=postgres://x@db/portal"})
	require.NoError(t, err)
	require.Equal(t, "postgres://x@db/portal", cfg.Database.URL)
	require.Equal(t, "5m0s", fmtDuration(cfg.Catalog.ProcessingInterval))

}

func fmtDuration(d config.Duration) string {
	v, _ := d.MarshalYAML()
	return v.(string)
}
