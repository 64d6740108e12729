// Package service is TechDocs' application service: the operations behind Backstage's
// /api/techdocs routes and Portal's build status. It finds an entity's docs from its
// backstage.io/techdocs-ref annotation (on the server's disk or in a GitHub repository), builds them
// with techdocs.Build, publishes them through a techdocs.Publisher, indexes their pages for search,
// and records each entity's build in the database so that every replica reports the same status.
//
// Builds happen when someone opens the docs (Sync, as Backstage's reader does on every visit),
// when someone asks (RequestBuild), and in the background whenever an entity's docs source may
// have changed: when the catalog changes the entity, and every CheckInterval. A check that finds
// the source unchanged builds nothing. One replica at a time builds an entity (a lease in the
// database), and each replica builds at most Concurrency sites at once.
package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/search"
	"github.com/billpay/portal/internal/techdocs"
)

// Build states.
const (
	StatePending   = "pending"
	StateBuilding  = "building"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
)

// Build is the docs of one entity as the builders last left them.
type Build struct {
	EntityRef string
	// State is pending (never built), building, succeeded or failed.
	State      string
	StartedAt  *time.Time
	FinishedAt *time.Time
	// Warnings are the last build's diagnostics (broken links, unknown mkdocs.yml keys, ...).
	Warnings []techdocs.Diagnostic
	// Error is why the last check or build failed; "" after a success.
	Error string
	// Etag is the published site's etag (techdocs_metadata.json).
	Etag string
	// SourceHash identifies the source the published site was built from.
	SourceHash string
	// EntityEtag is the catalog etag of the entity at the last check.
	EntityEtag  string
	CheckedAt   *time.Time
	NextCheckAt time.Time
	// Force rebuilds at the next check even when the source is unchanged.
	Force      bool
	LeaseOwner string
	LeaseUntil *time.Time
}

// BuildStore keeps builds and their leases. internal/store implements it.
type BuildStore interface {
	// TrackDocs starts tracking entities (ref → catalog etag) not tracked yet, due at once, and
	// makes those whose etag differs from the one of their last check due at once. Entities
	// tracked but absent from entities are forgotten unless leased; their refs are returned.
	TrackDocs(ctx context.Context, entities map[string]string, now time.Time) (removed []string, err error)
	// ClaimDueDocs leases up to limit entities whose check is due to owner.
	ClaimDueDocs(ctx context.Context, owner string, limit int, lease time.Duration, now time.Time) ([]Build, error)
	// ClaimDocs leases one entity to owner, due or not, tracking it if it was not; ok is false
	// while another owner's lease runs. Owner's own lease is renewed.
	ClaimDocs(ctx context.Context, ref, owner string, lease time.Duration, now time.Time) (b Build, ok bool, err error)
	// StartDocsBuild marks an entity leased to owner as building.
	StartDocsBuild(ctx context.Context, ref, owner string, at time.Time) error
	// FinishDocs records the outcome of a check owner made (every field of b but the lease) and
	// releases the lease. It returns errs.Conflict, recording nothing, if owner lost the lease.
	FinishDocs(ctx context.Context, owner string, b Build) error
	// GetDocsBuild returns one entity's build; errs.NotFound when it is not tracked.
	GetDocsBuild(ctx context.Context, ref string) (Build, error)
	// ListDocsBuilds returns every tracked entity's build, by ref.
	ListDocsBuilds(ctx context.Context) ([]Build, error)
	// RequestDocsBuild makes an entity due at once and forces a rebuild, tracking it if needed.
	RequestDocsBuild(ctx context.Context, ref string, now time.Time) error
}

// Catalog is where entities come from.
type Catalog interface {
	Index() *catalog.Index
	// Version is the catalog version the index reflects; discovery looks again only when it moves.
	Version() int64
}

// SearchIndex receives the pages of every published site.
type SearchIndex interface {
	Replace(ctx context.Context, source string, version int64, docs []search.Document) error
	Remove(ctx context.Context, source string, version int64) error
}

