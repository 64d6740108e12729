package service_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/github"
	"github.com/billpay/portal/internal/github/githubtest"
	"github.com/billpay/portal/internal/search"
	"github.com/billpay/portal/internal/store"
	"github.com/billpay/portal/internal/techdocs"
	"github.com/billpay/portal/internal/techdocs/localpublisher"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

// env is a docs service over real parts: an SQLite store, a local publisher, the search index and
// a catalog index holding the test's entities.
type env struct {
	t         *testing.T
	st        *store.Store
	catalog   *staticCatalog
	publisher *localpublisher.Publisher
	search    *search.Service
	root      string
}

// staticCatalog is an index whose version moves with every change made through it.
type staticCatalog struct {
	ix      *catalog.Index
	version atomic.Int64
}

func (c *staticCatalog) Index() *catalog.Index { return c.ix }
func (c *staticCatalog) Version() int64        { return c.version.Load() }

func (c *staticCatalog) put(raw []byte) error {
	defer c.version.Add(1)
	return c.ix.Put(raw)
}

func (c *staticCatalog) delete(uid string) {
	c.ix.Delete(uid)
	c.version.Add(1)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	require.NoError(t, st.MigrateSearch(ctx))
	pub, err := localpublisher.New(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	return &env{t: t, st: st, catalog: &staticCatalog{ix: catalog.NewIndex()}, publisher: pub,
		search: search.New(st, nil, search.Options{}), root: t.TempDir()}
}

func (e *env) service(mutate func(*tdservice.Options)) *tdservice.Service {
	e.t.Helper()
	opts := tdservice.Options{Publisher: e.publisher, Builds: e.st, Catalog: e.catalog, Search: e.search,
		Owner: "replica-a", SyncCheckInterval: time.Hour, CheckInterval: time.Hour}
	if mutate != nil {
		mutate(&opts)
	}
	svc, err := tdservice.New(opts)
	require.NoError(e.t, err)
	return svc
}

// write puts a file under the test's repository root.
func (e *env) write(rel, content string) string {
	e.t.Helper()
	p := filepath.Join(e.root, filepath.FromSlash(rel))
	require.NoError(e.t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(e.t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

// put adds an entity to the catalog, as stitching would leave it.
func (e *env) put(kind, name, etag string, annotations map[string]string) catalog.Ref {
	e.t.Helper()
	ann := map[string]any{}
	for k, v := range annotations {
		ann[k] = v
	}
	raw, err := json.Marshal(map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "default", "uid": "uid-" + name, "etag": etag, "annotations": ann,
			"title": strings.ToUpper(name[:1]) + name[1:]},
		"spec": map[string]any{"type": "service", "owner": "group:default/team-a", "lifecycle": "production"}})
	require.NoError(e.t, err)
	require.NoError(e.t, e.catalog.put(raw))
	return catalog.Ref{Kind: kind, Namespace: "default", Name: name}
}

// fileEntity is an entity read from <root>/catalog/components/<name>.yaml, registered through
// <root>/catalog/all.yaml, with the given techdocs-ref. Like BillPay's portal, it links to an
// upstream repository, which docs built from the checkout ignore.
func (e *env) fileEntity(name, techdocsRef, etag string) catalog.Ref {
	return e.put("Component", name, etag, map[string]string{
		catalog.AnnotationManagedByLocation:       "file:" + filepath.Join(e.root, "catalog", "components", name+".yaml"),
		catalog.AnnotationManagedByOriginLocation: "file:" + filepath.Join(e.root, "catalog", "all.yaml"),
		catalog.AnnotationSourceLocation:          "url:https://github.com/billpay/" + name + "/tree/main/",
		catalog.AnnotationTechDocsRef:             techdocsRef,
	})
}

func (e *env) docs(dir string) {
	e.write(dir+"/mkdocs.yml", "site_name: Portal docs\nnav:\n  - Home: index.md\n  - Runbook: runbook.md\n")
	e.write(dir+"/docs/index.md", "# Welcome\n\nSee the [runbook](runbook.md#rolling-back).\n")
	e.write(dir+"/docs/runbook.md", "# Payment runbook\n\n## Rolling back\n\nRoll the payment-service deployment back.\n")
}

// sync runs a sync and returns its events.
func doSync(t *testing.T, svc *tdservice.Service, ref catalog.Ref) []tdservice.SyncEvent {
	t.Helper()
	var events []tdservice.SyncEvent
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, svc.Sync(ctx, ref, func(ev tdservice.SyncEvent) { events = append(events, ev) }))
	require.NotEmpty(t, events)
	return events
}

func last(events []tdservice.SyncEvent) tdservice.SyncEvent { return events[len(events)-1] }

func logs(events []tdservice.SyncEvent) string {
	var b strings.Builder
	for _, ev := range events {
		if ev.Type == "log" {
			b.WriteString(ev.Message + "\n")
		}
	}
	return b.String()
}

func read(t *testing.T, svc *tdservice.Service, ref catalog.Ref, name string) (string, string) {
	t.Helper()
	r, ct, err := svc.Open(context.Background(), ref, name)
	require.NoError(t, err, name)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b), ct
}

