// Package service is the catalog's application service: the operations behind Backstage's catalog
// API. Reads come from an in-memory index that follows the database's stitched entities; writes go
// to storage and wake the processing engine.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/processing"
	"github.com/billpay/portal/internal/errs"
)

// Location origins: registered through the API, or owned by config.
const (
	OriginAPI    = "api"
	OriginConfig = "config"
)

// Provider names of the built-in entity providers.
const (
	ProviderLocations = "locations"
	ProviderConfig    = "config"
)

// Location is a registered location.
type Location struct {
	ID     string
	Type   string
	Target string
	Origin string
	// Presence is "optional" when the target may be missing without an error.
	Presence string
}

// Ref is the location's "type:target" reference.
func (l Location) Ref() string { return l.Type + ":" + l.Target }

// EntityRef is the ref of the Location entity generated for it.
func (l Location) EntityRef() string {
	return "location:default/" + processing.GeneratedLocationName(l.Type, l.Target)
}

// Change is one stitched entity (Raw) or deletion (Raw nil), in commit order.
type Change struct {
	UID     string
	Raw     []byte
	Version int64
}

// Store is the storage the service needs.
type Store interface {
	processing.Store
	CreateLocation(ctx context.Context, l Location) (Location, error)
	ListLocations(ctx context.Context, origin string) ([]Location, error)
	GetLocation(ctx context.Context, id string) (Location, error)
	FindLocation(ctx context.Context, locType, target string) (Location, error)
	UpdateLocation(ctx context.Context, l Location) (Location, error)
	DeleteLocation(ctx context.Context, id string) error
	ReplaceConfigLocations(ctx context.Context, locs []Location) error
	// SyncRegisteredLocations makes provider emit the generated Location entity of every location
	// of origin, reading the table and writing the provider in one transaction.
	SyncRegisteredLocations(ctx context.Context, provider, origin string) error
	ScheduleRefresh(ctx context.Context, ref string) error
	ScheduleByRefreshKey(ctx context.Context, keys []string) (int, error)
	DeleteEntityByUID(ctx context.Context, uid string) error
	EntityParents(ctx context.Context, ref string) ([]string, error)
}

// ChangeFeed is how the index follows the database.
type ChangeFeed interface {
	ChangesSince(ctx context.Context, version int64, limit int) ([]Change, error)
	CatalogVersion(ctx context.Context) (version, tombstonesBefore int64, err error)
}

// Service implements the catalog operations.
type Service struct {
	store     Store
	feed      ChangeFeed
	processor *processing.Processor
	engine    *processing.Engine
	log       *slog.Logger
	readonly  bool

	index    atomic.Pointer[catalog.Index]
	version  atomic.Int64
	synced   atomic.Bool
	syncMu   sync.Mutex
	syncWake chan struct{}
	// committing counts this replica's commits between CommitStarting and CommitDone; handed, under
	// syncMu, holds the changes of those that ended, for Sync.
	committing atomic.Int32
	handed     [][]Change
}

// Options configures a Service.
type Options struct {
	Readonly bool
}

// New builds the service. engine may be nil (offline tools).
func New(store Store, feed ChangeFeed, p *processing.Processor, engine *processing.Engine, log *slog.Logger, opts Options) *Service {
	s := &Service{store: store, feed: feed, processor: p, engine: engine, log: log, readonly: opts.Readonly,
		syncWake: make(chan struct{}, 1)}
	s.index.Store(catalog.NewIndex())
	return s
}

// Index returns the current read model. Callers must not keep it across requests: a full reload
// swaps it.
func (s *Service) Index() *catalog.Index { return s.index.Load() }

// Version is the catalog version this replica's reads reflect.
func (s *Service) Version() int64 { return s.version.Load() }

// Ready reports whether the index has caught up with the database at least once.
func (s *Service) Ready() bool { return s.synced.Load() }

// Notify tells the follower that the database changed.
func (s *Service) Notify() {
	select {
	case s.syncWake <- struct{}{}:
	default:
	}
}

// Follow keeps the index in step with the database until ctx ends: at once when this replica
// commits, and every poll for changes other replicas made.
func (s *Service) Follow(ctx context.Context, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("catalog index sync failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.syncWake:
		case <-t.C:
		}
	}
}

// syncPage bounds how many changes are applied under one index lock.
const syncPage = 5000

