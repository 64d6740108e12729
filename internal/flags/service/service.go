// Package service runs Portal's feature flags: environments and their keys, writes with optimistic
// concurrency and audit, compiled flag sets that every replica keeps current, and the change streams that
// OFREP clients, tools and flagd daemons follow.
package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
	"github.com/billpay/portal/internal/ratelimit"
)

// Environment configures one flag environment.
type Environment struct {
	Name string
	// Protected environments (production) need more than ownership to edit; the permission policy reads it.
	Protected bool
	// ClientKeys are public keys for browsers; ServerKeys are secrets for backends. Either selects the environment.
	ClientKeys []string
	ServerKeys []string
}

// Config configures the service.
type Config struct {
	Environments []Environment
	// PollInterval is how often a replica checks for changes made by other replicas.
	PollInterval time.Duration
	// RatePerSecond and Burst limit OFREP requests per key (per client address without a key); 0 turns it off.
	RatePerSecond float64
	Burst         int
	// GuestEnvironment is the environment that requests without a key evaluate against; "" refuses them.
	GuestEnvironment string
	Log              *slog.Logger
	Now              func() time.Time
}

// KeyKind tells public client keys from secret server keys.
type KeyKind string

const (
	ClientKey KeyKind = "client"
	ServerKey KeyKind = "server"
	GuestKey  KeyKind = "guest"
)

// Key is a resolved OFREP key.
type Key struct {
	Environment string
	Kind        KeyKind
	// ID identifies the key in logs, rate limits and stream tokens without revealing it.
	ID string
}

// Snapshot is an environment's compiled flag set at one version. It is immutable.
type Snapshot struct {
	Environment string
	Version     int64
	Set         *flags.Set
	Stored      flags.StoredEnvironment
	// ConfigETag changes whenever the environment's flags change; change events carry it.
	ConfigETag string
	// Document is the environment as flagd JSON (see Export), shared by export and flagd sync.
	Document []byte
}

// Event is one committed change to an environment.
type Event struct {
	Environment string
	Version     int64
	ConfigETag  string
	Entries     []flags.AuditEntry
}

// Service is the flags' application service.
type Service struct {
	repo   flags.Repository
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	envs   map[string]*environment
	order  []string
	keys   map[[32]byte]Key
	limits *ratelimit.Keyed
	bus    broker
	signer atomic.Pointer[[]byte]
	wake   chan struct{}
}

type environment struct {
	cfg      Environment
	snapshot atomic.Pointer[Snapshot]
	reload   sync.Mutex
}