func status(t *testing.T, svc *tdservice.Service, ref catalog.Ref) tdservice.Build {
	t.Helper()
	bs, err := svc.Status(context.Background(), &ref)
	require.NoError(t, err)
	return bs[0]
}

func TestSyncBuildsPublishesAndIndexes(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, os.Mkdir(filepath.Join(e.root, ".git"), 0o755))
	e.docs("techdocs")
	ref := e.fileEntity("portal", "dir:../../techdocs", "e1")
	svc := e.service(nil)

	events := doSync(t, svc, ref)
	require.Equal(t, tdservice.SyncEvent{Type: "finish", Updated: true}, last(events), logs(events))
	require.Contains(t, logs(events), "Building the docs of component:default/portal")

	meta, err := svc.Metadata(context.Background(), ref)
	require.NoError(t, err)
	var m techdocs.Metadata
	require.NoError(t, json.Unmarshal(meta, &m))
	require.Equal(t, "Portal docs", m.SiteName)
	require.NotEmpty(t, m.Etag)

	page, ct := read(t, svc, ref, "runbook/index.html")
	require.Contains(t, page, `<h2 id="rolling-back">`)
	require.Equal(t, "text/plain; charset=utf-8", ct, "HTML is never served as a page")

	b := status(t, svc, ref)
	require.Equal(t, tdservice.StateSucceeded, b.State)
	require.Equal(t, m.Etag, b.Etag)
	require.Empty(t, b.Warnings)
	require.Empty(t, b.LeaseOwner)

	rs, err := e.search.Query(context.Background(), search.Query{Term: "rolling back", Types: []string{search.TypeTechDocs}})
	require.NoError(t, err)
	require.Len(t, rs.Results, 1)
	require.Equal(t, "/docs/default/component/portal/runbook/", rs.Results[0].Document["location"])

	_, loc, err := svc.EntityMetadata(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, &tdservice.LocationMetadata{Type: "dir", Target: filepath.Join(e.root, "techdocs")}, loc)

	t.Run("a second visit within the sync interval finishes at once", func(t *testing.T) {
		require.Equal(t, []tdservice.SyncEvent{{Type: "finish"}}, doSync(t, svc, ref))
	})

	t.Run("an unchanged source is not built again", func(t *testing.T) {
		again := e.service(func(o *tdservice.Options) { o.SyncCheckInterval = time.Nanosecond })
		events := doSync(t, again, ref)
		require.Equal(t, tdservice.SyncEvent{Type: "finish"}, last(events), logs(events))
		require.Contains(t, logs(events), "up to date")
		require.Equal(t, m.Etag, status(t, again, ref).Etag)
	})

	t.Run("a changed source is built again, rendering only what changed", func(t *testing.T) {
		again := e.service(func(o *tdservice.Options) { o.SyncCheckInterval = time.Nanosecond })
		e.write("techdocs/docs/runbook.md", "# Payment runbook\n\n## Rolling back\n\nRoll back with `kubectl rollout undo`.\n")
		events := doSync(t, again, ref)
		require.Equal(t, tdservice.SyncEvent{Type: "finish", Updated: true}, last(events), logs(events))
		page, _ := read(t, again, ref, "runbook/index.html")
		require.Contains(t, page, "kubectl rollout undo")
		require.NotEqual(t, m.Etag, status(t, again, ref).Etag)
	})

	t.Run("asking for a rebuild rebuilds an unchanged source", func(t *testing.T) {
		before := status(t, svc, ref)
		b, err := svc.RequestBuild(context.Background(), ref)
		require.NoError(t, err)
		require.True(t, b.Force)
		events := doSync(t, svc, ref)
		require.Equal(t, tdservice.SyncEvent{Type: "finish", Updated: true}, last(events), logs(events))
		after := status(t, svc, ref)
		require.False(t, after.Force)
		require.True(t, after.FinishedAt.After(*before.FinishedAt) || after.FinishedAt.Equal(*before.FinishedAt))
	})

	t.Run("reports a missing entity before streaming", func(t *testing.T) {
		err := svc.Sync(context.Background(), catalog.Ref{Kind: "Component", Namespace: "default", Name: "nope"}, func(tdservice.SyncEvent) {
			t.Fatal("no events for a missing entity")
		})
		require.True(t, errs.Is(err, errs.NotFound))
		_, _, err = svc.Open(context.Background(), catalog.Ref{Kind: "Component", Namespace: "default", Name: "nope"}, "index.html")
		require.True(t, errs.Is(err, errs.NotFound))
	})

	t.Run("refuses file names that leave the site", func(t *testing.T) {
		for _, name := range []string{"../../../etc/passwd", "/../x", "a/../../b", ""} {
			_, _, err := svc.Open(context.Background(), ref, name)
			require.Error(t, err, name)
		}
	})
}

