package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog/processing"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/config"
	flagservice "github.com/billpay/portal/internal/flags/service"
	"github.com/billpay/portal/internal/httpapi"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/store"
)

func loadConfig(f serverFlags) (config.Config, error) {
	env := os.Environ()
	if f.listen != "" {
		env = append(env, "PORTAL_LISTEN="+f.listen)
	}
	cfg, err := config.Load(f.config, env)
	if err != nil {
		return cfg, err
	}
	// Relative file locations are relative to the config file, so the portal starts the same from
	// any working directory.
	base := "."
	if f.config != "" {
		base = filepath.Dir(f.config)
	}
	for i, l := range cfg.Catalog.Locations {
		if l.Type == "file" && !filepath.IsAbs(l.Target) {
			cfg.Catalog.Locations[i].Target = filepath.Join(base, l.Target)
		}
	}
	resolveDeployPaths(&cfg, base)
	if cfg.Flags.SeedDir != "" && !filepath.IsAbs(cfg.Flags.SeedDir) {
		cfg.Flags.SeedDir = filepath.Join(base, cfg.Flags.SeedDir)
	}
	resolveScaffolderPaths(&cfg, base)
	return cfg, nil
}

func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Database.URL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	st.OmitLegacyRelationTarget = cfg.Catalog.DisableRelationsCompatibility
	return st, nil
}

// Main wires every part of a running portal, in one place. Tests start it on port 0.
type Main struct {
	Config config.Config
	Log    *slog.Logger

	Store    *store.Store
	Catalog  *service.Service
	Flags    *flagservice.Service
	Auth     *auth.Authenticator
	Engine   *processing.Engine
	Server   *httpapi.Server
	Registry *prometheus.Registry
	// TechDocs is the docs service and search.
	TechDocs *techDocsParts
	// Deploy is the deploy service with its provisioning and OpenTofu parts.
	Deploy *httpapi.DeployOptions
	// Scaffolder runs templates: the API's service; its workers run under the errgroup.
	Scaffolder *scaffolder.Service

	signIn    *auth.SignInFlow
	discovery []*discoveryRunner
	listener  net.Listener
	http      *http.Server
	debug     *http.Server
	cancel    context.CancelFunc
	group     *errgroup.Group
	closeMu   sync.Mutex
	closed    bool
}

// NewMain prepares a portal; Start opens and starts it.
func NewMain(cfg config.Config, logOut io.Writer) *Main {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	return &Main{Config: cfg, Log: slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))}
}

// Addr is the address the server listens on (with the real port when configured with :0).
func (m *Main) Addr() string { return m.listener.Addr().String() }

// URL is the base URL of the listening server on loopback.
func (m *Main) URL() string {
	_, port, _ := net.SplitHostPort(m.Addr())
	return "http://127.0.0.1:" + port
}

// Start opens the database, migrates, registers configured locations, starts background workers
// and begins serving. It returns once the server is listening.
func (m *Main) Start(ctx context.Context) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(m.Config.Server.GCPercent)
	}
	st, err := openStore(ctx, m.Config)
	if err != nil {
		return err
	}
	m.Store = st
	if err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return err
	}
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	runCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	g, gctx := errgroup.WithContext(runCtx)
	m.group = g

	if err := m.startCatalog(ctx, gctx, g); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	// Identity comes before the services whose background work acts for people (scaffolder tasks that deploy).
	if m.Auth, m.signIn, err = m.identity(ctx); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	if err := m.startDeploy(ctx, gctx, g); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	if err := m.startScaffolder(ctx, gctx, g); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	if err := m.startFlags(ctx, gctx); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	if err := m.startFlagdSync(gctx, g); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	if err := m.startTechDocs(ctx, gctx, g); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	if err := m.startHTTP(ctx, gctx, g); err != nil {
		cancel()
		_ = st.Close()
		return err
	}
	return nil
}