var envName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// New checks the configuration; Start loads the flags.
func New(repo flags.Repository, cfg Config) (*Service, error) {
	if len(cfg.Environments) == 0 {
		return nil, errs.E(errs.Invalid, "flags: at least one environment is required")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{repo: repo, cfg: cfg, log: cfg.Log, now: cfg.Now, envs: map[string]*environment{},
		keys: map[[32]byte]Key{}, wake: make(chan struct{}, 1)}
	for _, e := range cfg.Environments {
		if !envName.MatchString(e.Name) {
			return nil, errs.E(errs.Invalid, "flags: environment name %q must be lowercase letters, digits and dashes", e.Name)
		}
		if _, dup := s.envs[e.Name]; dup {
			return nil, errs.E(errs.Invalid, "flags: environment %q is configured twice", e.Name)
		}
		s.envs[e.Name] = &environment{cfg: e}
		s.order = append(s.order, e.Name)
		for kind, list := range map[KeyKind][]string{ClientKey: e.ClientKeys, ServerKey: e.ServerKeys} {
			for _, k := range list {
				sum := sha256.Sum256([]byte(k))
				if other, dup := s.keys[sum]; dup {
					return nil, errs.E(errs.Invalid, "flags: a key of %q is also a key of %q", e.Name, other.Environment)
				}
				s.keys[sum] = Key{Environment: e.Name, Kind: kind, ID: string(kind[0]) + hex.EncodeToString(sum[:6])}
			}
		}
	}
	if cfg.GuestEnvironment != "" {
		if _, ok := s.envs[cfg.GuestEnvironment]; !ok {
			return nil, errs.E(errs.Invalid, "flags: guest environment %q is not configured", cfg.GuestEnvironment)
		}
	}
	s.limits = ratelimit.New(cfg.RatePerSecond, cfg.Burst, cfg.Now)
	return s, nil
}

// Start creates missing environments, loads every environment, and follows changes until ctx ends.
func (s *Service) Start(ctx context.Context) error {
	if err := s.repo.EnsureEnvironments(ctx, s.order); err != nil {
		return err
	}
	secret, err := s.repo.Setting(ctx, "flags.stream-signing-key", randomSecret)
	if err != nil {
		return err
	}
	key, err := hex.DecodeString(secret)
	if err != nil || len(key) < 32 {
		return errs.E(errs.Internal, "flags: the stored stream signing key is malformed")
	}
	s.signer.Store(&key)
	for _, name := range s.order {
		if _, err := s.Refresh(ctx, name); err != nil {
			return err
		}
	}
	go s.follow(ctx)
	return nil
}

// Ready reports whether every environment is loaded.
func (s *Service) Ready() error {
	for _, name := range s.order {
		if s.envs[name].snapshot.Load() == nil {
			return errs.E(errs.Unavailable, "flags of %s not loaded yet", name)
		}
	}
	return nil
}

// follow polls for versions other replicas committed; local writes reload directly and wake it early.
func (s *Service) follow(ctx context.Context) {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.bus.closeAll()
			return
		case <-t.C:
		case <-s.wake:
		}
		versions, err := s.repo.EnvironmentVersions(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("flags: cannot poll for changes", "err", err)
			}
			continue
		}
		for _, name := range s.order {
			snap := s.envs[name].snapshot.Load()
			if snap != nil && versions[name] > snap.Version {
				if _, err := s.Refresh(ctx, name); err != nil && ctx.Err() == nil {
					s.log.Warn("flags: cannot reload environment", "environment", name, "err", err)
				}
			}
		}
	}
}