func TestSourcesThatLeaveTheirTreeAreRefused(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, os.Mkdir(filepath.Join(e.root, ".git"), 0o755))
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.md"), []byte("# Secret\n\nhunter2\n"), 0o644))
	e.docs("techdocs")
	svc := e.service(nil)

	for name, c := range map[string]struct {
		ref  catalog.Ref
		want string
	}{
		"climbing out of the repository": {e.fileEntity("climber", "dir:../../..", "e1"), "leaves " + e.root},
		"an absolute path":               {e.fileEntity("absolute", "dir:"+outside, "e1"), "must be relative"},
		"an unknown reference type":      {e.fileEntity("gitref", "git:https://example.com/x.git", "e1"), "only dir: and url:"},
	} {
		t.Run(name, func(t *testing.T) {
			ev := last(doSync(t, svc, c.ref))
			require.Equal(t, "error", ev.Type)
			require.Contains(t, ev.Message, c.want)
			b := status(t, svc, c.ref)
			require.Equal(t, tdservice.StateFailed, b.State)
			require.Contains(t, b.Error, c.want, "the status says why")
		})
	}

	t.Run("a symbolic link out of the docs", func(t *testing.T) {
		e.docs("linked")
		require.NoError(t, os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(e.root, "linked", "docs", "secret.md")))
		ref := e.fileEntity("linked", "dir:../../linked", "e1")
		events := doSync(t, svc, ref)
		require.Equal(t, "error", last(events).Type, logs(events))
		require.Contains(t, last(events).Message, "outside the source directory")
		_, _, err := svc.Open(context.Background(), ref, "secret/index.html")
		require.True(t, errs.Is(err, errs.NotFound), "nothing of the secret was published")
	})

	t.Run("without a repository the location's directory is the boundary", func(t *testing.T) {
		bare := newEnv(t)
		bare.docs("techdocs")
		bare.docs("catalog/docs-here")
		svc := bare.service(nil)
		require.Equal(t, "error", last(doSync(t, svc, bare.fileEntity("up", "dir:../../techdocs", "e1"))).Type)
		require.Equal(t, "finish", last(doSync(t, svc, bare.fileEntity("down", "dir:../docs-here", "e1"))).Type)
	})
}