// Sync applies every change since the last one applied.
func (s *Service) Sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced.Load() {
		if s.committing.Load() > 0 {
			return nil // CommitDone hands the commit over and notifies
		}
		s.applyHanded(s.index.Load())
	} else {
		s.handed = nil // this Sync reads them all
	}
	_, purgedBefore, err := s.feed.CatalogVersion(ctx)
	if err != nil {
		return err
	}
	ix := s.index.Load()
	from := s.version.Load()
	if from < purgedBefore {
		// Deletions we never saw were purged: rebuild from scratch rather than keep ghosts.
		ix, from = catalog.NewIndex(), 0
	}
	fresh := ix != s.index.Load()
	for {
		changes, err := s.feed.ChangesSince(ctx, from, syncPage)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			break
		}
		puts, deletes := splitChanges(changes)
		from = changes[len(changes)-1].Version
		if err := ix.PutBatch(puts, deletes); err != nil {
			// One bad entity must not hide the rest of the page: apply the page entity by entity.
			for _, uid := range deletes {
				ix.Delete(uid)
			}
			for _, raw := range puts {
				if err := ix.Put(raw); err != nil {
					s.log.Error("catalog index rejected an entity", "err", err)
				}
			}
		}
		if len(changes) < syncPage {
			break
		}
	}
	if fresh {
		s.index.Store(ix)
	}
	s.version.Store(from)
	s.synced.Store(true)
	return nil
}

// CommitStarting tells the service that this replica is writing a commit whose final entities it will hand
// over (CommitDone). Until then Sync leaves the feed alone: reading it during the commit would wait for the
// commit and then read back everything it wrote.
func (s *Service) CommitStarting() { s.committing.Add(1) }

// CommitDone ends CommitStarting. changes are the final entities the commit stitched, all of one catalog
// version, tombstones with a nil Raw; none when it failed. The next Sync puts them into the index without
// reading the database, if the index then holds exactly the version before; otherwise it reads the feed.
// Applying them there rather than here lets the committer drop its working set first.
func (s *Service) CommitDone(changes []Change) {
	s.syncMu.Lock()
	s.committing.Add(-1)
	if len(changes) > 0 {
		s.handed = append(s.handed, changes)
	}
	s.syncMu.Unlock()
	s.Notify()
}

// splitChanges separates the entities to put from the uids to delete (tombstones).
func splitChanges(changes []Change) (puts [][]byte, deletes []string) {
	for _, c := range changes {
		if c.Raw == nil {
			deletes = append(deletes, c.UID)
		} else {
			puts = append(puts, c.Raw)
		}
	}
	return puts, deletes
}

// applyHanded applies the commits handed over by CommitDone that follow on from the index's version, and
// forgets the others (the feed has them). syncMu must be held.
func (s *Service) applyHanded(ix *catalog.Index) {
	handed := s.handed
	s.handed = nil
	for _, changes := range handed {
		version := changes[0].Version
		if s.version.Load() != version-1 {
			continue
		}
		// Sync applies a page the index refuses entity by entity, and logs the entity.
		if ix.PutBatch(splitChanges(changes)) == nil {
			s.version.Store(version)
		}
	}
}

// GetByRef returns the stored JSON of the entity with this canonical ref.
func (s *Service) GetByRef(kind, namespace, name string) ([]byte, error) {
	ref := catalog.Ref{Kind: kind, Namespace: namespace, Name: name}.String()
	raw, ok := s.Index().Get(ref)
	if !ok {
		return nil, errs.E(errs.NotFound, "No entity named '%s' found, with kind '%s' in namespace '%s'", name, kind, namespace)
	}
	return raw, nil
}

// GetByUID returns the stored JSON of the entity with this uid.
func (s *Service) GetByUID(uid string) ([]byte, error) {
	raw, ok := s.Index().GetByUID(uid)
	if !ok {
		return nil, errs.E(errs.NotFound, "No entity with uid %s", uid)
	}
	return raw, nil
}

// DeleteByUID deletes one entity; a parent that still emits it brings it back.
func (s *Service) DeleteByUID(ctx context.Context, uid string) error {
	if err := s.store.DeleteEntityByUID(ctx, uid); err != nil {
		return err
	}
	// Read-your-writes: the caller's next read must not see the entity.
	if err := s.Sync(ctx); err != nil {
		return err
	}
	s.changed()
	return nil
}

// Refresh schedules an entity and its location for processing now.
func (s *Service) Refresh(ctx context.Context, entityRef string) error {
	ref, err := catalog.ParseRef(entityRef, catalog.RefDefaults{})
	if err != nil {
		return err
	}
	if err := s.store.ScheduleRefresh(ctx, ref.String()); err != nil {
		return err
	}
	s.wakeEngine()
	return nil
}

