package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
)

// Config configures a Service.
type Config struct {
	Environments []Environment
	// Worker names this replica in release claims; it must differ between replicas.
	Worker string
	// Lease is how long a claim lasts without renewal; a release whose worker stopped renewing it (a restart, a
	// crash) is resumed by the next worker after that. Default 30s.
	Lease time.Duration
	// Poll is how often a rollout is checked. Default 1s.
	Poll time.Duration
	// Slack is how long past the Deployment's progress deadline the portal waits for the controller to report
	// anything at all before it fails the release itself. Default 60s.
	Slack time.Duration
	// MaxAttempts bounds how often an interrupted release is resumed before it is failed. Default 3.
	MaxAttempts int
	// Concurrency is how many releases one replica runs at once. Default 4.
	Concurrency int
	Log         *slog.Logger
	Now         func() time.Time
}

// Deps are the ports a Service uses.
type Deps struct {
	Store     Store
	Catalog   Catalog
	Registry  Registry
	Locator   ClusterLocator
	Connector Connector
}

// Service runs deploys: it validates and records requests, and its worker (Run) applies them and watches the
// rollouts.
type Service struct {
	deps  Deps
	cfg   Config
	log   *slog.Logger
	envs  map[string]Environment
	order []string

	mu       sync.Mutex
	clusters map[string]Cluster
	subs     map[chan struct{}]struct{}
	wake     chan struct{}
}