// Options configures a Service.
type Options struct {
	Publisher techdocs.Publisher
	Builds    BuildStore
	Catalog   Catalog
	// Search indexes published pages; nil leaves them out of search.
	Search SearchIndex
	// GitHub reads url: docs, by web host ("github.com").
	GitHub map[string]GitHubContents
	// Owner names this replica in build leases.
	Owner string
	// External means sites are built and published elsewhere (CI running `portal techdocs
	// publish`): the service serves and indexes what is published but builds nothing, as
	// Backstage's techdocs.builder: external.
	External bool
	// Concurrency bounds the builds this replica runs at once (default 2).
	Concurrency int
	// Strict fails builds that have warnings.
	Strict bool
	// CheckInterval is how often each entity's source is checked for changes (default 10m).
	CheckInterval time.Duration
	// SyncCheckInterval is how long after a check opening the docs checks again (default 60s,
	// as Backstage throttles its reader's syncs).
	SyncCheckInterval time.Duration
	// Lease is how long a replica keeps an entity to itself between renewals (default 2m).
	Lease time.Duration
	// BuildTimeout bounds one check and build (default 10m).
	BuildTimeout time.Duration
	Log          *slog.Logger
	Now          func() time.Time
}

// Service implements the TechDocs operations.
type Service struct {
	opts Options
	sem  chan struct{}
	wake chan struct{}

	mu   sync.Mutex
	runs map[string]*run
	// running counts the runs' goroutines, which Run waits for before it returns.
	running sync.WaitGroup
	// caches keep each site's rendered pages between builds on this replica, so that a rebuild
	// renders only the pages that changed.
	caches map[string]*techdocs.Cache
	// base is the background loop's context; builds outlive the request that started them but
	// not the server.
	base context.Context
	// tracked is the entity set last given to TrackDocs, to skip unchanged rounds.
	tracked   map[string]string
	trackedAt time.Time
	// discovered is the catalog version the last discovery looked at.
	discovered int64
	// trees remembers the hashes of local docs trees.
	trees treeHashes
}

// maxCachedSites bounds the render caches a replica keeps.
const maxCachedSites = 64

// New returns a service. Publisher, Builds and Catalog are required.
func New(opts Options) (*Service, error) {
	if opts.Publisher == nil || opts.Builds == nil || opts.Catalog == nil {
		return nil, errs.E(errs.Invalid, "techdocs service needs a publisher, a build store and the catalog")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = 10 * time.Minute
	}
	if opts.SyncCheckInterval <= 0 {
		opts.SyncCheckInterval = time.Minute
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.BuildTimeout <= 0 {
		opts.BuildTimeout = 10 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Owner == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		opts.Owner = hex.EncodeToString(b)
	}
	return &Service{opts: opts, sem: make(chan struct{}, opts.Concurrency), wake: make(chan struct{}, 1),
		runs: map[string]*run{}, caches: map[string]*techdocs.Cache{}}, nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// entity returns an entity from the catalog; errs.NotFound names it when it is missing.
func (s *Service) entity(ref catalog.Ref) (catalog.Entity, []byte, error) {
	raw, ok := s.opts.Catalog.Index().Get(ref.String())
	if !ok {
		return nil, nil, errs.E(errs.NotFound, "entity %q not found", ref.String())
	}
	var e catalog.Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "stored entity %s is not JSON", ref.String())
	}
	return e, raw, nil
}

// docsRef is the entity whose site an entity shows: itself, or the one its
// backstage.io/techdocs-entity annotation names.
func (s *Service) docsRef(ref catalog.Ref) (catalog.Ref, error) {
	e, _, err := s.entity(ref)
	if err != nil {
		return catalog.Ref{}, err
	}
	if other := e.Annotation(AnnotationTechDocsEntity); other != "" {
		r, err := catalog.ParseRef(other, catalog.RefDefaults{Namespace: e.Namespace()})
		if err != nil {
			return catalog.Ref{}, errs.Wrap(errs.Invalid, err, "%s of %s: %s", AnnotationTechDocsEntity, ref.String(), errs.MessageOf(err))
		}
		if _, _, err := s.entity(r); err != nil {
			return catalog.Ref{}, err
		}
		return r.Lower(), nil
	}
	return ref.Lower(), nil
}

