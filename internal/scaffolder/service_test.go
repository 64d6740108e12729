package scaffolder_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/memstore"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// entities is a catalog of stored JSON entities keyed by canonical ref.
type entities map[string]string

func (e entities) GetByRef(kind, namespace, name string) ([]byte, error) {
	ref := catalog.Ref{Kind: kind, Namespace: namespace, Name: name}.String()
	raw, ok := e[ref]
	if !ok {
		return nil, errs.E(errs.NotFound, "No entity named '%s' found, with kind '%s' in namespace '%s'", name, kind, namespace)
	}
	return []byte(raw), nil
}

const serviceTemplate = `{"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
 "metadata": {"name": "svc", "namespace": "default", "title": "Service",
   "annotations": {"backstage.io/managed-by-location": "file:/srv/templates/svc/template.yaml", "portal.billpay.io/run-policy": "owners"}},
 "spec": {"owner": "platform-team", "type": "service",
   "parameters": [{"title": "Name", "required": ["name"], "properties": {"zeta": {"type": "string"}, "name": {"type": "string", "pattern": "^[a-z]+$"}}}],
   "steps": [{"id": "log", "action": "debug:log", "input": {"message": "hi ${{ user.entity.spec.profile.displayName }}"}}]}}`

func mustService(t *testing.T, store scaffolder.TaskStore) *scaffolder.Service {
	t.Helper()
	reg, err := scaffolder.NewRegistry(action.Builtins(action.Options{})...)
	if err != nil {
		t.Fatal(err)
	}
	return scaffolder.NewService(scaffolder.ServiceOptions{
		Store:  store,
		Runner: &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}), WorkDir: t.TempDir()},
		Catalog: entities{
			"template:default/svc":   serviceTemplate,
			"template:default/plain": strings.Replace(strings.Replace(serviceTemplate, `"svc"`, `"plain"`, 1), `, "portal.billpay.io/run-policy": "owners"`, "", 1),
			"user:default/jane":      `{"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": {"name": "jane"}, "spec": {"profile": {"displayName": "Jane"}}}`,
			"component:default/x":    `{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}, "spec": {}}`,
		},
		PollInterval: time.Hour,
	})
}