// Refresh reloads an environment if storage holds a newer version, publishing the changes in between, and
// returns the current snapshot. Readers that were told of a version (a change event) call it to catch up.
func (s *Service) Refresh(ctx context.Context, name string) (*Snapshot, error) {
	env, ok := s.envs[name]
	if !ok {
		return nil, errNoEnvironment(name)
	}
	env.reload.Lock()
	defer env.reload.Unlock()
	stored, err := s.repo.LoadEnvironment(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.install(ctx, env, stored)
}

// install compiles stored state and publishes what changed since the previous snapshot. Callers hold env.reload.
func (s *Service) install(ctx context.Context, env *environment, stored flags.StoredEnvironment) (*Snapshot, error) {
	prev := env.snapshot.Load()
	if prev != nil && stored.Version <= prev.Version {
		return prev, nil
	}
	doc := exportDocument(stored)
	parsed, err := flags.Parse(doc)
	if err != nil {
		// Every write is validated, so this is data written by a newer or broken release; keep serving the last
		// good flags rather than none.
		s.log.Error("flags: stored flag set does not validate; keeping the previous one", "environment", stored.Name, "version", stored.Version, "err", err)
		if prev != nil {
			return prev, nil
		}
		parsed = &flags.Document{Flags: map[string]flags.Flag{}}
	}
	sum := sha256.Sum256(doc)
	snap := &Snapshot{
		Environment: stored.Name, Version: stored.Version, Set: flags.Compile(parsed), Stored: stored,
		ConfigETag: fmt.Sprintf("%s-%d-%s", stored.Name, stored.Version, hex.EncodeToString(sum[:6])), Document: doc,
	}
	env.snapshot.Store(snap)
	if prev != nil {
		entries, err := s.repo.AuditSince(ctx, stored.Name, prev.Version)
		if err != nil {
			s.log.Warn("flags: cannot read the changes to announce", "environment", stored.Name, "err", err)
		}
		var upTo []flags.AuditEntry
		for _, e := range entries {
			if e.Version <= stored.Version {
				upTo = append(upTo, e)
			}
		}
		s.bus.publish(Event{Environment: stored.Name, Version: stored.Version, ConfigETag: snap.ConfigETag, Entries: upTo})
	}
	return snap, nil
}

// Snapshot returns an environment's current compiled flags.
func (s *Service) Snapshot(name string) (*Snapshot, error) {
	env, ok := s.envs[name]
	if !ok {
		return nil, errNoEnvironment(name)
	}
	snap := env.snapshot.Load()
	if snap == nil {
		return nil, errs.E(errs.Unavailable, "flags of %s are still loading", name)
	}
	return snap, nil
}

func errNoEnvironment(name string) error {
	return errs.E(errs.NotFound, "No flag environment named %q", name)
}

// EnvironmentInfo describes an environment for the management API.
type EnvironmentInfo struct {
	Name       string    `json:"name"`
	Protected  bool      `json:"protected"`
	Version    int64     `json:"version"`
	Flags      int       `json:"flags"`
	UpdatedAt  time.Time `json:"updatedAt"`
	ClientKeys int       `json:"clientKeys"`
	ServerKeys int       `json:"serverKeys"`
	Guest      bool      `json:"guest" doc:"Requests without a key evaluate against this environment"`
}

// Environments lists the configured environments in configuration order.
func (s *Service) Environments() []EnvironmentInfo {
	out := make([]EnvironmentInfo, 0, len(s.order))
	for _, name := range s.order {
		env := s.envs[name]
		info := EnvironmentInfo{Name: name, Protected: env.cfg.Protected, ClientKeys: len(env.cfg.ClientKeys),
			ServerKeys: len(env.cfg.ServerKeys), Guest: name == s.cfg.GuestEnvironment}
		if snap := env.snapshot.Load(); snap != nil {
			info.Version, info.Flags, info.UpdatedAt = snap.Version, len(snap.Stored.Flags), snap.Stored.UpdatedAt
		}
		out = append(out, info)
	}
	return out
}

// Environment returns one environment's configuration.
func (s *Service) Environment(name string) (Environment, error) {
	env, ok := s.envs[name]
	if !ok {
		return Environment{}, errNoEnvironment(name)
	}
	return env.cfg, nil
}

// ResolveKey maps an OFREP key to its environment. An empty key is the guest key when guest evaluation is on.
func (s *Service) ResolveKey(key string) (Key, error) {
	if key == "" {
		if s.cfg.GuestEnvironment == "" {
			return Key{}, errs.E(errs.Unauthenticated, "an API key is required: send X-API-Key or Authorization: Bearer")
		}
		return Key{Environment: s.cfg.GuestEnvironment, Kind: GuestKey}, nil
	}
	k, ok := s.keys[sha256.Sum256([]byte(key))]
	if !ok {
		return Key{}, errs.E(errs.Unauthenticated, "unknown API key")
	}
	return k, nil
}

// Allow applies the rate limit of a key (or, for guests, of the caller's address) and says how long to wait
// when the limit is reached.
func (s *Service) Allow(k Key, remoteAddr string) (bool, time.Duration) {
	id := k.ID
	if k.Kind == GuestKey {
		id = "guest:" + remoteAddr
	}
	return s.limits.Allow(id)
}

// Subscribe follows committed changes of one environment, or of all with "". The channel closes when the
// subscriber falls too far behind or the service stops; cancel releases it.
func (s *Service) Subscribe(environment string) (<-chan Event, func()) {
	return s.bus.subscribe(environment)
}

// Precondition guards a write: IfMatch holds ETags of which the flag's current one must be one ("*" for any
// existing flag); IfNoneMatch "*" requires that the flag does not exist yet.
type Precondition struct {
	IfMatch     string
	IfNoneMatch string
}

// FlagETag is a stored flag's entity tag.
func FlagETag(f flags.StoredFlag) string { return fmt.Sprintf(`"%d"`, f.Revision) }

func (p Precondition) check(key string, current flags.StoredFlag, exists bool) error {
	if strings.TrimSpace(p.IfNoneMatch) == "*" && exists {
		return errs.E(errs.PreconditionFailed, "flag %q already exists (If-None-Match: *)", key)
	}
	if p.IfMatch == "" {
		return nil
	}
	if !exists {
		return errs.E(errs.PreconditionFailed, "flag %q does not exist, so If-Match cannot match", key)
	}
	if !etagListMatches(p.IfMatch, FlagETag(current), false) {
		return errs.E(errs.PreconditionFailed, "flag %q changed since you read it: its ETag is now %s; read it again and retry", key, FlagETag(current))
	}
	return nil
}

// etagListMatches compares an If-Match / If-None-Match list with an ETag; weak comparison ignores W/.
func etagListMatches(list, etag string, weak bool) bool {
	for _, candidate := range strings.Split(list, ",") {
		c := strings.TrimSpace(candidate)
		if c == "*" {
			return true
		}
		if weak {
			c = strings.TrimPrefix(c, "W/")
			etag = strings.TrimPrefix(etag, "W/")
		} else if strings.HasPrefix(c, "W/") {
			continue
		}
		if c == etag {
			return true
		}
	}
	return false
}

// ETagMatches is the weak comparison RFC 9110 prescribes for If-None-Match.
func ETagMatches(ifNoneMatch, etag string) bool { return etagListMatches(ifNoneMatch, etag, true) }

var flagKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// checkKey keeps keys to characters that survive every client unescaped (the Go OFREP provider does not escape
// the key it puts in the URL path).
func checkKey(key string) error {
	if !flagKey.MatchString(key) {
		return errs.E(errs.Invalid, "flag key %q: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", key)
	}
	return nil
}

// canonical decodes and re-encodes JSON so that equal flags compare equal: keys sorted, no spaces.
func canonical(raw json.RawMessage) (json.RawMessage, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, errs.E(errs.Invalid, "not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, errs.E(errs.Invalid, "trailing data after the JSON value")
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, errs.E(errs.Invalid, "cannot encode: %v", err)
	}
	return out, nil
}

// ownerOf reads and normalises metadata.owner, which must name a Group or Component.
func ownerOf(key string, def json.RawMessage) (string, error) {
	var f struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(def, &f); err != nil {
		return "", nil // the flag validator reports the shape
	}
	raw, ok := f.Metadata["owner"]
	if !ok || raw == nil {
		return "", nil
	}
	ref, isString := raw.(string)
	if !isString {
		return "", errs.E(errs.Invalid, "flag %q: metadata.owner must be an entity reference string such as group:default/payments-team", key)
	}
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{Kind: "group"})
	if err != nil {
		return "", errs.E(errs.Invalid, "flag %q: metadata.owner: %s", key, errs.MessageOf(err))
	}
	r = r.Lower()
	if r.Kind != "group" && r.Kind != "component" {
		return "", errs.E(errs.Invalid, "flag %q: metadata.owner must name a Group or a Component, not a %s", key, r.Kind)
	}
	return r.String(), nil
}

// exportDocument renders stored flags as one flagd document with sorted keys, the form export, flagd sync and
// the compiler share.
func exportDocument(e flags.StoredEnvironment) []byte {
	defs := make(map[string]json.RawMessage, len(e.Flags))
	for _, f := range e.Flags {
		defs[f.Key] = f.Definition
	}
	doc := struct {
		Schema     string                     `json:"$schema"`
		Flags      map[string]json.RawMessage `json:"flags"`
		Evaluators json.RawMessage            `json:"$evaluators,omitempty"`
		Metadata   json.RawMessage            `json:"metadata,omitempty"`
	}{Schema: "https://flagd.dev/schema/v0/flags.json", Flags: defs}
	if len(e.Evaluators) > 0 && string(e.Evaluators) != "{}" {
		doc.Evaluators = e.Evaluators
	}
	if len(e.Metadata) > 0 && string(e.Metadata) != "{}" {
		doc.Metadata = e.Metadata
	}
	out, _ := json.MarshalIndent(doc, "", "  ")
	return append(out, '\n')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
