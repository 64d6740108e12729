package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/search"
	"github.com/billpay/portal/internal/techdocs"
)

// SyncEvent is one event of a docs sync, as Backstage's /sync stream sends them.
type SyncEvent struct {
	// Type is "log", "error" (the sync failed; Message says why) or "finish".
	Type    string
	Message string
	// Updated, on finish, tells whether new docs were published.
	Updated bool
}

// maxLoggedWarnings bounds the warning lines a sync streams; the status keeps them all.
const maxLoggedWarnings = 50

// run is one check (and build, when needed) of one entity's docs on this replica. Everyone who
// asks for the same entity while it runs follows the same run.
type run struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
	done    bool
	updated bool
	err     error
}

func newRun() *run { return &run{changed: make(chan struct{})} }

func (r *run) log(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *run) finish(updated bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done, r.updated, r.err = true, updated, err
	close(r.changed)
}

// follow sends every line of the run, then its outcome, until ctx ends.
func (r *run) follow(ctx context.Context, emit func(SyncEvent)) error {
	sent := 0
	for {
		r.mu.Lock()
		lines := r.lines[sent:]
		done, updated, err, changed := r.done, r.updated, r.err, r.changed
		r.mu.Unlock()
		for _, l := range lines {
			emit(SyncEvent{Type: "log", Message: l})
		}
		sent += len(lines)
		if done {
			if err != nil {
				emit(SyncEvent{Type: "error", Message: errs.MessageOf(err)})
			} else {
				emit(SyncEvent{Type: "finish", Updated: updated})
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// Sync brings the entity's docs up to date the way Backstage's reader asks on every visit: it
// checks the source (at most once per SyncCheckInterval), builds and publishes when it changed,
// and reports through emit: log lines, then finish (with whether new docs were published) or
// error. It returns errs.NotFound before emitting anything when the entity does not exist; it
// returns ctx's error if the caller leaves, while the build goes on for the next visitor.
func (s *Service) Sync(ctx context.Context, ref catalog.Ref, emit func(SyncEvent)) error {
	docs, err := s.docsRef(ref)
	if err != nil {
		return err
	}
	e, _, err := s.entity(docs)
	if err != nil {
		return err
	}
	if e.Annotation(catalog.AnnotationTechDocsRef) == "" {
		emit(SyncEvent{Type: "error", Message: fmt.Sprintf("entity %s has no %s annotation", docs.String(), catalog.AnnotationTechDocsRef)})
		return nil
	}
	key := docs.String()
	b, err := s.opts.Builds.GetDocsBuild(ctx, key)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	if err == nil && s.recentlyChecked(b) {
		switch b.State {
		case StateSucceeded:
			emit(SyncEvent{Type: "finish"})
			return nil
		case StateFailed:
			emit(SyncEvent{Type: "error", Message: b.Error})
			return nil
		}
	}
	if s.opts.External && (err != nil || b.State == StatePending) {
		// Nothing to build here; the published docs are what there is.
		emit(SyncEvent{Type: "finish"})
		return nil
	}
	return s.start(ctx, key, nil).follow(ctx, emit)
}

func (s *Service) recentlyChecked(b Build) bool {
	leased := b.LeaseUntil != nil && b.LeaseUntil.After(s.now())
	return b.CheckedAt != nil && !b.Force && !leased && s.now().Sub(*b.CheckedAt) < s.opts.SyncCheckInterval
}

// start returns the run of key on this replica, starting one if none is going. claimed is the
// build when the caller already holds its lease.
func (s *Service) start(parent context.Context, key string, claimed *Build) *run {
	s.mu.Lock()
	if r := s.runs[key]; r != nil {
		s.mu.Unlock()
		return r
	}
	r := newRun()
	s.runs[key] = r
	base := s.base
	s.mu.Unlock()
	if base == nil {
		// No background loop (an offline tool, a test): the build still outlives its caller.
		base = context.WithoutCancel(parent)
	}
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		ctx, cancel := context.WithTimeout(base, s.opts.BuildTimeout)
		defer cancel()
		updated, err := s.execute(ctx, key, claimed, r)
		s.mu.Lock()
		delete(s.runs, key)
		s.mu.Unlock()
		r.finish(updated, err)
	}()
	return r
}

func (s *Service) execute(ctx context.Context, key string, claimed *Build, r *run) (bool, error) {
	b := claimed
	if b == nil {
		got, ok, err := s.opts.Builds.ClaimDocs(ctx, key, s.opts.Owner, s.opts.Lease, s.now())
		if err != nil {
			return false, err
		}
		if !ok {
			return s.waitForOther(ctx, key, got.Etag, r)
		}
		b = &got
	}
	stop := s.renewLease(ctx, key)
	defer stop()
	select {
	case s.sem <- struct{}{}:
	default:
		r.log("Waiting for a free builder (%d builds running on this replica)", cap(s.sem))
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	defer func() { <-s.sem }()
	return s.check(ctx, *b, r)
}

// renewLease keeps the entity's lease while a long build runs.
func (s *Service) renewLease(ctx context.Context, key string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, ok, err := s.opts.Builds.ClaimDocs(ctx, key, s.opts.Owner, s.opts.Lease, s.now()); err != nil || !ok {
					s.opts.Log.Warn("cannot renew a docs build lease", "entity", key, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// waitForOther follows a build another replica runs, through the database, until it ends.
func (s *Service) waitForOther(ctx context.Context, key, etagBefore string, r *run) (bool, error) {
	r.log("Another Portal replica is building these docs; waiting for it to finish")
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-t.C:
		}
		b, err := s.opts.Builds.GetDocsBuild(ctx, key)
		if err != nil {
			return false, err
		}
		if b.LeaseOwner != "" && b.LeaseUntil != nil && b.LeaseUntil.After(s.now()) {
			continue
		}
		if b.State == StateFailed {
			return false, errs.E(errs.Unavailable, "%s", b.Error)
		}
		return b.Etag != etagBefore, nil
	}
}

// sourceHash identifies what a build depends on: the source's content, where it is, the builder,
// strictness and the entity's title (the site name when mkdocs.yml has none).
func (s *Service) sourceHash(src *docsSource, e catalog.Entity) string {
	h := sha256.New()
	title, _ := e.Metadata()["title"].(string)
	fmt.Fprintf(h, "%s\x00%t\x00%s\x00%s\x00%s", techdocs.BuilderVersion, s.opts.Strict, title, src.location.Target, src.hash)
	return hex.EncodeToString(h.Sum(nil))
}

func entityEtag(e catalog.Entity) string {
	s, _ := e.Metadata()["etag"].(string)
	return s
}

// check checks one leased entity's docs and builds them when the source changed, recording the
// outcome (which releases the lease).
func (s *Service) check(ctx context.Context, b Build, r *run) (bool, error) {
	started := s.now()
	out := b
	// Force now says whether this check was a forced one (see BuildStore.FinishDocs).
	out.CheckedAt = &started
	// A little jitter keeps a catalog loaded at once from being checked at once ever after.
	out.NextCheckAt = started.Add(s.opts.CheckInterval + time.Duration(rand.Int64N(int64(s.opts.CheckInterval/10)+1)))
	updated, err := s.checkAndBuild(ctx, b, &out, r)
	if err != nil && ctx.Err() == context.Canceled {
		// The server is stopping: give the entity back as it was, due again, for the next replica
		// or start to check; an interrupted build is not a failed one.
		out = b
		out.Force, out.NextCheckAt = false, started
		if ferr := s.opts.Builds.FinishDocs(context.WithoutCancel(ctx), s.opts.Owner, out); ferr != nil {
			s.opts.Log.Warn("cannot release a docs build lease", "entity", b.EntityRef, "err", ferr)
		}
		return false, err
	}
	if err != nil {
		out.State, out.Error = StateFailed, errs.MessageOf(err)
		if errs.CodeOf(err) == errs.Internal {
			out.Error = "the docs build failed on the server; its log says why"
		}
		if errs.Is(err, errs.Unavailable) || ctx.Err() != nil {
			// Reading the source or writing the site failed for now: try again soon.
			out.NextCheckAt = s.now().Add(min(time.Minute, s.opts.CheckInterval))
		}
		s.opts.Log.Warn("docs build failed", "entity", b.EntityRef, "err", err)
		if b.State == StateSucceeded && out.Etag != "" {
			r.log("The previously published docs stay in place")
		}
	}
	done := s.now()
	if out.State == StateSucceeded && updated || out.State == StateFailed {
		out.FinishedAt = &done
	}
	if ferr := s.opts.Builds.FinishDocs(context.WithoutCancel(ctx), s.opts.Owner, out); ferr != nil {
		s.opts.Log.Error("cannot record a docs build", "entity", b.EntityRef, "err", ferr)
		if err == nil {
			err = ferr
		}
	}
	return updated, err
}

func (s *Service) checkAndBuild(ctx context.Context, b Build, out *Build, r *run) (bool, error) {
	ref, err := catalog.ParseRefFromTargetRef(b.EntityRef)
	if err != nil {
		return false, err
	}
	e, _, err := s.entity(ref)
	if err != nil {
		return false, err
	}
	out.EntityEtag = entityEtag(e)
	if s.opts.External {
		return s.checkPublished(ctx, e, ref, b, out)
	}
	spec, err := s.locateSource(e)
	if err != nil {
		return false, err
	}
	r.log("Checking the docs source at %s", spec.location.Target)
	src, err := spec.prepare(ctx)
	if err != nil {
		return false, err
	}
	hash := s.sourceHash(src, e)
	if !b.Force && hash == b.SourceHash && b.State == StateSucceeded {
		r.log("The docs are up to date")
		out.Error = ""
		if b.EntityEtag != out.EntityEtag {
			// The entity changed but not its docs: its fields on the search documents did.
			if err := s.indexPublished(ctx, e, ref); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	started := s.now()
	out.StartedAt = &started
	if err := s.opts.Builds.StartDocsBuild(ctx, b.EntityRef, s.opts.Owner, started); err != nil {
		return false, err
	}
	fsys, release, err := src.open(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	r.log("Building the docs of %s", ref.String())
	site, err := techdocs.Build(ctx, fsys, techdocs.Options{Strict: s.opts.Strict, SiteName: entityTitle(e),
		Cache: s.cache(b.EntityRef), Progress: func(p techdocs.Progress) {
			if p.Phase != "render" || p.Done == p.Total {
				r.log("%s", p.Message)
			}
		}})
	if site != nil {
		out.Warnings = site.Warnings
		for i, w := range site.Warnings {
			if i == maxLoggedWarnings {
				r.log("… and %d more warnings", len(site.Warnings)-i)
				break
			}
			r.log("Warning: %s", w.String())
		}
	}
	if err != nil {
		return false, err
	}
	r.log("Publishing %d files", len(site.Files()))
	if err := s.opts.Publisher.Publish(ctx, ref, site); err != nil {
		return false, err
	}
	s.keepCache(b.EntityRef, site.Cache)
	out.State, out.Error, out.Etag, out.SourceHash = StateSucceeded, "", site.Metadata.Etag, hash
	if err := s.indexSite(ctx, e, ref, site); err != nil {
		// The docs are published; search catches up at the next check.
		s.opts.Log.Error("cannot index docs for search", "entity", ref.String(), "err", err)
		r.log("The docs are published but could not be indexed for search")
	}
	r.log("Published the docs of %s", ref.String())
	return true, nil
}

// checkPublished is a check when sites are published from outside: it records what is published
// and indexes it when it changed.
func (s *Service) checkPublished(ctx context.Context, e catalog.Entity, ref catalog.Ref, b Build, out *Build) (bool, error) {
	meta, err := techdocs.ReadMetadata(ctx, s.opts.Publisher, ref)
	if errs.Is(err, errs.NotFound) {
		out.State, out.Error = StatePending, ""
		return false, nil
	}
	if err != nil {
		return false, err
	}
	changed := meta.Etag != b.Etag
	if changed || b.EntityEtag != out.EntityEtag {
		if err := s.indexPublished(ctx, e, ref); err != nil {
			return false, err
		}
	}
	at := time.UnixMilli(meta.BuildTimestamp).UTC()
	out.State, out.Error, out.Etag, out.FinishedAt = StateSucceeded, "", meta.Etag, &at
	return changed, nil
}

func entityTitle(e catalog.Entity) string {
	if t, ok := e.Metadata()["title"].(string); ok && strings.TrimSpace(t) != "" {
		return t
	}
	return e.Name()
}

func (s *Service) indexSite(ctx context.Context, e catalog.Entity, ref catalog.Ref, site *techdocs.Site) error {
	if s.opts.Search == nil {
		return nil
	}
	raw, err := site.ReadFile(techdocs.SearchIndexFile)
	if err != nil {
		return err
	}
	return s.index(ctx, e, ref, raw, site.Metadata.BuildTimestamp)
}

// indexPublished indexes a site from its published search index, for sites this replica did not
// just build.
func (s *Service) indexPublished(ctx context.Context, e catalog.Entity, ref catalog.Ref) error {
	if s.opts.Search == nil {
		return nil
	}
	meta, err := techdocs.ReadMetadata(ctx, s.opts.Publisher, ref)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		return err
	}
	f, err := s.opts.Publisher.Open(ctx, ref, techdocs.SearchIndexFile)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		return err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, 256<<20))
	if err != nil {
		return err
	}
	return s.index(ctx, e, ref, raw, meta.BuildTimestamp)
}

func (s *Service) index(ctx context.Context, e catalog.Entity, ref catalog.Ref, raw []byte, version int64) error {
	var idx techdocs.SearchIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return errs.Wrap(errs.Invalid, err, "the search index of %s is not JSON", ref.String())
	}
	return s.opts.Search.Replace(ctx, search.TechDocsSource(ref), version, search.TechDocsDocuments(e, Pages(idx)))
}

// Pages turns an mkdocs search index (one entry per page and one per heading) into one search
// page per docs page, with its headings beside it.
func Pages(idx techdocs.SearchIndex) []search.DocsPage {
	var pages []search.DocsPage
	at := map[string]int{}
	for _, d := range idx.Docs {
		if strings.Contains(d.Location, "#") {
			continue
		}
		at[d.Location] = len(pages)
		pages = append(pages, search.DocsPage{Path: d.Location, Title: d.Title, Text: d.Text})
	}
	for _, d := range idx.Docs {
		page, _, ok := strings.Cut(d.Location, "#")
		if !ok {
			continue
		}
		if i, found := at[page]; found && d.Title != "" {
			pages[i].Headings = append(pages[i].Headings, d.Title)
		}
	}
	return pages
}

// techDocsFilter selects the entities that have docs of their own.
var techDocsFilter = func() catalog.Filter {
	f, err := catalog.ParseFilterParams([]string{"metadata.annotations." + catalog.AnnotationTechDocsRef})
	if err != nil {
		panic(err)
	}
	return f
}()

// retrackEvery is how often the tracked set is sent again though the catalog looked unchanged,
// which repairs what another replica's older view of the catalog undid.
const retrackEvery = 5 * time.Minute

// Run checks due docs until ctx ends: entities whose source check is due, entities the catalog
// changed, and rebuilds people asked for, at most Concurrency at once on this replica.
func (s *Service) Run(ctx context.Context, poll time.Duration) error {
	s.mu.Lock()
	s.base = ctx
	s.mu.Unlock()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := s.discover(ctx); err != nil && ctx.Err() == nil {
			s.opts.Log.Error("cannot track docs entities", "err", err)
		}
		if err := s.dispatch(ctx); err != nil && ctx.Err() == nil {
			s.opts.Log.Error("cannot claim docs builds", "err", err)
		}
		select {
		case <-ctx.Done():
			// Runs stop with ctx; wait for them to give their entities back.
			s.running.Wait()
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// discover tells the build store which entities have docs, when that changed.
func (s *Service) discover(ctx context.Context) error {
	// Reading every documented entity costs a decode each (a third of a core every poll for 10,000 of them), so
	// it waits for the catalog to change, or for the next retrack.
	version := s.opts.Catalog.Version()
	s.mu.Lock()
	unchanged := s.tracked != nil && version == s.discovered && s.now().Sub(s.trackedAt) < retrackEvery
	s.mu.Unlock()
	if unchanged {
		return nil
	}
	items, _ := s.opts.Catalog.Index().List(catalog.ListRequest{Filter: techDocsFilter})
	current := make(map[string]string, len(items))
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			Etag      string `json:"etag"`
		} `json:"metadata"`
	}
	for _, raw := range items {
		meta.Metadata.Namespace, meta.Metadata.Etag = "", ""
		if json.Unmarshal(raw, &meta) != nil {
			continue
		}
		ns := meta.Metadata.Namespace
		if ns == "" {
			ns = catalog.DefaultNamespace
		}
		current[catalog.Ref{Kind: meta.Kind, Namespace: ns, Name: meta.Metadata.Name}.String()] = meta.Metadata.Etag
	}
	s.mu.Lock()
	same := sameMap(current, s.tracked) && s.now().Sub(s.trackedAt) < retrackEvery
	if same {
		s.discovered = version
	}
	s.mu.Unlock()
	if same {
		return nil
	}
	removed, err := s.opts.Builds.TrackDocs(ctx, current, s.now())
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.tracked, s.trackedAt, s.discovered = current, s.now(), version
	s.mu.Unlock()
	for _, key := range removed {
		ref, err := catalog.ParseRefFromTargetRef(key)
		if err != nil || s.opts.Search == nil {
			continue
		}
		if err := s.opts.Search.Remove(ctx, search.TechDocsSource(ref), s.now().UnixMilli()); err != nil {
			s.opts.Log.Error("cannot remove docs from search", "entity", key, "err", err)
		}
	}
	return nil
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) || b == nil {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// dispatch claims as many due entities as this replica has free builders and checks them.
func (s *Service) dispatch(ctx context.Context) error {
	s.mu.Lock()
	free := cap(s.sem) - len(s.runs)
	s.mu.Unlock()
	if free <= 0 {
		return nil
	}
	due, err := s.opts.Builds.ClaimDueDocs(ctx, s.opts.Owner, free, s.opts.Lease, s.now())
	if err != nil {
		return err
	}
	for _, b := range due {
		s.start(ctx, b.EntityRef, &b)
	}
	return nil
}