// Metadata returns the entity's published techdocs_metadata.json as stored. It returns
// errs.NotFound when the entity does not exist or its docs were never published.
func (s *Service) Metadata(ctx context.Context, ref catalog.Ref) ([]byte, error) {
	docs, err := s.docsRef(ref)
	if err != nil {
		return nil, err
	}
	r, err := s.opts.Publisher.Open(ctx, docs, techdocs.MetadataFile)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Wrap(errs.NotFound, err, "Unable to get metadata for '%s': the docs have not been built yet", ref.Lower().String())
		}
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "cannot read the docs metadata of %s: %v", ref.Lower().String(), err)
	}
	if !json.Valid(b) {
		return nil, errs.E(errs.Internal, "the docs metadata of %s is not JSON", ref.Lower().String())
	}
	return b, nil
}

// EntityMetadata returns the entity as stored and where its docs are read from.
func (s *Service) EntityMetadata(_ context.Context, ref catalog.Ref) ([]byte, *LocationMetadata, error) {
	e, raw, err := s.entity(ref)
	if err != nil {
		return nil, nil, err
	}
	if e.Annotation(catalog.AnnotationTechDocsRef) == "" {
		return raw, nil, nil
	}
	spec, err := s.locateSource(e)
	if err != nil {
		return nil, nil, err
	}
	return raw, &spec.location, nil
}

// Open returns one published file of the entity's docs and the Content-Type to serve it with
// (techdocs.ContentType: HTML and other active formats as text/plain). It returns errs.NotFound
// for a missing entity or file and errs.Invalid for a name that is not a clean relative path.
func (s *Service) Open(ctx context.Context, ref catalog.Ref, name string) (io.ReadCloser, string, error) {
	docs, err := s.docsRef(ref)
	if err != nil {
		return nil, "", err
	}
	clean, err := techdocs.CleanFileName(name)
	if err != nil {
		return nil, "", err
	}
	r, err := s.opts.Publisher.Open(ctx, docs, clean)
	if err != nil {
		return nil, "", err
	}
	return r, techdocs.ContentType(clean), nil
}

// Status returns the builds of every tracked entity, or of one entity (errs.NotFound when it is
// not tracked and has no docs).
func (s *Service) Status(ctx context.Context, ref *catalog.Ref) ([]Build, error) {
	if ref == nil {
		return s.opts.Builds.ListDocsBuilds(ctx)
	}
	b, err := s.opts.Builds.GetDocsBuild(ctx, ref.Lower().String())
	if err != nil {
		return nil, err
	}
	return []Build{b}, nil
}

// RequestBuild asks for the entity's docs to be rebuilt now, even if the source is unchanged, and
// returns the build as it stands. It returns errs.NotFound when the entity does not exist or has
// no docs, and errs.Invalid when builds are external.
func (s *Service) RequestBuild(ctx context.Context, ref catalog.Ref) (Build, error) {
	if s.opts.External {
		return Build{}, errs.E(errs.Invalid, "docs are built outside the portal (techdocs.builder.external); publish them with `portal techdocs publish`")
	}
	e, _, err := s.entity(ref)
	if err != nil {
		return Build{}, err
	}
	if e.Annotation(catalog.AnnotationTechDocsRef) == "" {
		return Build{}, errs.E(errs.NotFound, "entity %s has no %s annotation", ref.Lower().String(), catalog.AnnotationTechDocsRef)
	}
	key := ref.Lower().String()
	if err := s.opts.Builds.RequestDocsBuild(ctx, key, s.now()); err != nil {
		return Build{}, err
	}
	s.Wake()
	return s.opts.Builds.GetDocsBuild(ctx, key)
}

// Wake makes the background loop look for due work now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) cache(ref string) *techdocs.Cache {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caches[ref]
}

func (s *Service) keepCache(ref string, c *techdocs.Cache) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.caches[ref]; !ok && len(s.caches) >= maxCachedSites {
		for k := range s.caches {
			delete(s.caches, k)
			break
		}
	}
	s.caches[ref] = c
}