func TestOneBuildPerEntity(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, os.Mkdir(filepath.Join(e.root, ".git"), 0o755))
	e.docs("techdocs")
	ref := e.fileEntity("portal", "dir:../../techdocs", "e1")

	t.Run("visitors on one replica share its build", func(t *testing.T) {
		svc := e.service(nil)
		var wg sync.WaitGroup
		results := make([][]tdservice.SyncEvent, 4)
		for i := range results {
			wg.Go(func() { results[i] = doSync(t, svc, ref) })
		}
		wg.Wait()
		builds := 0
		for _, events := range results {
			require.Equal(t, "finish", last(events).Type)
			builds += strings.Count(logs(events), "Building the docs")
		}
		require.LessOrEqual(t, builds, len(results), "every visitor sees at most the one build's log")
	})

	t.Run("a visitor on another replica waits for the replica that builds", func(t *testing.T) {
		ctx := context.Background()
		now := time.Now().UTC()
		b, ok, err := e.st.ClaimDocs(ctx, ref.Lower().String(), "replica-b", time.Minute, now)
		require.NoError(t, err)
		require.True(t, ok)
		svc := e.service(func(o *tdservice.Options) { o.SyncCheckInterval = time.Nanosecond })
		done := make(chan []tdservice.SyncEvent)
		go func() { done <- doSync(t, svc, ref) }()
		time.Sleep(700 * time.Millisecond)
		b.Etag, b.CheckedAt, b.NextCheckAt = "published-by-b", &now, now.Add(time.Hour)
		require.NoError(t, e.st.FinishDocs(ctx, "replica-b", b))
		select {
		case events := <-done:
			require.Contains(t, logs(events), "Another Portal replica is building")
			require.Equal(t, tdservice.SyncEvent{Type: "finish", Updated: true}, last(events))
		case <-time.After(10 * time.Second):
			t.Fatal("the waiting visitor never finished")
		}
	})
}

func TestBackgroundBuilder(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, os.Mkdir(filepath.Join(e.root, ".git"), 0o755))
	e.docs("techdocs")
	e.docs("other")
	portal := e.fileEntity("portal", "dir:../../techdocs", "e1")
	other := e.fileEntity("other", "dir:../../other", "e1")
	e.put("Component", "no-docs", "e1", nil)
	svc := e.service(func(o *tdservice.Options) { o.CheckInterval = 200 * time.Millisecond; o.Concurrency = 1 })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, 20*time.Millisecond) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	built := func(ref catalog.Ref) bool {
		bs, err := svc.Status(context.Background(), &ref)
		return err == nil && bs[0].State == tdservice.StateSucceeded
	}
	waitFor("both sites", func() bool { return built(portal) && built(other) })
	all, err := svc.Status(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, all, 2, "only entities with docs are tracked")

	first := status(t, svc, portal).Etag
	e.write("techdocs/docs/index.md", "# Welcome back\n")
	waitFor("the changed site", func() bool { return status(t, svc, portal).Etag != first })
	page, _ := read(t, svc, portal, "index.html")
	require.Contains(t, page, "Welcome back")

	t.Run("forgets docs the catalog no longer has", func(t *testing.T) {
		e.catalog.delete("uid-other")
		waitFor("the removal", func() bool {
			_, err := svc.Status(context.Background(), &other)
			return errs.Is(err, errs.NotFound)
		})
		waitFor("its pages to leave search", func() bool {
			rs, err := e.search.Query(context.Background(), search.Query{Filters: map[string][]string{"name": {"other"}}})
			require.NoError(t, err)
			return len(rs.Results) == 0
		})
	})

	t.Run("looks for documented entities only when the catalog version moves", func(t *testing.T) {
		e.docs("late")
		late := e.fileEntity("late", "dir:../../late", "e1")
		// The same entity again, as a change the version does not show.
		e.catalog.version.Add(-1)
		time.Sleep(300 * time.Millisecond) // fifteen polls
		_, err := svc.Status(context.Background(), &late)
		require.True(t, errs.Is(err, errs.NotFound), "discovered while the catalog version stood still: %v", err)
		e.catalog.version.Add(1)
		waitFor("the new site", func() bool { return built(late) })
	})
}