// RefreshKeys schedules every entity that read one of the given location refs.
func (s *Service) RefreshKeys(ctx context.Context, keys []string) (int, error) {
	n, err := s.store.ScheduleByRefreshKey(ctx, keys)
	if err == nil && n > 0 {
		s.wakeEngine()
	}
	return n, err
}

func (s *Service) wakeEngine() {
	if s.engine != nil {
		s.engine.Wake()
	}
}

func (s *Service) changed() {
	s.Notify()
	s.wakeEngine()
}

// AncestryItem is one entity of an ancestry walk and the refs that emitted it.
type AncestryItem struct {
	Entity           json.RawMessage `json:"entity"`
	ParentEntityRefs []string        `json:"parentEntityRefs"`
}

// Ancestry walks the emitter graph up from an entity to the locations and providers it came from.
func (s *Service) Ancestry(ctx context.Context, kind, namespace, name string) (string, []AncestryItem, error) {
	root := catalog.Ref{Kind: kind, Namespace: namespace, Name: name}.String()
	ix := s.Index()
	if !ix.Has(root) {
		return "", nil, errs.E(errs.NotFound, "No such entity %s", root)
	}
	var items []AncestryItem
	seen := map[string]bool{root: true}
	queue := []string{root}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		raw, ok := ix.Get(ref)
		if !ok {
			continue
		}
		parents, err := s.store.EntityParents(ctx, ref)
		if err != nil {
			return "", nil, err
		}
		if parents == nil {
			parents = []string{}
		}
		items = append(items, AncestryItem{Entity: raw, ParentEntityRefs: parents})
		for _, p := range parents {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return root, items, nil
}

// ListLocations returns registered and configured locations.
// Locations from config are not registered locations and stay out, as in Backstage.
func (s *Service) ListLocations(ctx context.Context) ([]Location, error) {
	return s.store.ListLocations(ctx, OriginAPI)
}

// GetLocation returns one location by id.
func (s *Service) GetLocation(ctx context.Context, id string) (Location, error) {
	l, err := s.store.GetLocation(ctx, id)
	if err == nil && l.Origin != OriginAPI {
		return Location{}, errs.E(errs.NotFound, "Found no location with ID %s", id)
	}
	return l, err
}

// LocationByEntity returns the registered location an entity originates from.
func (s *Service) LocationByEntity(ctx context.Context, kind, namespace, name string) (Location, error) {
	raw, err := s.GetByRef(kind, namespace, name)
	if err != nil {
		return Location{}, err
	}
	var e catalog.Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return Location{}, errs.Wrap(errs.Internal, err, "decode entity")
	}
	origin := e.Annotation(catalog.AnnotationManagedByOriginLocation)
	locType, target, ok := strings.Cut(origin, ":")
	if !ok {
		return Location{}, errs.E(errs.NotFound, "Entity %s has no origin location", e.Ref())
	}
	l, err := s.store.FindLocation(ctx, locType, target)
	if err == nil && l.Origin != OriginAPI {
		return Location{}, errs.E(errs.NotFound, "Entity %s was not registered through a location", e.Ref())
	}
	return l, err
}

// AddLocationResult is the answer to a location registration.
type AddLocationResult struct {
	Location Location
	Entities []catalog.Entity
	// Exists is set on dry runs: whether the location is already registered.
	Exists *bool
}

// AddLocationRequest is a location to register.
type AddLocationRequest struct {
	Type, Target string
	// Presence "optional" lets the target be missing without an error.
	Presence string
	DryRun   bool
	// RefreshOnConflict answers a duplicate with the existing location, processed again now,
	// instead of a conflict (Backstage's onConflict=refresh).
	RefreshOnConflict bool
}