func (m *Main) startCatalog(ctx, runCtx context.Context, g *errgroup.Group) error {
	cfg := m.Config.Catalog
	reader, err := m.sourceReader()
	if err != nil {
		return err
	}
	rules := make([]processing.Rule, 0, len(cfg.Rules)+len(cfg.Locations))
	for _, r := range cfg.Rules {
		rules = append(rules, processing.Rule{Allow: r.Allow})
	}
	var locs []processing.LocationSpec
	for _, l := range cfg.Locations {
		target := l.Target
		if l.Type == "file" {
			abs, err := filepath.Abs(target)
			if err != nil {
				return fmt.Errorf("catalog.locations: %s: %v", target, err)
			}
			target = abs
		}
		locs = append(locs, processing.LocationSpec{Type: l.Type, Target: target})
		for _, r := range l.Rules {
			rules = append(rules, processing.Rule{Allow: r.Allow, Origins: []string{l.Type + ":" + target}})
		}
	}
	proc := &processing.Processor{Reader: reader, Rules: rules, ResolveURL: source.ResolveURL}
	var svc *service.Service
	m.Engine = processing.NewEngine(m.Store, proc, processing.EngineConfig{Interval: time.Duration(cfg.ProcessingInterval), Batch: cfg.ProcessingBatchSize},
		m.Log.With("component", "catalog-processing"), m.Registry, func() { svc.Notify() })
	svc = service.New(m.Store, m.Store, proc, m.Engine, m.Log.With("component", "catalog"), service.Options{Readonly: cfg.Readonly})
	m.Catalog = svc
	// This replica's own commits reach its index at once; the change feed brings everything else.
	m.Store.FollowCommits(svc)
	if err := svc.SetConfigLocations(ctx, locs); err != nil {
		return err
	}
	if err := svc.ResyncLocations(ctx); err != nil {
		return err
	}
	if err := svc.Sync(ctx); err != nil {
		return err
	}
	poll := time.Duration(cfg.PollInterval)
	g.Go(func() error { return m.Engine.Run(runCtx, poll) })
	g.Go(func() error { return svc.Follow(runCtx, poll) })
	g.Go(func() error { return m.purgeTombstones(runCtx) })
	return m.startGitHub(runCtx, g)
}

// purgeTombstones forgets old deletions; replicas that were away longer reload their index.
func (m *Main) purgeTombstones(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := m.Store.PurgeTombstones(ctx, 24*time.Hour); err != nil {
				m.Log.Error("purging catalog tombstones failed", "err", err)
			}
		}
	}
}

func (m *Main) startHTTP(ctx, runCtx context.Context, g *errgroup.Group) error {
	cfg := m.Config
	authn, signIn := m.Auth, m.signIn
	m.Server = httpapi.New(httpapi.Options{
		Version:             version,
		Catalog:             m.Catalog,
		Flags:               m.Flags,
		Deploy:              m.Deploy,
		Auth:                authn,
		SignIn:              signIn,
		Audit:               m.Store,
		Scaffolder:          m.Scaffolder,
		BaseURL:             cfg.BaseURL,
		MutationsPerSecond:  cfg.Auth.RateLimit.MutationsPerSecond,
		MutationBurst:       cfg.Auth.RateLimit.MutationBurst,
		FailedAuthPerMinute: cfg.Auth.RateLimit.FailedAuthPerMinute,
		Ready:               m.ready,
		Registry:            m.Registry,
		Gatherer:            m.Registry,
		MaxBodyBytes:        cfg.Server.MaxBodyBytes,
		Log:                 m.Log.With("component", "http"),
		GitHubWebhook:       m.githubWebhook(),
		Web:                 m.webHandler(authn, signIn != nil),
		AllowedHosts:        allowedHosts(cfg),
		TechDocs:            m.TechDocs.docs(),
		Search:              m.TechDocs.search(),
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	m.listener = ln
	reclaim := &reclaimer{busy: m.Engine.Busy, slack: reclaimSlack}
	g.Go(func() error { reclaim.run(runCtx, reclaimEvery); return nil })
	m.http = &http.Server{
		Handler:           reclaim.wrap(m.Server.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	g.Go(func() error {
		if err := m.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if cfg.Server.DebugListen != "" {
		return m.startDebug(g, cfg.Server.DebugListen)
	}
	return nil
}

// startDebug serves the profiler apart from the API, so it is never exposed by accident.
func (m *Main) startDebug(g *errgroup.Group, addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server.debugListen %s: %w", addr, err)
	}
	m.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		if err := m.debug.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

// allowedHosts is the Host allowlist for guest access on loopback: the loopback names and the
// configured base URL. Otherwise any host is served.
func allowedHosts(cfg config.Config) []string {
	if !cfg.Auth.Guest || cfg.Auth.AllowGuestOnNetwork {
		return nil
	}
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
		hosts = append(hosts, u.Hostname())
	}
	return hosts
}

func (m *Main) ready(ctx context.Context) error {
	if err := m.Store.Ready(ctx); err != nil {
		return err
	}
	if !m.Catalog.Ready() {
		return errors.New("catalog index not loaded yet")
	}
	if err := m.Flags.Ready(); err != nil {
		return err
	}
	return nil
}

// Close stops serving (letting requests in flight finish), stops the workers and closes the
// database.
func (m *Main) Close() error {
	m.closeMu.Lock()
	defer m.closeMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var errsOut []error
	if m.debug != nil {
		_ = m.debug.Close()
	}
	if m.Server != nil {
		m.Server.CloseStreams()
	}
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(m.Config.Server.ShutdownTimeout))
		if err := m.http.Shutdown(ctx); err != nil {
			errsOut = append(errsOut, err)
		}
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
	}
	if m.group != nil {
		if err := m.group.Wait(); err != nil {
			errsOut = append(errsOut, err)
		}
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errsOut = append(errsOut, err)
		}
	}
	return errors.Join(errsOut...)
}