func TestDocsFromGitHub(t *testing.T) {
	gh := githubtest.NewServer(t)
	gh.AddRepo("billpay", "payments", "main")
	gh.PutFile("billpay", "payments", "catalog-info.yaml", "kind: Component")
	gh.PutFile("billpay", "payments", "mkdocs.yml", "site_name: Payments\n")
	gh.PutFile("billpay", "payments", "docs/index.md", "# Payments\n\nSee [the API](api/overview.md).\n")
	gh.PutFile("billpay", "payments", "docs/api/overview.md", "# API overview\n\nIdempotency keys.\n")
	gh.PutFile("billpay", "payments", "docs/.hidden.md", "# not docs\n")
	client, err := github.NewClient(gh.URL(), "", nil)
	require.NoError(t, err)

	e := newEnv(t)
	svc := e.service(func(o *tdservice.Options) {
		o.GitHub = map[string]tdservice.GitHubContents{"github.com": client}
		o.SyncCheckInterval = time.Nanosecond
	})
	blob := "https://github.com/billpay/payments/blob/main/catalog-info.yaml"
	ref := e.put("Component", "payments", "e1", map[string]string{
		catalog.AnnotationManagedByLocation: "url:" + blob, catalog.AnnotationTechDocsRef: "dir:."})

	events := doSync(t, svc, ref)
	require.Equal(t, tdservice.SyncEvent{Type: "finish", Updated: true}, last(events), logs(events))
	page, _ := read(t, svc, ref, "api/overview/index.html")
	require.Contains(t, page, "Idempotency keys")
	_, loc, err := svc.EntityMetadata(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, &tdservice.LocationMetadata{Type: "url", Target: "https://github.com/billpay/payments/tree/main"}, loc)

	t.Run("checks a GitHub tree by its listing, without downloading it", func(t *testing.T) {
		gh.ResetRequests()
		require.Equal(t, tdservice.SyncEvent{Type: "finish"}, last(doSync(t, svc, ref)))
		for _, r := range gh.Requests() {
			require.NotContains(t, r, ".md", "no file was downloaded: %v", gh.Requests())
		}
	})

	t.Run("rebuilds when a file changes", func(t *testing.T) {
		gh.PutFile("billpay", "payments", "docs/api/overview.md", "# API overview\n\nIdempotency keys, and retries with backoff.\n")
		require.Equal(t, tdservice.SyncEvent{Type: "finish", Updated: true}, last(doSync(t, svc, ref)))
		page, _ := read(t, svc, ref, "api/overview/index.html")
		require.Contains(t, page, "retries with backoff")
	})

	t.Run("reads dir: references against a source-location elsewhere in the repository", func(t *testing.T) {
		gh.PutFile("billpay", "payments", "services/ledger/mkdocs.yml", "site_name: Ledger\n")
		gh.PutFile("billpay", "payments", "services/ledger/docs/index.md", "# Ledger internals\n")
		ledger := e.put("Component", "ledger", "e1", map[string]string{
			catalog.AnnotationManagedByLocation: "url:" + blob,
			catalog.AnnotationSourceLocation:    "url:https://github.com/billpay/payments/tree/main/services/ledger/",
			catalog.AnnotationTechDocsRef:       "dir:."})
		require.Equal(t, "finish", last(doSync(t, svc, ledger)).Type)
		page, _ := read(t, svc, ledger, "index.html")
		require.Contains(t, page, "Ledger internals")
	})

	t.Run("reads url: references to a tree", func(t *testing.T) {
		gh.PutFile("billpay", "payments", "handbook/docs/index.md", "# Handbook\n")
		tree := e.put("System", "payments-system", "e1", map[string]string{
			catalog.AnnotationTechDocsRef: "url:https://github.com/billpay/payments/tree/main/handbook"})
		require.Equal(t, "finish", last(doSync(t, svc, tree)).Type)
		page, _ := read(t, svc, tree, "index.html")
		require.Contains(t, page, "Handbook")
	})

	t.Run("refuses dir: references out of the repository and hosts not configured", func(t *testing.T) {
		out := e.put("Component", "escape", "e1", map[string]string{
			catalog.AnnotationManagedByLocation: "url:" + blob, catalog.AnnotationTechDocsRef: "dir:../other-repo"})
		ev := last(doSync(t, svc, out))
		require.Equal(t, "error", ev.Type)
		require.Contains(t, ev.Message, "leaves repository billpay/payments")
		elsewhere := e.put("Component", "gitlab", "e1", map[string]string{
			catalog.AnnotationTechDocsRef: "url:https://gitlab.example.com/billpay/payments/tree/main"})
		require.Contains(t, last(doSync(t, svc, elsewhere)).Message, "not a configured GitHub host")
	})
}