func TestServiceTemplates(t *testing.T) {
	svc := mustService(t, memstore.New())
	ctx := context.Background()
	tpl, err := svc.TemplateByRef(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	if tpl.BaseURL != "file:///srv/templates/svc/template.yaml" || tpl.Owner != "group:default/platform-team" || !tpl.OwnersOnly {
		t.Fatalf("template %q owner %q ownersOnly %v", tpl.BaseURL, tpl.Owner, tpl.OwnersOnly)
	}
	// Property order is the stored order, which the form shows.
	schema, _ := json.Marshal(tpl.ParameterSchema().Steps[0].Schema)
	if !strings.Contains(string(schema), `"properties":{"zeta":{"type":"string"},"name"`) {
		t.Fatalf("schema %s", schema)
	}
	if plain, err := svc.TemplateByRef(ctx, "template:default/plain"); err != nil || plain.OwnersOnly {
		t.Fatalf("plain: %+v %v", plain, err)
	}
	if _, err := svc.TemplateByRef(ctx, "template:default/missing"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := svc.Template(ctx, "default", "component", "x"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a component: %v", err)
	}
	if _, err := svc.TemplateByRef(ctx, "template:"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a malformed ref: %v", err)
	}
}

func TestServiceTasks(t *testing.T) {
	store := memstore.New()
	svc := mustService(t, store)
	ctx := context.Background()
	tpl, err := svc.TemplateByRef(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}

	_, err = svc.CreateTask(ctx, scaffolder.CreateTaskRequest{Template: tpl, Values: nunjucks.ObjectOf("name", "Bad Name")})
	var verrs scaffolder.ValidationErrors
	if !asValidation(err, &verrs) || !strings.Contains(verrs.Error(), "instance.name") {
		t.Fatalf("bad values: %v", err)
	}

	id, err := svc.CreateTask(ctx, scaffolder.CreateTaskRequest{Template: tpl, Values: nunjucks.ObjectOf("name", "ledger"),
		Secrets: map[string]string{"token": "s3cret"}, UserRef: "user:default/jane", CreatedBy: "user:default/jane"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := svc.GetTask(ctx, id)
	if err != nil || task.Secrets != nil || task.CreatedBy != "user:default/jane" {
		t.Fatalf("task %+v %v", task, err)
	}
	if task.Spec.TemplateInfo.BaseURL != tpl.BaseURL || task.Spec.User.Ref != "user:default/jane" || task.Spec.User.Entity == nil {
		t.Fatalf("spec %+v", task.Spec)
	}
	if err := svc.Retry(ctx, id, nil); !errs.Is(err, errs.Conflict) {
		t.Fatalf("retry of an open task: %v", err)
	}

	// A stream waiting for events wakes when a worker on this replica writes one.
	got := make(chan []scaffolder.StoredEvent, 1)
	go func() {
		evs, _ := svc.WaitEvents(ctx, id, 0)
		got <- evs
	}()
	time.Sleep(20 * time.Millisecond)
	w := &scaffolder.Worker{Store: svc.Store(), Runner: svc.Runner(), ID: "test"}
	if ran, err := w.RunOnce(ctx); !ran || err != nil {
		t.Fatalf("ran %v %v", ran, err)
	}
	select {
	case evs := <-got:
		if len(evs) == 0 || evs[0].Body.Message != "Starting up task with 1 steps" {
			t.Fatalf("events %+v", evs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting stream never woke")
	}
	all, _ := svc.Events(ctx, id, 0)
	var msgs []string
	for _, e := range all {
		msgs = append(msgs, e.Body.Message)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "hi Jane") {
		t.Fatalf("user.entity was not in the context:\n%s", strings.Join(msgs, "\n"))
	}

	// A finished task's events come back at once; the completion event whatever after says.
	last := all[len(all)-1]
	evs, err := svc.WaitEvents(ctx, id, last.ID)
	if err != nil || len(evs) != 1 || evs[0].Type != scaffolder.EventCompletion {
		t.Fatalf("after the end: %+v %v", evs, err)
	}
	if err := svc.Cancel(ctx, id); !errs.Is(err, errs.Conflict) {
		t.Fatalf("cancel of a completed task: %v", err)
	}
	if _, err := svc.Autocomplete(ctx, "gitlab", "repositories", "t", nil); !errs.Is(err, errs.Invalid) {
		t.Fatalf("autocomplete: %v", err)
	}
}

func asValidation(err error, out *scaffolder.ValidationErrors) bool {
	v, ok := err.(scaffolder.ValidationErrors)
	if ok {
		*out = v
	}
	return ok
}

// permissionAction stands for an action that acts beyond running a template, as deploy:eks does.
type permissionAction struct{}

func (permissionAction) Info() scaffolder.ActionInfo {
	return scaffolder.ActionInfo{ID: "test:deploy", Permission: "deploy.run"}
}

func (permissionAction) Run(_ context.Context, ac *scaffolder.ActionContext) error {
	ac.Log("acting for %s", ac.CreatedBy)
	return nil
}

// TestServiceChecksActionPermissions refuses a task whose steps act beyond what its creator's credentials allow,
// before anything is stored, and hands the creator to the actions that act for them.
func TestServiceChecksActionPermissions(t *testing.T) {
	reg, err := scaffolder.NewRegistry(append(action.Builtins(action.Options{}), permissionAction{})...)
	if err != nil {
		t.Fatal(err)
	}
	tpl := strings.Replace(serviceTemplate, `"action": "debug:log", "input": {"message": "hi ${{ user.entity.spec.profile.displayName }}"}`, `"action": "test:deploy"`, 1)
	store := memstore.New()
	svc := scaffolder.NewService(scaffolder.ServiceOptions{Store: store,
		Runner:  &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}), WorkDir: t.TempDir()},
		Catalog: entities{"template:default/svc": tpl}, PollInterval: time.Hour})
	ctx := context.Background()
	ct, err := svc.TemplateByRef(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	refuse := func(perm string) error {
		asked = append(asked, perm)
		return errs.E(errs.Forbidden, "the token lacks the deploy:run scope")
	}
	_, err = svc.CreateTask(ctx, scaffolder.CreateTaskRequest{Template: ct, Values: nunjucks.ObjectOf("name", "ledger"), CreatedBy: "user:default/jane", MayUse: refuse})
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(errs.MessageOf(err), "step log (test:deploy): the token lacks the deploy:run scope") {
		t.Fatalf("want Forbidden naming the step: %v", err)
	}
	if len(asked) != 1 || asked[0] != "deploy.run" {
		t.Fatalf("asked %v", asked)
	}
	if tasks, _, _ := svc.ListTasks(ctx, scaffolder.TaskFilter{}); len(tasks) != 0 {
		t.Fatalf("a refused task is not stored: %+v", tasks)
	}

	id, err := svc.CreateTask(ctx, scaffolder.CreateTaskRequest{Template: ct, Values: nunjucks.ObjectOf("name", "ledger"), CreatedBy: "user:default/jane",
		MayUse: func(string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	w := &scaffolder.Worker{Store: svc.Store(), Runner: svc.Runner(), ID: "test"}
	if ran, err := w.RunOnce(ctx); !ran || err != nil {
		t.Fatalf("ran %v %v", ran, err)
	}
	evs, err := store.ListEvents(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, e := range evs {
		log = append(log, e.Body.Message)
	}
	if !strings.Contains(strings.Join(log, "\n"), "acting for user:default/jane") {
		t.Fatalf("the action did not see its creator:\n%s", strings.Join(log, "\n"))
	}
}
