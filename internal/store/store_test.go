package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/processing"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/store"
	"github.com/billpay/portal/internal/store/storetest"
)

// engines lists the databases the suite runs on: SQLite always, PostgreSQL when
// PORTAL_TEST_DATABASE_URL names one (CI sets it; there a missing server is a failure, not a skip).
func engines(t *testing.T) map[string]func(t *testing.T) *store.Store {
	out := map[string]func(t *testing.T) *store.Store{
		"sqlite": func(t *testing.T) *store.Store { return MustOpen(t, "", t.TempDir()) },
	}
	if pg := os.Getenv(storetest.EnvDatabaseURL); pg != "" || os.Getenv("CI") == "true" {
		pg = storetest.PostgresURL(t)
		out["postgres"] = func(t *testing.T) *store.Store { return MustOpen(t, storetest.PostgresSchema(t, pg), "") }
	}
	return out
}

// MustOpen opens and migrates a store, closing it when the test ends.
func MustOpen(t testing.TB, databaseURL, dataDir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), databaseURL, dataDir)
	require.NoError(t, err)
	require.NoError(t, st.Migrate(context.Background()))
	t.Cleanup(func() { _ = st.Close() })
	return st
}

type harness struct {
	t      *testing.T
	st     *store.Store
	svc    *service.Service
	engine *processing.Engine
	proc   *processing.Processor
	dir    string
}

var allKinds = []string{"Component", "API", "Resource", "System", "Domain", "Group", "User", "Location", "Template"}

func newHarness(t *testing.T, st *store.Store) *harness {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	proc := &processing.Processor{Reader: source.FileReader{}, Rules: []processing.Rule{{Allow: allKinds}}}
	engine := processing.NewEngine(st, proc, processing.EngineConfig{Interval: time.Hour, Batch: 50}, log, nil, nil)
	svc := service.New(st, st, proc, engine, log, service.Options{})
	// As Main wires it: on SQLite the index takes each processing commit as handed over, not from the feed.
	st.FollowCommits(svc)
	return &harness{t: t, st: st, svc: svc, engine: engine, proc: proc, dir: dir}
}

