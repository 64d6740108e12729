package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog/processing"
	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/store/storetest"
)

// writeCatalog writes n components owned by a few groups, spread over several files each read by
// a Location of its own, with a root Location at all.yaml, and returns how many entities the
// catalog will hold.
func writeCatalog(t *testing.T, n int) (string, int) {
	t.Helper()
	dir := t.TempDir()
	var targets []string
	perFile := 250
	for f := 0; f*perFile < n; f++ {
		var b strings.Builder
		for i := f * perFile; i < min(n, (f+1)*perFile); i++ {
			fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: comp-%05d\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-%d\n", i, i%7)
		}
		name := fmt.Sprintf("part-%02d.yaml", f)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644))
		// Each part sits behind a Location of its own: Locations are claimed one by one, while the
		// entities a Location reads are processed in the same pass as it.
		loc := fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: part-%02d}\nspec: {target: ./%s}\n", f, name)
		locName := fmt.Sprintf("loc-%02d.yaml", f)
		require.NoError(t, os.WriteFile(filepath.Join(dir, locName), []byte(loc), 0o644))
		targets = append(targets, "./"+locName)
	}
	all := "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: replicas}\nspec:\n  targets: [" + strings.Join(targets, ", ") + "]\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(all), 0o644))
	return filepath.Join(dir, "all.yaml"), n + len(targets) + 2
}

// TestReplicasShareProcessingOnPostgres starts two real Mains on one PostgreSQL database: between
// them every entity is processed exactly once in the first pass (claims are disjoint), and both
// serve the whole catalog.
func TestReplicasShareProcessingOnPostgres(t *testing.T) {
	dbURL := storetest.PostgresSchema(t, storetest.PostgresURL(t))
	root, total := writeCatalog(t, 6000)
	// The catalog appears only once both replicas run, so that they compete for it.
	full, err := os.ReadFile(root)
	require.NoError(t, err)
	require.NoError(t, os.Remove(root))
	mutate := func(c *config.Config) {
		c.Database.URL = dbURL
		c.Catalog.ProcessingBatchSize = 1
		c.Catalog.PollInterval = config.Duration(5 * time.Millisecond) // both replicas keep asking
		c.Catalog.Locations = []config.Location{fileLocation(t, root)}
	}
	a := MustRunMain(t, mutate)
	b := MustRunMain(t, mutate)
	waitForTotal(t, a, 1, 30*time.Second) // the generated location, with a read error
	require.NoError(t, os.WriteFile(root, full, 0o644))
	require.NoError(t, a.Catalog.Refresh(t.Context(), "location:default/"+processing.GeneratedLocationName("file", root)))
	waitForTotal(t, a, total, 60*time.Second)
	waitForTotal(t, b, total, 60*time.Second)

	processed := func(m *Main) float64 {
		mfs, err := m.Registry.Gather()
		require.NoError(t, err)
		sum := 0.0
		for _, mf := range mfs {
			if mf.GetName() == "portal_catalog_entities_processed_total" {
				for _, metric := range mf.GetMetric() {
					sum += metric.GetCounter().GetValue()
				}
			}
		}
		return sum
	}
	pa, pb := processed(a), processed(b)
	t.Logf("replica A processed %.0f entities, replica B %.0f", pa, pb)
	// The generated location was processed twice (missing file, then after the refresh); every other
	// entity exactly once.
	require.Equal(t, float64(total+1), pa+pb, "each entity processed once across both replicas")
	require.Positive(t, pa)
	require.Positive(t, pb, "both replicas took part")

	var e map[string]any
	require.Equal(t, 200, apiGet(t, b, "/api/catalog/entities/by-name/component/default/comp-00003", &e),
		"B serves what either replica stitched")
}