// New checks the configuration and returns a Service.
func New(deps Deps, cfg Config) (*Service, error) {
	if deps.Store == nil || deps.Catalog == nil {
		return nil, errs.E(errs.Invalid, "deploy: a store and a catalog are required")
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Slack <= 0 {
		cfg.Slack = 60 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Worker == "" {
		cfg.Worker = "portal"
	}
	s := &Service{deps: deps, cfg: cfg, log: cfg.Log, envs: map[string]Environment{}, clusters: map[string]Cluster{},
		subs: map[chan struct{}]struct{}{}, wake: make(chan struct{}, 1)}
	for _, e := range cfg.Environments {
		if _, dup := s.envs[e.Name]; dup {
			return nil, errs.E(errs.Invalid, "deploy: environment %q is listed twice", e.Name)
		}
		s.envs[e.Name] = e
		s.order = append(s.order, e.Name)
	}
	return s, nil
}

// Environments lists the environments in configuration order.
func (s *Service) Environments() []Environment {
	out := make([]Environment, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.envs[n])
	}
	return out
}

// Environment returns one environment; errs.NotFound names the known ones.
func (s *Service) Environment(name string) (Environment, error) {
	e, ok := s.envs[name]
	if !ok {
		return Environment{}, errs.E(errs.NotFound, "no deploy environment %q; environments are %v", name, s.order)
	}
	return e, nil
}

// Component returns the catalog Component with ref (kind and namespace default to component and default).
func (s *Service) Component(ref string) (Component, error) {
	kind, ns, name := normaliseRef(ref, "component")
	raw, err := s.deps.Catalog.GetByRef(kind, ns, name)
	if err != nil {
		return Component{}, err
	}
	return ComponentFromEntity(raw)
}

// DeployInput asks for a component's image tag to run in an environment.
type DeployInput struct {
	Component   string `json:"component" example:"component:default/payment-service" doc:"The Component's entity ref"`
	Environment string `json:"environment" example:"dev"`
	Tag         string `json:"tag" example:"1.4.2" doc:"The image tag in the component's ECR repository; it is resolved to a digest"`
}

// Validate checks the input.
func (in DeployInput) Validate() error {
	switch {
	case in.Component == "":
		return errs.E(errs.Invalid, "component is required")
	case in.Environment == "":
		return errs.E(errs.Invalid, "environment is required")
	case in.Tag == "":
		return errs.E(errs.Invalid, "tag is required")
	}
	return nil
}

// prepared is a checked request: who may do it, what it runs, and the rendered objects.
type prepared struct {
	comp    Component
	env     Environment
	image   Image
	objects []Object
}

func (s *Service) prepare(ctx context.Context, p auth.Principal, in DeployInput) (prepared, error) {
	if err := in.Validate(); err != nil {
		return prepared{}, err
	}
	env, err := s.Environment(in.Environment)
	if err != nil {
		return prepared{}, err
	}
	comp, err := s.Component(in.Component)
	if err != nil {
		return prepared{}, err
	}
	if err := auth.Decide(p, auth.DeployRun, auth.Resource{Owner: comp.Owner, Protected: env.Protected}); err != nil {
		return prepared{}, err
	}
	if s.deps.Registry == nil {
		return prepared{}, errs.E(errs.Unavailable, "no container registry is configured")
	}
	img, err := s.deps.Registry.ResolveImage(ctx, env, comp.Repository(), in.Tag)
	if err != nil {
		return prepared{}, err
	}
	objs, err := Render(comp, env, img, 0)
	if err != nil {
		return prepared{}, err
	}
	return prepared{comp: comp, env: env, image: img, objects: objs}, nil
}

// Deploy records a release of in.Tag and hands it to the workers; it returns at once with the release queued, or
// pending approval in environments that require one. Errors: errs.Forbidden for non-owners, errs.NotFound when
// the image is not in the registry, errs.Conflict while another release of the component runs there.
func (s *Service) Deploy(ctx context.Context, p auth.Principal, in DeployInput) (Release, error) {
	pr, err := s.prepare(ctx, p, in)
	if err != nil {
		return Release{}, err
	}
	status := StatusQueued
	if pr.env.RequireApproval {
		status = StatusPendingApproval
	}
	dep, _ := workload(pr.objects)
	r, err := s.deps.Store.CreateRelease(ctx, Release{
		Component: pr.comp.Ref, Environment: pr.env.Name, Kind: KindDeploy, Image: pr.image, Status: status,
		RequestedBy: p.Subject, Namespace: dep.Namespace(), Workload: dep.Name(), Objects: pr.objects,
	})
	if err != nil {
		return Release{}, err
	}
	msg := fmt.Sprintf("%s requested %s (%s) in %s", p.Subject, pr.image.Tag, pr.image.Digest, pr.env.Name)
	s.event(ctx, r.ID, EventNormal, "Requested", msg)
	if status == StatusPendingApproval {
		s.event(ctx, r.ID, EventNormal, "AwaitingApproval", "waiting for a second owner of "+pr.comp.Owner+" to approve")
	} else {
		s.kick()
	}
	return r, nil
}

// Plan is what a dry run found: the image, the objects and what applying them would change.
type Plan struct {
	Image   Image        `json:"image"`
	Objects []Object     `json:"objects"`
	Diff    []ObjectDiff `json:"diff"`
}

// DryRun resolves the image, renders the objects and has the cluster dry-run the apply (admission and validation
// included), then compares with what runs. Nothing changes and nothing is recorded.
func (s *Service) DryRun(ctx context.Context, p auth.Principal, in DeployInput) (Plan, error) {
	pr, err := s.prepare(ctx, p, in)
	if err != nil {
		return Plan{}, err
	}
	cl, err := s.cluster(ctx, pr.env)
	if err != nil {
		return Plan{}, err
	}
	applied, err := cl.Apply(ctx, pr.objects, true)
	if err != nil {
		s.forgetOnAuth(pr.env, err)
		return Plan{}, err
	}
	plan := Plan{Image: pr.image, Objects: pr.objects}
	for _, a := range applied {
		live, ok, err := cl.Get(ctx, a)
		if err != nil {
			return Plan{}, err
		}
		if !ok {
			live = nil
		}
		plan.Diff = append(plan.Diff, DiffObjects(live, a))
	}
	return plan, nil
}

// Approve lets a release that waits for approval run. The approver must own the component and must not be the
// requester (errs.Forbidden); a release that does not wait is errs.Conflict.
func (s *Service) Approve(ctx context.Context, p auth.Principal, id int64) (Release, error) {
	r, err := s.deps.Store.GetRelease(ctx, id)
	if err != nil {
		return Release{}, err
	}
	comp, err := s.Component(r.Component)
	if err != nil {
		return Release{}, err
	}
	if err := auth.Decide(p, auth.DeployApprove, auth.Resource{Owner: comp.Owner, RequestedBy: r.RequestedBy}); err != nil {
		return Release{}, err
	}
	if r.Status != StatusPendingApproval {
		return Release{}, errs.E(errs.Conflict, "release %d is %s, not waiting for approval", id, r.Status)
	}
	queued, by := StatusQueued, p.Subject
	r, err = s.deps.Store.UpdateRelease(ctx, id, ReleaseUpdate{From: []Status{StatusPendingApproval}, Status: &queued, ApprovedBy: &by})
	if err != nil {
		return Release{}, err
	}
	s.event(ctx, id, EventNormal, "Approved", p.Subject+" approved the release")
	s.kick()
	return r, nil
}

// RollbackInput asks to run a component's previous release again.
type RollbackInput struct {
	Component   string `json:"component" example:"component:default/payment-service"`
	Environment string `json:"environment" example:"dev"`
	// To is the release to return to; by default the last successful release before the current one.
	To int64 `json:"to,omitempty"`
}

// Rollback records a release that re-applies the objects of an earlier successful release, exactly as they were
// applied then. It needs no approval: it returns to a state that was already approved.
func (s *Service) Rollback(ctx context.Context, p auth.Principal, in RollbackInput) (Release, error) {
	env, err := s.Environment(in.Environment)
	if err != nil {
		return Release{}, err
	}
	comp, err := s.Component(in.Component)
	if err != nil {
		return Release{}, err
	}
	if err := auth.Decide(p, auth.DeployRun, auth.Resource{Owner: comp.Owner, Protected: env.Protected}); err != nil {
		return Release{}, err
	}
	var target Release
	if in.To != 0 {
		target, err = s.deps.Store.GetRelease(ctx, in.To)
		if err != nil {
			return Release{}, err
		}
		if target.Component != comp.Ref || target.Environment != env.Name || target.Status != StatusSucceeded {
			return Release{}, errs.E(errs.Invalid, "release %d is not a successful release of %s in %s", in.To, comp.Ref, env.Name)
		}
	} else {
		done, _, err := s.deps.Store.ListReleases(ctx, ReleaseFilter{Component: comp.Ref, Environment: env.Name,
			Status: []Status{StatusSucceeded}, Limit: 2})
		if err != nil {
			return Release{}, err
		}
		if len(done) < 2 {
			return Release{}, errs.E(errs.Conflict, "%s has no earlier successful release in %s to roll back to", comp.Ref, env.Name)
		}
		target = done[1]
	}
	r, err := s.deps.Store.CreateRelease(ctx, Release{
		Component: comp.Ref, Environment: env.Name, Kind: KindRollback, RollbackOf: target.ID, Image: target.Image,
		Status: StatusQueued, RequestedBy: p.Subject, Namespace: target.Namespace, Workload: target.Workload, Objects: target.Objects,
	})
	if err != nil {
		return Release{}, err
	}
	s.event(ctx, r.ID, EventNormal, "Requested", fmt.Sprintf("%s rolled back to release %d (%s, %s)", p.Subject, target.ID, target.Image.Tag, target.Image.Digest))
	s.kick()
	return r, nil
}

// Release returns one release.
func (s *Service) Release(ctx context.Context, id int64) (Release, error) {
	return s.deps.Store.GetRelease(ctx, id)
}

// Releases lists releases, newest first, with the total that match.
func (s *Service) Releases(ctx context.Context, f ReleaseFilter) ([]Release, int, error) {
	if f.Component != "" {
		kind, ns, name := normaliseRef(f.Component, "component")
		f.Component = kind + ":" + ns + "/" + name
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	return s.deps.Store.ListReleases(ctx, f)
}

// Events returns a release's events after afterID, oldest first.
func (s *Service) Events(ctx context.Context, releaseID, afterID int64) ([]ReleaseEvent, error) {
	if _, err := s.deps.Store.GetRelease(ctx, releaseID); err != nil {
		return nil, err
	}
	return s.deps.Store.ListEvents(ctx, releaseID, afterID, 1000)
}

// Subscribe returns a channel that receives a signal whenever this replica records an event; followers re-read the
// store on it (and now and then anyway, for other replicas' events). Call cancel when done.
func (s *Service) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

func (s *Service) event(ctx context.Context, releaseID int64, typ, reason, msg string) {
	_, err := s.deps.Store.AddEvent(context.WithoutCancel(ctx), ReleaseEvent{ReleaseID: releaseID, At: s.cfg.Now().UTC(), Type: typ, Reason: reason, Message: msg})
	if err != nil {
		s.log.Error("recording a release event failed", "release", releaseID, "reason", reason, "err", err)
	}
	s.mu.Lock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
}

func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// cluster returns a client for env's cluster, locating it once and keeping it; a refused token drops it so the
// next use locates again.
func (s *Service) cluster(ctx context.Context, env Environment) (Cluster, error) {
	s.mu.Lock()
	cl, ok := s.clusters[env.Name]
	s.mu.Unlock()
	if ok {
		return cl, nil
	}
	if s.deps.Locator == nil || s.deps.Connector == nil {
		return nil, errs.E(errs.Unavailable, "no cluster access is configured for %s", env.Name)
	}
	ep, err := s.deps.Locator.Locate(ctx, env)
	if err != nil {
		return nil, err
	}
	cl, err = s.deps.Connector.Connect(ep)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.clusters[env.Name] = cl
	s.mu.Unlock()
	return cl, nil
}

func (s *Service) forgetOnAuth(env Environment, err error) {
	if errs.Is(err, errs.Unauthenticated) || errs.Is(err, errs.Unavailable) {
		s.mu.Lock()
		delete(s.clusters, env.Name)
		s.mu.Unlock()
	}
}

func releaseAnnotated(objs []Object, id int64) []Object {
	out := make([]Object, len(objs))
	for i, o := range objs {
		o = o.Clone()
		if o.Kind() == "Deployment" {
			md := o.Metadata()
			a, _ := md["annotations"].(map[string]any)
			if a == nil {
				a = map[string]any{}
				md["annotations"] = a
			}
			a[AnnotationRelease] = strconv.FormatInt(id, 10)
		}
		out[i] = o
	}
	return out
}
