package scaffolder

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// EntityReader reads catalog entities as the catalog stores them (JSON); the catalog service
// implements it. GetByRef returns errs.NotFound for an entity that does not exist.
type EntityReader interface {
	GetByRef(kind, namespace, name string) ([]byte, error)
}

// Autocompleter answers POST /v2/autocomplete/:provider/:resource for one provider, with the
// caller's own token.
type Autocompleter interface {
	Autocomplete(ctx context.Context, resource, token string, context map[string]string) ([]AutocompleteResult, error)
}

// AutocompleteResult is one suggestion: {id, title?}.
type AutocompleteResult struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
}

// RunPolicyAnnotation restricts who may run a template: "owners" lets only the members of the
// template's spec.owner (and admins) run it. Without it anyone allowed to run templates may.
const RunPolicyAnnotation = "portal.billpay.io/run-policy"

// Service is the scaffolder as the API sees it: templates read from the catalog, tasks created,
// listed, followed, cancelled and retried through the TaskStore, dry runs and the action list.
// Workers that run the tasks use Store(), so that this replica's event streams wake as soon as a
// task here logs; streams also poll the store for what other replicas write.
type Service struct {
	store   *notifyingStore
	runner  *Runner
	catalog EntityReader
	poll    time.Duration
	auto    map[string]Autocompleter
	missing map[string]error
}

// ServiceOptions are what a Service needs.
type ServiceOptions struct {
	Store   TaskStore
	Runner  *Runner
	Catalog EntityReader
	// PollInterval is how often an event stream looks for events written by other replicas;
	// default 1 s.
	PollInterval time.Duration
	// Autocomplete maps providers ("github") to what answers their autocomplete requests.
	Autocomplete map[string]Autocompleter
	// Unavailable maps action ids to why they cannot run on this installation; tasks of templates
	// using them are refused with that error.
	Unavailable map[string]error
}

// NewService returns a service over the given parts.
func NewService(o ServiceOptions) *Service {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	return &Service{store: &notifyingStore{TaskStore: o.Store}, runner: o.Runner, catalog: o.Catalog, poll: o.PollInterval,
		auto: o.Autocomplete, missing: o.Unavailable}
}

// Store is the task store workers on this replica must use.
func (s *Service) Store() TaskStore { return s.store }

// Runner is the runner tasks and dry runs use.
func (s *Service) Runner() *Runner { return s.runner }

// Actions describes every registered action, sorted by id.
func (s *Service) Actions() []ActionInfo { return s.runner.Actions.List() }

// CatalogTemplate is a Template entity read from the catalog, with what running it needs.
type CatalogTemplate struct {
	*Template
	// BaseURL is the template's location (see TemplateInfo.BaseURL); "" when the entity has none.
	BaseURL string
	// Owner is spec.owner as a full entity ref ("group:default/platform-team"); "" when unset.
	Owner string
	// OwnersOnly is set by the run-policy annotation "owners".
	OwnersOnly bool
}

// Template reads the template kind:namespace/name from the catalog. errs.NotFound when there is no
// such entity; errs.Invalid when it is not a v1beta3 template.
func (s *Service) Template(_ context.Context, namespace, kind, name string) (*CatalogTemplate, error) {
	raw, err := s.catalog.GetByRef(kind, namespace, name)
	if err != nil {
		return nil, err
	}
	v, err := nunjucks.ParseJSONBytes(raw)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "entity %s:%s/%s is stored corrupt", kind, namespace, name)
	}
	o, _ := v.(*nunjucks.Object)
	tpl, err := TemplateFromObject(o)
	if err != nil {
		return nil, err
	}
	var e catalog.Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "entity %s:%s/%s is stored corrupt", kind, namespace, name)
	}
	ct := &CatalogTemplate{Template: tpl, BaseURL: EntityBaseURL(e), OwnersOnly: strings.EqualFold(e.Annotation(RunPolicyAnnotation), "owners")}
	if owner, _ := e.Spec()["owner"].(string); owner != "" {
		if ref, err := catalog.ParseRef(owner, catalog.RefDefaults{Kind: "group", Namespace: tpl.Namespace}); err == nil {
			ct.Owner = ref.String()
		}
	}
	return ct, nil
}