func TestExternalBuilds(t *testing.T) {
	e := newEnv(t)
	ref := e.put("Component", "payments", "e1", map[string]string{catalog.AnnotationTechDocsRef: "dir:."})
	svc := e.service(func(o *tdservice.Options) { o.External = true; o.CheckInterval = 50 * time.Millisecond })

	require.Equal(t, []tdservice.SyncEvent{{Type: "finish"}}, doSync(t, svc, ref), "nothing to build here")
	_, err := svc.RequestBuild(context.Background(), ref)
	require.True(t, errs.Is(err, errs.Invalid))

	site, err := techdocs.Build(context.Background(), os.DirFS(writeSite(t)), techdocs.Options{})
	require.NoError(t, err)
	require.NoError(t, e.publisher.Publish(context.Background(), ref, site))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, 10*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		bs, err := svc.Status(context.Background(), &ref)
		if err == nil && bs[0].State == tdservice.StateSucceeded {
			require.Equal(t, site.Metadata.Etag, bs[0].Etag)
			break
		}
		require.True(t, time.Now().Before(deadline), "the published site was never recorded")
		time.Sleep(10 * time.Millisecond)
	}
	rs, err := e.search.Query(context.Background(), search.Query{Term: "ledger", Types: []string{search.TypeTechDocs}})
	require.NoError(t, err)
	require.Len(t, rs.Results, 1, "what CI published is searchable")
}

func writeSite(t *testing.T) string {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "docs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mkdocs.yml"), []byte("site_name: Payments\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docs", "index.md"), []byte("# Ledger\n\nDouble entry.\n"), 0o644))
	return dir
}

// gatedPublisher is the real local publisher behind a gate that holds every publish until the
// context ends: a build that is still publishing when the server stops.
type gatedPublisher struct {
	*localpublisher.Publisher
	publishing chan struct{}
}

func (g *gatedPublisher) Publish(ctx context.Context, entity catalog.Ref, site fs.FS) error {
	close(g.publishing)
	<-ctx.Done()
	return ctx.Err()
}

func TestStoppingMidBuildGivesTheEntityBack(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, os.Mkdir(filepath.Join(e.root, ".git"), 0o755))
	e.docs("techdocs")
	ref := e.fileEntity("portal", "dir:../../techdocs", "e1")
	gate := &gatedPublisher{Publisher: e.publisher, publishing: make(chan struct{})}
	svc := e.service(func(o *tdservice.Options) { o.Publisher = gate })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, 10*time.Millisecond) }()
	select {
	case <-gate.publishing:
	case <-time.After(20 * time.Second):
		t.Fatal("the build never reached publishing")
	}
	require.Equal(t, tdservice.StateBuilding, status(t, svc, ref).State)
	cancel()
	require.NoError(t, <-done, "Run returns once its builds gave their entities back")
	b := status(t, svc, ref)
	require.Equal(t, tdservice.StatePending, b.State, "an interrupted build is not a failure")
	require.Empty(t, b.LeaseOwner)
	require.Empty(t, b.Error)
}