func (h *harness) write(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	require.NoError(h.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(h.t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// drain processes and stitches until nothing is due, then brings the index up to date.
func (h *harness) drain() {
	h.t.Helper()
	ctx := context.Background()
	for range 100 {
		n, err := h.engine.RunOnce(ctx)
		require.NoError(h.t, err)
		s, err := h.st.StitchDue(ctx, 1000, 0)
		require.NoError(h.t, err)
		if n == 0 && s == 0 {
			require.NoError(h.t, h.svc.Sync(ctx))
			return
		}
	}
	h.t.Fatal("processing did not settle")
}

// reprocessAll makes every entity due, as the next pass of the refresh loop would.
func (h *harness) reprocessAll() {
	h.t.Helper()
	for _, raw := range h.entities() {
		ref := catalog.Entity(raw).Ref().String()
		require.NoError(h.t, h.st.ScheduleRefresh(context.Background(), ref))
	}
	h.drain()
}

func (h *harness) entities() map[string]map[string]any {
	h.t.Helper()
	items, _ := h.svc.Index().List(catalog.ListRequest{})
	out := map[string]map[string]any{}
	for _, raw := range items {
		var e map[string]any
		require.NoError(h.t, json.Unmarshal(raw, &e))
		out[catalog.Entity(e).Ref().String()] = e
	}
	return out
}

func (h *harness) entity(ref string) catalog.Entity {
	h.t.Helper()
	raw, ok := h.svc.Index().Get(ref)
	if !ok {
		return nil
	}
	var e catalog.Entity
	require.NoError(h.t, json.Unmarshal(raw, &e))
	return e
}

func statusMessages(e catalog.Entity) []string {
	st, _ := e["status"].(map[string]any)
	items, _ := st["items"].([]any)
	var out []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		s, _ := m["message"].(string)
		out = append(out, s)
	}
	return out
}

func (h *harness) configLocations(paths ...string) {
	h.t.Helper()
	var locs []processing.LocationSpec
	for _, p := range paths {
		locs = append(locs, processing.LocationSpec{Type: "file", Target: p})
	}
	require.NoError(h.t, h.svc.SetConfigLocations(context.Background(), locs))
}

func (h *harness) configLocation(path string) {
	h.t.Helper()
	require.NoError(h.t, h.svc.SetConfigLocations(context.Background(), []processing.LocationSpec{{Type: "file", Target: path}}))
}

func component(name, owner string, extra ...string) string {
	return fmt.Sprintf(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: %s
spec:
  type: service
  lifecycle: production
  owner: %s
%s
`, name, owner, strings.Join(extra, "\n"))
}

func TestCatalogStorage(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("ingests a location tree with relations in both directions", func(t *testing.T) {
				h := newHarness(t, open(t))
				h.write("team.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n")
				h.write("svc.yaml", component("svc-a", "team-a", "  providesApis: [api-a]")+"---\n"+
					"apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: api-a}\nspec: {type: openapi, lifecycle: production, owner: team-a, definition: {$text: ./api.txt}}\n")
				h.write("api.txt", "openapi: 3.0.0")
				h.configLocation(h.write("all.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec:\n  targets: [./team.yaml, ./svc.yaml]\n"))
				h.drain()

				all := h.entities()
				require.Len(t, all, 5, "generated location, root, group, component, API: %v", keys(all))
				svc := h.entity("component:default/svc-a")
				require.NotNil(t, svc)
				require.Contains(t, svc["relations"], map[string]any{"type": "ownedBy", "targetRef": "group:default/team-a",
					"target": map[string]any{"kind": "group", "namespace": "default", "name": "team-a"}})
				group := h.entity("group:default/team-a")
				require.Contains(t, group["relations"], map[string]any{"type": "ownerOf", "targetRef": "component:default/svc-a",
					"target": map[string]any{"kind": "component", "namespace": "default", "name": "svc-a"}})
				api := h.entity("api:default/api-a")
				require.Equal(t, "openapi: 3.0.0", api.Spec()["definition"], "$text placeholder resolved")
				require.Equal(t, "file:"+filepath.Join(h.dir, "svc.yaml"), api.Annotation(catalog.AnnotationManagedByLocation))
				require.Equal(t, "file:"+filepath.Join(h.dir, "all.yaml"), api.Annotation(catalog.AnnotationManagedByOriginLocation))
				require.Empty(t, svc.Annotation(catalog.AnnotationOrphan))
			})

			t.Run("keeps the other entities of a file when one is broken", func(t *testing.T) {
				h := newHarness(t, open(t))
				path := h.write("mixed.yaml", component("good-one", "team-a")+"---\nkind: [unclosed\n---\n"+
					component("bad-one", "42")+"  system: {not: a-string}\n---\n"+component("good-two", "team-a"))
				h.configLocation(path)
				h.drain()
				all := h.entities()
				require.Contains(t, all, "component:default/good-one")
				require.Contains(t, all, "component:default/good-two")
				require.NotContains(t, all, "component:default/bad-one")
				loc := h.entity("location:default/" + processing.GeneratedLocationName("file", path))
				msgs := strings.Join(statusMessages(loc), "\n")
				require.Contains(t, msgs, "YAML error at line")
				require.Contains(t, msgs, "component:default/bad-one")
			})

			t.Run("keeps the first of two locations emitting one ref and records a conflict", func(t *testing.T) {
				h := newHarness(t, open(t))
				first := h.write("a/catalog-info.yaml", component("dup", "team-a"))
				h.configLocation(first)
				h.drain()
				second := h.write("b/catalog-info.yaml", component("dup", "team-b"))
				require.NoError(t, h.svc.SetConfigLocations(context.Background(), []processing.LocationSpec{
					{Type: "file", Target: first}, {Type: "file", Target: second}}))
				h.drain()
				require.Equal(t, "team-a", h.entity("component:default/dup").Spec()["owner"])
				loc := h.entity("location:default/" + processing.GeneratedLocationName("file", second))
				require.Contains(t, strings.Join(statusMessages(loc), "\n"), "ConflictError: Detected conflicting entityRef component:default/dup")
			})

			t.Run("shows a changed file on the next pass and marks removed entities orphans", func(t *testing.T) {
				h := newHarness(t, open(t))
				path := h.write("catalog-info.yaml", component("one", "team-a")+"---\n"+component("two", "team-a"))
				h.configLocation(path)
				h.drain()
				h.write("catalog-info.yaml", component("one", "team-b"))
				h.reprocessAll()
				require.Equal(t, "team-b", h.entity("component:default/one").Spec()["owner"])
				two := h.entity("component:default/two")
				require.NotNil(t, two, "orphans are kept")
				require.Equal(t, "true", two.Annotation(catalog.AnnotationOrphan))
			})

			t.Run("removing a location removes what only it emitted", func(t *testing.T) {
				h := newHarness(t, open(t))
				a := h.write("a.yaml", component("only-a", "team-a")+"---\n"+component("shared", "team-a"))
				b := h.write("b.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: b}\nspec: {target: ./a.yaml}\n")
				_ = b
				require.NoError(t, h.svc.SetConfigLocations(context.Background(), []processing.LocationSpec{{Type: "file", Target: a}}))
				h.drain()
				require.Contains(t, h.entities(), "component:default/only-a")
				require.NoError(t, h.svc.SetConfigLocations(context.Background(), nil))
				h.drain()
				require.Empty(t, h.entities())
			})

			t.Run("deleting an entity that its location still emits brings it back", func(t *testing.T) {
				h := newHarness(t, open(t))
				h.configLocation(h.write("c.yaml", component("phoenix", "team-a")))
				h.drain()
				uid := h.entity("component:default/phoenix").UID()
				require.NoError(t, h.svc.DeleteByUID(context.Background(), uid))
				require.NoError(t, h.svc.Sync(context.Background()))
				h.drain()
				back := h.entity("component:default/phoenix")
				require.NotNil(t, back)
				require.NotEqual(t, uid, back.UID(), "it comes back as a new entity")
			})

			t.Run("a failed run keeps the last good entity with its relations and shows the error", func(t *testing.T) {
				h := newHarness(t, open(t))
				path := h.write("f.yaml", component("steady", "team-a"))
				h.configLocation(path)
				h.drain()
				h.write("f.yaml", component("steady", "team-b")+"  system: {not: a-string}\n")
				h.reprocessAll()
				e := h.entity("component:default/steady")
				require.Equal(t, "team-a", e.Spec()["owner"], "the last good version stays")
				require.NotEmpty(t, e["relations"], "its relations stay")
				require.Contains(t, strings.Join(statusMessages(e), "\n"), "Policy check failed")
			})

			t.Run("a target that cannot be read keeps the entities it held", func(t *testing.T) {
				h := newHarness(t, open(t))
				h.write("held.yaml", component("held", "team-a"))
				root := h.write("root.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: holder}\nspec: {targets: [./held.yaml]}\n")
				h.configLocation(root)
				h.drain()
				require.NoError(t, os.Remove(filepath.Join(h.dir, "held.yaml")))
				h.reprocessAll()
				held := h.entity("component:default/held")
				require.NotNil(t, held)
				require.Empty(t, held.Annotation(catalog.AnnotationOrphan), "a missing file is an error, not an orphaning")
				require.Contains(t, strings.Join(statusMessages(h.entity("location:default/holder")), "\n"), "Unable to read")
			})

			t.Run("an orphan that its file emits again is no longer an orphan", func(t *testing.T) {
				h := newHarness(t, open(t))
				path := h.write("o.yaml", component("back", "team-a")+"---\n"+component("other", "team-a"))
				h.configLocation(path)
				h.drain()
				h.write("o.yaml", component("other", "team-a"))
				h.reprocessAll()
				require.Equal(t, "true", h.entity("component:default/back").Annotation(catalog.AnnotationOrphan))
				h.write("o.yaml", component("back", "team-a")+"---\n"+component("other", "team-a"))
				h.reprocessAll()
				require.Empty(t, h.entity("component:default/back").Annotation(catalog.AnnotationOrphan))
			})

			t.Run("a follower reading in pages never skips part of a version", func(t *testing.T) {
				h := newHarness(t, open(t))
				var b strings.Builder
				for i := range 120 {
					b.WriteString(component(fmt.Sprintf("paged-%03d", i), "team-a") + "---\n")
				}
				h.configLocation(h.write("p.yaml", b.String()))
				h.drain()
				seen := map[string]bool{}
				var from int64
				for {
					changes, err := h.st.ChangesSince(context.Background(), from, 7)
					require.NoError(t, err)
					if len(changes) == 0 {
						break
					}
					for _, c := range changes {
						seen[c.UID] = true
						from = c.Version
					}
				}
				require.Len(t, seen, len(h.entities()))
			})

			t.Run("an entity refreshed while it is processed is not claimed twice", func(t *testing.T) {
				h := newHarness(t, open(t))
				h.configLocation(h.write("lease.yaml", component("leased", "team-a")))
				h.drain()
				ctx := context.Background()
				require.NoError(t, h.st.ScheduleRefresh(ctx, "component:default/leased"))
				first, err := h.st.ClaimDue(ctx, 100, time.Hour)
				require.NoError(t, err)
				var mine []processing.Claim
				for _, c := range first {
					if c.EntityRef == "component:default/leased" {
						mine = append(mine, c)
					}
				}
				require.Len(t, mine, 1)

				// A webhook or a user asks for a refresh while this replica still processes it.
				require.NoError(t, h.st.ScheduleRefresh(ctx, "component:default/leased"))
				again, err := h.st.ClaimDue(ctx, 100, time.Hour)
				require.NoError(t, err)
				for _, c := range again {
					require.NotEqual(t, "component:default/leased", c.EntityRef, "claimed by another run while leased")
				}

				proc := &processing.Processor{Reader: source.FileReader{}, Rules: []processing.Rule{{Allow: allKinds}}}
				results := []processing.Result{proc.Process(ctx, mine[0])}
				require.NoError(t, h.st.Commit(ctx, results))
				after, err := h.st.ClaimDue(ctx, 100, time.Hour)
				require.NoError(t, err)
				var refs []string
				for _, c := range after {
					refs = append(refs, c.EntityRef)
				}
				require.Contains(t, refs, "component:default/leased", "the refresh asked for meanwhile runs once the lease is released")
			})

			t.Run("entities whose results could not be stored are retried soon", func(t *testing.T) {
				h := newHarness(t, open(t))
				h.configLocation(h.write("retry.yaml", component("retried", "team-a")))
				h.drain()
				ctx := context.Background()
				require.NoError(t, h.st.ScheduleRefresh(ctx, "component:default/retried"))
				claimed, err := h.st.ClaimDue(ctx, 100, time.Hour)
				require.NoError(t, err)
				var ids []string
				for _, c := range claimed {
					ids = append(ids, c.ID)
				}
				require.NotEmpty(t, ids)
				require.NoError(t, h.st.Retry(ctx, ids, 0))
				again, err := h.st.ClaimDue(ctx, 100, time.Hour)
				require.NoError(t, err)
				require.Len(t, again, len(ids), "released and due at once, not after the hour")
			})

			t.Run("follows changes in commit order with tombstones", func(t *testing.T) {
				h := newHarness(t, open(t))
				h.configLocation(h.write("d.yaml", component("gone", "team-a")))
				h.drain()
				v1, _, err := h.st.CatalogVersion(context.Background())
				require.NoError(t, err)
				require.NoError(t, h.svc.SetConfigLocations(context.Background(), nil))
				h.drain()
				changes, err := h.st.ChangesSince(context.Background(), v1, 100)
				require.NoError(t, err)
				require.NotEmpty(t, changes)
				for _, c := range changes {
					require.Nil(t, c.Raw, "every change after removal is a tombstone")
					require.Greater(t, c.Version, v1)
				}
			})
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