// TemplateByRef reads the template a task names: "[template:][namespace/]name".
func (s *Service) TemplateByRef(ctx context.Context, ref string) (*CatalogTemplate, error) {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{Kind: "template"})
	if err != nil {
		return nil, err
	}
	return s.Template(ctx, r.Namespace, r.Kind, r.Name)
}

// EntityBaseURL is where a catalog entity's own files are, as Backstage's getEntityBaseUrl finds
// it: the source-location annotation, else the managed-by-location one; url: targets as they are,
// file: targets as file:// URLs.
func EntityBaseURL(e catalog.Entity) string {
	loc := e.Annotation("backstage.io/source-location")
	if loc == "" {
		loc = e.Annotation(catalog.AnnotationManagedByLocation)
	}
	typ, target, ok := strings.Cut(loc, ":")
	if !ok {
		return ""
	}
	switch typ {
	case "url":
		return target
	case "file":
		return "file://" + target
	}
	return ""
}

// CreateTaskRequest is a task to create from a catalog template.
type CreateTaskRequest struct {
	Template *CatalogTemplate
	Values   *nunjucks.Object
	Secrets  map[string]string
	// UserRef is the user entity the task runs for (user.ref and user.entity in templates); ""
	// for automation.
	UserRef string
	// CreatedBy records who created the task.
	CreatedBy string
	// MayUse judges, for each action the template uses that declares a Permission, whether the
	// creator's credentials allow it (a token scoped to running templates cannot deploy through one).
	// nil allows everything.
	MayUse func(permission string) error
}

// CreateTask validates the values against every parameter page (ValidationErrors for the first
// page that fails), refuses templates that use an action this installation cannot run, and stores
// an open task for a worker to claim.
func (s *Service) CreateTask(ctx context.Context, req CreateTaskRequest) (string, error) {
	if verrs := req.Template.ValidateValues(req.Values); len(verrs) > 0 {
		return "", verrs
	}
	if err := s.usable(req.Template.Template, req.MayUse); err != nil {
		return "", err
	}
	user := UserInfo{Ref: req.UserRef}
	if req.UserRef != "" {
		if r, err := catalog.ParseRef(req.UserRef, catalog.RefDefaults{Kind: "user"}); err == nil {
			if raw, err := s.catalog.GetByRef(r.Kind, r.Namespace, r.Name); err == nil {
				var e map[string]any
				if json.Unmarshal(raw, &e) == nil {
					user.Entity = e
				}
			}
		}
	}
	spec := req.Template.NewTaskSpec(req.Values, user, req.Template.BaseURL)
	return s.store.CreateTask(ctx, spec, req.Secrets, req.CreatedBy)
}

// GetTask returns a task without its secrets.
func (s *Service) GetTask(ctx context.Context, id string) (*Task, error) {
	t, err := s.store.GetTask(ctx, id)
	if err != nil {
		return nil, err
	}
	t.Secrets = nil
	return t, nil
}

// ListTasks lists tasks (without secrets) and counts all that match.
func (s *Service) ListTasks(ctx context.Context, f TaskFilter) ([]Task, int, error) {
	tasks, total, err := s.store.ListTasks(ctx, f)
	for i := range tasks {
		tasks[i].Secrets = nil
	}
	return tasks, total, err
}

// Cancel asks a task to stop; errs.Conflict when it already ended.
func (s *Service) Cancel(ctx context.Context, id string) error { return s.store.RequestCancel(ctx, id) }

// Retry runs a failed or cancelled task again from its first step, with new secrets (the old ones
// were dropped when it ended). errs.Conflict for a task that is open, running or completed.
func (s *Service) Retry(ctx context.Context, id string, secrets map[string]string) error {
	t, err := s.store.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if t.Status != StatusFailed && t.Status != StatusCancelled {
		return errs.E(errs.Conflict, "task %s is %s; only failed or cancelled tasks can be retried", id, t.Status)
	}
	if secrets == nil {
		secrets = map[string]string{}
	}
	return s.store.RetryTask(ctx, id, secrets)
}

// Events returns a task's events with ids above after, and the completion event of its last run
// when it has ended (a retried task's earlier completions are history, not its end).
func (s *Service) Events(ctx context.Context, id string, after int64) ([]StoredEvent, error) {
	evs, err := s.store.ListEvents(ctx, id, after)
	if err != nil {
		return nil, err
	}
	return s.current(ctx, id, after, evs)
}