// AddLocation registers a url location, or with DryRun reads it recursively without storing
// anything and returns the entities it would produce.
func (s *Service) AddLocation(ctx context.Context, req AddLocationRequest) (AddLocationResult, error) {
	locType, target, dryRun := req.Type, req.Target, req.DryRun
	if locType == "" {
		locType = "url"
	}
	if locType != "url" {
		return AddLocationResult{}, errs.E(errs.Invalid, "Registered locations must be of type 'url'")
	}
	if u, err := url.Parse(target); err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return AddLocationResult{}, errs.E(errs.Invalid, "Invalid location target %q: expected an absolute http(s) URL", target)
	}
	if dryRun {
		return s.dryRun(ctx, locType, target)
	}
	if s.readonly {
		return AddLocationResult{}, errs.E(errs.Forbidden, "This operation not allowed in readonly mode")
	}
	loc, err := s.store.CreateLocation(ctx, Location{ID: uuid.NewString(), Type: locType, Target: target, Origin: OriginAPI, Presence: req.Presence})
	if errs.Is(err, errs.Conflict) && req.RefreshOnConflict {
		existing, findErr := s.store.FindLocation(ctx, locType, target)
		if findErr != nil || existing.Origin != OriginAPI {
			return AddLocationResult{}, err
		}
		if err := s.Refresh(ctx, existing.EntityRef()); err != nil {
			return AddLocationResult{}, err
		}
		return AddLocationResult{Location: existing, Entities: []catalog.Entity{}}, nil
	}
	if err != nil {
		return AddLocationResult{}, err
	}
	if err := s.syncLocationsProvider(ctx); err != nil {
		// Keep storage consistent: a row without its entity would never be processed.
		if delErr := s.store.DeleteLocation(ctx, loc.ID); delErr != nil {
			err = errors.Join(err, delErr)
		}
		return AddLocationResult{}, err
	}
	s.changed()
	return AddLocationResult{Location: loc, Entities: []catalog.Entity{}}, nil
}

// UpdateLocation changes a registered location's target.
func (s *Service) UpdateLocation(ctx context.Context, id, locType, target string) (Location, error) {
	if s.readonly {
		return Location{}, errs.E(errs.Forbidden, "This operation not allowed in readonly mode")
	}
	old, err := s.store.GetLocation(ctx, id)
	if err != nil {
		return Location{}, err
	}
	if old.Origin == OriginConfig {
		return Location{}, errs.E(errs.Forbidden, "Location %s comes from config and cannot be changed through the API", id)
	}
	if locType != "url" {
		return Location{}, errs.E(errs.Invalid, "Registered locations must be of type 'url'")
	}
	loc, err := s.store.UpdateLocation(ctx, Location{ID: id, Type: locType, Target: target})
	if err != nil {
		return Location{}, err
	}
	if err := s.syncLocationsProvider(ctx); err != nil {
		return Location{}, err
	}
	s.changed()
	return loc, nil
}

// RemoveLocation unregisters a location; everything only it emitted is deleted.
func (s *Service) RemoveLocation(ctx context.Context, id string) error {
	if s.readonly {
		return errs.E(errs.Forbidden, "This operation not allowed in readonly mode")
	}
	loc, err := s.store.GetLocation(ctx, id)
	if err != nil {
		return err
	}
	if loc.Origin == OriginConfig {
		return errs.E(errs.Forbidden, "Location %s comes from config; remove it from portal.yaml instead", id)
	}
	if err := s.store.DeleteLocation(ctx, id); err != nil {
		return err
	}
	if err := s.syncLocationsProvider(ctx); err != nil {
		return err
	}
	s.changed()
	return nil
}

func (s *Service) syncLocationsProvider(ctx context.Context) error {
	return s.store.SyncRegisteredLocations(ctx, ProviderLocations, OriginAPI)
}

// ResyncLocations makes the registered-locations provider match the locations table, repairing
// what an interrupted registration or removal left behind. Main runs it at start-up.
func (s *Service) ResyncLocations(ctx context.Context) error {
	if err := s.syncLocationsProvider(ctx); err != nil {
		return err
	}
	s.changed()
	return nil
}

// SetConfigLocations makes the config-owned locations exactly locs and emits their entities.
func (s *Service) SetConfigLocations(ctx context.Context, locs []processing.LocationSpec) error {
	rows := make([]Location, len(locs))
	entities := make([]catalog.Entity, len(locs))
	for i, l := range locs {
		rows[i] = Location{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(l.Type+":"+l.Target)).String(), Type: l.Type, Target: l.Target, Origin: OriginConfig}
		entities[i] = processing.GeneratedLocation(l)
	}
	if err := s.store.ReplaceConfigLocations(ctx, rows); err != nil {
		return err
	}
	if err := s.store.ReplaceProvider(ctx, ProviderConfig, entities); err != nil {
		return err
	}
	s.changed()
	return nil
}

// SetProviderLocations makes a discovery provider's locations exactly locs.
func (s *Service) SetProviderLocations(ctx context.Context, provider string, locs []processing.LocationSpec) error {
	entities := make([]catalog.Entity, len(locs))
	for i, l := range locs {
		entities[i] = processing.GeneratedLocation(l)
	}
	if err := s.store.ReplaceProvider(ctx, provider, entities); err != nil {
		return err
	}
	s.changed()
	return nil
}