// current drops completion events at or below after unless the task has ended and that completion
// is its last one.
func (s *Service) current(ctx context.Context, id string, after int64, evs []StoredEvent) ([]StoredEvent, error) {
	var latest int64 = -1
	old := false
	for _, e := range evs {
		if e.Type == EventCompletion {
			latest = max(latest, e.ID)
			old = old || e.ID <= after
		}
	}
	if !old {
		return evs, nil
	}
	keepOld := false
	if latest <= after {
		t, err := s.store.GetTask(ctx, id)
		if err != nil {
			return nil, err
		}
		keepOld = t.Status.Done()
	}
	out := evs[:0:0]
	for _, e := range evs {
		if e.ID > after || (keepOld && e.ID == latest) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Ended reports whether a batch of events ends the task's stream: it holds a completion event that
// no recovered event follows.
func Ended(evs []StoredEvent) bool {
	ended := false
	for _, e := range evs {
		switch e.Type {
		case EventCompletion:
			ended = true
		case EventRecovered:
			ended = false
		}
	}
	return ended
}

// WaitEvents is Events once there is something to return: it waits for events with ids above after
// (or for the task to have ended), and returns nothing when ctx ends first.
func (s *Service) WaitEvents(ctx context.Context, id string, after int64) ([]StoredEvent, error) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		wake := s.store.changed()
		evs, err := s.Events(ctx, id, after)
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-wake:
		case <-t.C:
		}
	}
}

// DryRun runs a template given in full (not from the catalog) in a throw-away workspace.
func (s *Service) DryRun(ctx context.Context, req DryRunRequest) (*DryRunResult, error) {
	if err := s.usable(req.Template, req.MayUse); err != nil {
		return nil, err
	}
	return s.runner.DryRun(ctx, req)
}

// usable refuses a template that uses an action this installation cannot run, or one that acts beyond
// what the caller's credentials allow.
func (s *Service) usable(tpl *Template, mayUse func(string) error) error {
	for _, st := range tpl.Steps {
		if err := s.missing[st.Action]; err != nil {
			return err
		}
		if mayUse == nil || s.runner == nil || s.runner.Actions == nil {
			continue
		}
		if a, ok := s.runner.Actions.Get(st.Action); ok && a.Info().Permission != "" {
			if err := mayUse(a.Info().Permission); err != nil {
				return errs.Wrap(errs.Forbidden, err, "step %s (%s): %s", st.ID, st.Action, errs.MessageOf(err))
			}
		}
	}
	return nil
}

// Autocomplete answers an autocomplete request; errs.Invalid for a provider nobody serves.
func (s *Service) Autocomplete(ctx context.Context, provider, resource, token string, params map[string]string) ([]AutocompleteResult, error) {
	a, ok := s.auto[provider]
	if !ok {
		return nil, errs.E(errs.Invalid, "Unsupported provider: %s", provider)
	}
	if token == "" {
		return nil, errs.E(errs.Invalid, "token is required")
	}
	res, err := a.Autocomplete(ctx, resource, token, params)
	if res == nil {
		res = []AutocompleteResult{}
	}
	return res, err
}

// notifyingStore wakes WaitEvents on this replica whenever an event is written through it.
type notifyingStore struct {
	TaskStore
	mu   sync.Mutex
	wake chan struct{}
}

func (n *notifyingStore) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.wake == nil {
		n.wake = make(chan struct{})
	}
	return n.wake
}

func (n *notifyingStore) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.wake != nil {
		close(n.wake)
		n.wake = nil
	}
}

func (n *notifyingStore) AppendEvent(ctx context.Context, id string, e Event) (StoredEvent, error) {
	defer n.notify()
	return n.TaskStore.AppendEvent(ctx, id, e)
}

func (n *notifyingStore) RequestCancel(ctx context.Context, id string) error {
	defer n.notify()
	return n.TaskStore.RequestCancel(ctx, id)
}

func (n *notifyingStore) RetryTask(ctx context.Context, id string, secrets map[string]string) error {
	defer n.notify()
	return n.TaskStore.RetryTask(ctx, id, secrets)
}