// dryRunLimit bounds how many entities a dry run will read, so a location cannot make it loop.
const dryRunLimit = 10000

func (s *Service) dryRun(ctx context.Context, locType, target string) (AddLocationResult, error) {
	exists := true
	if _, err := s.store.FindLocation(ctx, locType, target); errs.Is(err, errs.NotFound) {
		exists = false
	} else if err != nil {
		return AddLocationResult{}, err
	}
	entities, problems := s.processTree(ctx, processing.GeneratedLocation(processing.LocationSpec{Type: locType, Target: target}))
	if len(problems) > 0 {
		return AddLocationResult{}, errs.E(errs.Invalid, "%s", strings.Join(problems, "; "))
	}
	return AddLocationResult{Location: Location{ID: locType + ":" + target, Type: locType, Target: target}, Entities: entities, Exists: &exists}, nil
}

// processTree runs the processor on root and everything it emits, in memory.
func (s *Service) processTree(ctx context.Context, root catalog.Entity) ([]catalog.Entity, []string) {
	var out []catalog.Entity
	var problems []string
	seen := map[string]bool{}
	queue := []catalog.Entity{root}
	for len(queue) > 0 && len(out) < dryRunLimit {
		e := queue[0]
		queue = queue[1:]
		ref := e.Ref().String()
		if seen[ref] {
			problems = append(problems, fmt.Sprintf("Duplicate nested entity: %s", ref))
			continue
		}
		seen[ref] = true
		res := s.processor.Process(ctx, processing.Claim{EntityRef: ref, Unprocessed: e})
		for _, item := range res.Errors {
			problems = append(problems, item.Message)
		}
		if res.Processed == nil {
			continue
		}
		out = append(out, res.Processed)
		for _, c := range res.Children {
			queue = append(queue, c.Entity)
		}
	}
	return out, problems
}

// ValidateEntity checks an entity as processing would, for the given location ref
// ("url:https://..."). It returns the problems found; none means valid.
func (s *Service) ValidateEntity(ctx context.Context, e catalog.Entity, location string) []error {
	locType, target, ok := strings.Cut(location, ":")
	if !ok || locType != "url" || target == "" {
		return []error{&ValidationError{Name: "TypeError", Message: fmt.Sprintf("Invalid location ref %s, only 'url:<target>' is supported, e.g. url:https://host/path", location)}}
	}
	if e == nil {
		return []error{errs.E(errs.Invalid, "entity must be an object")}
	}
	e = e.Clone()
	if _, ok := e["metadata"].(map[string]any); !ok {
		return []error{errs.E(errs.Invalid, "entity has no metadata object")}
	}
	// Checked as if read from the given location, whatever the entity claims: its annotations
	// decide which files placeholders may read.
	e.SetAnnotation(catalog.AnnotationManagedByLocation, location)
	e.SetAnnotation(catalog.AnnotationManagedByOriginLocation, location)
	res := s.processor.Process(ctx, processing.Claim{EntityRef: e.Ref().String(), Unprocessed: e})
	var out []error
	for _, item := range res.Errors {
		msg, _ := item.Error["message"].(string)
		if msg == "" {
			msg = item.Message
		}
		name, _ := item.Error["name"].(string)
		if name == "" {
			name = "InputError"
		}
		out = append(out, &ValidationError{Name: name, Message: msg})
	}
	return out
}

// ValidationError is one problem found by ValidateEntity, named as Backstage names it.
type ValidationError struct {
	Name    string
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

// GetByRefs returns the entities with the given refs in request order, null for refs that are
// unknown, malformed or filtered out (Backstage's POST /entities/by-refs).
func (s *Service) GetByRefs(refs []string, f catalog.Filter, fields []string) []json.RawMessage {
	ix := s.Index()
	out := make([]json.RawMessage, len(refs))
	for i, r := range refs {
		out[i] = json.RawMessage("null")
		ref, err := catalog.ParseRef(r, catalog.RefDefaults{})
		if err != nil {
			continue
		}
		raw, ok := ix.GetMatching(ref.String(), f)
		if !ok {
			continue
		}
		if len(fields) > 0 {
			var e catalog.Entity
			if json.Unmarshal(raw, &e) != nil {
				continue
			}
			if raw, err = json.Marshal(catalog.Project(e, fields)); err != nil {
				continue
			}
		}
		out[i] = raw
	}
	return out
}
