package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

const scaffolderTag = "Scaffolder"

// longPollTimeout is how long GET /v2/tasks/:id/events waits before answering [] (RFC 6202's advice).
const longPollTimeout = 30 * time.Second

// scaffolderOp declares an operation under /api/scaffolder with the Backstage error statuses it may return.
func (s *Server) scaffolderOp(id, method, path, summary string, mutating bool) huma.Operation {
	return s.operation(scaffolderTag, id, method, "/api/scaffolder"+path, summary, mutating, http.StatusForbidden, http.StatusConflict)
}

// taskJSON is Backstage's SerializedTask (secrets are never part of it).
type taskJSON struct {
	ID              string              `json:"id"`
	Spec            scaffolder.TaskSpec `json:"spec"`
	Status          string              `json:"status"`
	CreatedAt       time.Time           `json:"createdAt"`
	LastHeartbeatAt *time.Time          `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string              `json:"createdBy,omitempty"`
}

func toTaskJSON(t scaffolder.Task) taskJSON {
	out := taskJSON{ID: t.ID, Spec: t.Spec, Status: string(t.Status), CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy}
	if !t.LastHeartbeatAt.IsZero() {
		hb := t.LastHeartbeatAt
		out.LastHeartbeatAt = &hb
	}
	return out
}

// eventJSON is Backstage's SerializedTaskEvent.
type eventJSON struct {
	ID        int64                `json:"id"`
	TaskID    string               `json:"taskId"`
	Body      scaffolder.EventBody `json:"body"`
	Type      string               `json:"type"`
	CreatedAt time.Time            `json:"createdAt"`
}

func toEventJSON(e scaffolder.StoredEvent) eventJSON {
	return eventJSON{ID: e.ID, TaskID: e.TaskID, Body: e.Body, Type: string(e.Type), CreatedAt: e.CreatedAt}
}

// Documentation-only shapes: the responses are written with encoding/json from the types above,
// whose template values (any JSON) huma cannot describe by reflection.
type taskDoc struct {
	ID              string         `json:"id" example:"3f6c2a5e-8d1b-4c1e-9a55-2f2b1f0c9d11"`
	Spec            map[string]any `json:"spec" doc:"TaskSpec: apiVersion, steps, output, parameters, user, templateInfo"`
	Status          string         `json:"status" enum:"open,processing,completed,failed,cancelled"`
	CreatedAt       time.Time      `json:"createdAt"`
	LastHeartbeatAt *time.Time     `json:"lastHeartbeatAt,omitempty"`
	CreatedBy       string         `json:"createdBy,omitempty" example:"user:default/jane"`
}

type taskListDoc struct {
	Tasks      []taskDoc `json:"tasks"`
	TotalTasks int       `json:"totalTasks"`
}

type eventDoc struct {
	ID        int64          `json:"id"`
	TaskID    string         `json:"taskId"`
	Body      map[string]any `json:"body" doc:"message, stepId and status for log lines; output or error on completion"`
	Type      string         `json:"type" enum:"log,completion,cancelled,recovered"`
	CreatedAt time.Time      `json:"createdAt"`
}

type actionDoc struct {
	ID          string                     `json:"id" example:"fetch:template"`
	Description string                     `json:"description,omitempty"`
	Examples    []scaffolder.ActionExample `json:"examples"`
	Schema      actionSchemaDoc            `json:"schema"`
}

type actionSchemaDoc struct {
	Input  map[string]any `json:"input,omitempty"`
	Output map[string]any `json:"output,omitempty"`
}

type parameterSchemaDoc struct {
	Title       string                   `json:"title"`
	Description string                   `json:"description,omitempty"`
	Steps       []parameterSchemaPageDoc `json:"steps"`
}

type parameterSchemaPageDoc struct {
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Schema      map[string]any `json:"schema"`
}

type dryRunDoc struct {
	Log               []dryRunLogDoc  `json:"log"`
	DirectoryContents []dryRunFile    `json:"directoryContents"`
	Output            map[string]any  `json:"output"`
	Steps             []dryRunStepDoc `json:"steps"`
}

type dryRunLogDoc struct {
	Body map[string]any `json:"body" doc:"message, and stepId and status for step transitions"`
}

type dryRunStepDoc struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Action string `json:"action"`
}

type cancelDoc struct {
	Status string `json:"status" example:"cancelled"`
}

type autocompleteDoc struct {
	Results []scaffolder.AutocompleteResult `json:"results"`
}

type dryRunFile struct {
	Path          string `json:"path" example:"catalog-info.yaml"`
	Base64Content string `json:"base64Content"`
	Executable    bool   `json:"executable,omitempty"`
}

type validationErrorsDoc struct {
	Errors []scaffolder.ValidationError `json:"errors"`
}

type idDoc struct {
	ID string `json:"id"`
}

// jsonStatus answers status with v encoded by encoding/json.
func jsonStatus(status int, v any) (*rawOutput, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &rawOutput{ContentType: jsonContentType, Body: func(ctx huma.Context) {
		ctx.SetStatus(status)
		_, _ = ctx.BodyWriter().Write(b)
	}}, nil
}

// scaffolderErr answers a failed parameter validation with Backstage's 400 {errors}, anything else
// with its error body.
func scaffolderErr(ctx context.Context, err error) (*rawOutput, error) {
	if verrs, ok := err.(scaffolder.ValidationErrors); ok {
		return jsonStatus(http.StatusBadRequest, map[string]any{"errors": verrs})
	}
	return nil, backstageErr(ctx, err)
}

func parseObject(ctx context.Context, name string, raw json.RawMessage) (*nunjucks.Object, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nunjucks.NewObject(0), nil
	}
	v, err := nunjucks.ParseJSONBytes(raw)
	if err != nil {
		return nil, inputErr(ctx, "Malformed request: %s is not JSON: %v", name, err)
	}
	o, ok := v.(*nunjucks.Object)
	if !ok {
		return nil, inputErr(ctx, "Malformed request: %s must be an object", name)
	}
	return o, nil
}

func parseAfter(ctx context.Context, after, lastEventID string) (int64, error) {
	v := after
	if v == "" {
		v = lastEventID
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, inputErr(ctx, "Invalid after, not an event id: %q", v)
	}
	return n, nil
}

type taskIDInput struct {
	TaskID string `path:"taskId"`
}

func (s *Server) registerScaffolder() {
	svc := s.opts.Scaffolder

	schemaOp := s.scaffolderOp("getTemplateParameterSchema", http.MethodGet, "/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
		"The form a template asks its user to fill", false)
	documentJSON(s.api, &schemaOp, parameterSchemaDoc{}, "The template's title, description and parameter pages")
	huma.Register(s.api, schemaOp, func(ctx context.Context, in *struct {
		Namespace string `path:"namespace"`
		Kind      string `path:"kind"`
		Name      string `path:"name"`
	}) (*rawOutput, error) {
		tpl, err := svc.Template(ctx, in.Namespace, in.Kind, in.Name)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		return jsonStatus(http.StatusOK, tpl.ParameterSchema())
	})

	actionsOp := s.scaffolderOp("listScaffolderActions", http.MethodGet, "/v2/actions", "The actions templates may use, with their input and output schemas", false)
	documentJSON(s.api, &actionsOp, []actionDoc{}, "Every registered action, sorted by id")
	huma.Register(s.api, actionsOp, func(ctx context.Context, _ *struct{}) (*rawOutput, error) {
		return jsonStatus(http.StatusOK, svc.Actions())
	})

	create := s.scaffolderOp("createScaffolderTask", http.MethodPost, "/v2/tasks", "Run a template from the catalog", true)
	create.DefaultStatus = http.StatusCreated
	create.Description = "Validates values against every parameter page (400 {errors} naming the fields of the first page that fails) " +
		"and queues a task that a worker runs. Secrets reach the steps' inputs only; they are never logged nor returned. " +
		"A template annotated portal.billpay.io/run-policy: owners may be run by members of its spec.owner only."
	documentJSON(s.api, &create, idDoc{}, "The new task's id")
	create.Responses[strconv.Itoa(http.StatusBadRequest)] = &huma.Response{Description: "Values that fail the template's parameters",
		Content: map[string]*huma.MediaType{"application/json": {Schema: huma.SchemaFromType(s.api.OpenAPI().Components.Schemas, reflect.TypeOf(validationErrorsDoc{}))}}}
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		Body struct {
			TemplateRef string            `json:"templateRef" required:"true" example:"template:default/go-service"`
			Values      json.RawMessage   `json:"values" required:"true" doc:"The form's values, an object"`
			Secrets     map[string]string `json:"secrets,omitempty" doc:"Values steps see as secrets.*; never stored in clear nor returned"`
		}
	}) (*rawOutput, error) {
		p, _ := PrincipalFrom(ctx)
		values, err := parseObject(ctx, "values", in.Body.Values)
		if err != nil {
			return nil, err
		}
		tpl, err := svc.TemplateByRef(ctx, in.Body.TemplateRef)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		if err := auth.Decide(p, auth.TemplateRun, auth.Resource{Owner: tpl.Owner, OwnersOnly: tpl.OwnersOnly}); err != nil {
			return nil, backstageErr(ctx, err)
		}
		req := scaffolder.CreateTaskRequest{Template: tpl, Values: values, Secrets: in.Body.Secrets, CreatedBy: p.Subject, MayUse: scopeCheck(p)}
		if p.Kind == auth.KindUser || p.Kind == auth.KindGuest {
			req.UserRef = p.Subject
		}
		id, err := svc.CreateTask(ctx, req)
		if err != nil {
			return scaffolderErr(ctx, err)
		}
		audit.Describe(ctx, "task:"+id, nil, map[string]any{"templateRef": tpl.Ref(), "status": scaffolder.StatusOpen})
		return jsonStatus(http.StatusCreated, idDoc{ID: id})
	})

	list := s.scaffolderOp("listScaffolderTasks", http.MethodGet, "/v2/tasks", "List tasks", false)
	list.RejectUnknownQueryParameters = true
	documentJSON(s.api, &list, taskListDoc{}, "The tasks and how many match")
	huma.Register(s.api, list, func(ctx context.Context, in *struct {
		CreatedBy []string `query:"createdBy,explode" doc:"Only tasks created by these principals (user entity refs); repeatable"`
		Status    []string `query:"status,explode" doc:"Only tasks in these statuses; repeatable" enum:"open,processing,completed,failed,cancelled"`
		Limit     string   `query:"limit" doc:"Maximum number of tasks"`
		Offset    string   `query:"offset" doc:"Tasks to skip"`
		Order     string   `query:"order" doc:"asc:<field> or desc:<field>, e.g. desc:created_at"`
	}) (*rawOutput, error) {
		f := scaffolder.TaskFilter{CreatedBy: in.CreatedBy, Order: in.Order}
		for _, st := range in.Status {
			f.Status = append(f.Status, scaffolder.TaskStatus(st))
		}
		var err error
		if in.Limit != "" {
			if f.Limit, err = parseInt(ctx, "limit", in.Limit); err != nil {
				return nil, err
			}
			if f.Limit <= 0 {
				return nil, inputErr(ctx, "Invalid limit, must be greater than zero")
			}
		}
		if in.Offset != "" {
			if f.Offset, err = parseInt(ctx, "offset", in.Offset); err != nil {
				return nil, err
			}
			if f.Offset < 0 {
				return nil, inputErr(ctx, "Invalid offset, must be zero or greater")
			}
		}
		tasks, total, err := svc.ListTasks(ctx, f)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		out := struct {
			Tasks      []taskJSON `json:"tasks"`
			TotalTasks int        `json:"totalTasks"`
		}{Tasks: make([]taskJSON, 0, len(tasks)), TotalTasks: total}
		for _, t := range tasks {
			out.Tasks = append(out.Tasks, toTaskJSON(t))
		}
		return jsonStatus(http.StatusOK, out)
	})

	get := s.scaffolderOp("getScaffolderTask", http.MethodGet, "/v2/tasks/{taskId}", "Get a task", false)
	documentJSON(s.api, &get, taskDoc{}, "The task, without its secrets")
	huma.Register(s.api, get, func(ctx context.Context, in *taskIDInput) (*rawOutput, error) {
		t, err := svc.GetTask(ctx, in.TaskID)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		return jsonStatus(http.StatusOK, toTaskJSON(*t))
	})

	stream := s.scaffolderOp("streamScaffolderTaskEvents", http.MethodGet, "/v2/tasks/{taskId}/eventstream", "Follow a task's events (server-sent events)", false)
	stream.Description = "Sends each event as `event: <type>` with the SerializedTaskEvent as data and its id as the SSE id, " +
		"starting after `after` (or Last-Event-ID); the stream ends after the completion event of the task's last run."
	stream.Responses = map[string]*huma.Response{"200": {Description: "An event stream",
		Content: map[string]*huma.MediaType{"text/event-stream": {}}}}
	huma.Register(s.api, stream, func(ctx context.Context, in *struct {
		TaskID      string `path:"taskId"`
		After       string `query:"after" doc:"Send events with ids above this one"`
		LastEventID string `header:"Last-Event-ID"`
	}) (*ofrepOutput, error) {
		after, err := parseAfter(ctx, in.After, in.LastEventID)
		if err != nil {
			return nil, err
		}
		if _, err := svc.GetTask(ctx, in.TaskID); err != nil {
			return nil, backstageErr(ctx, err)
		}
		id := in.TaskID
		return &ofrepOutput{Body: func(hc huma.Context) { s.taskEventStream(hc, id, after) }}, nil
	})

	poll := s.scaffolderOp("listScaffolderTaskEvents", http.MethodGet, "/v2/tasks/{taskId}/events", "Wait for a task's next events (long poll)", false)
	poll.Description = "Answers as soon as the task has events with ids above `after` (its completion event always counts), or [] after 30 s."
	documentJSON(s.api, &poll, []eventDoc{}, "The events")
	huma.Register(s.api, poll, func(ctx context.Context, in *struct {
		TaskID string `path:"taskId"`
		After  string `query:"after" doc:"Return events with ids above this one"`
	}) (*rawOutput, error) {
		after, err := parseAfter(ctx, in.After, "")
		if err != nil {
			return nil, err
		}
		if _, err := svc.GetTask(ctx, in.TaskID); err != nil {
			return nil, backstageErr(ctx, err)
		}
		wctx, cancel := context.WithTimeout(ctx, longPollTimeout)
		defer cancel()
		stop := context.AfterFunc(s.streams, cancel)
		defer stop()
		evs, err := svc.WaitEvents(wctx, in.TaskID, after)
		if err != nil && wctx.Err() == nil {
			return nil, backstageErr(ctx, err)
		}
		out := make([]eventJSON, 0, len(evs))
		for _, e := range evs {
			out = append(out, toEventJSON(e))
		}
		return jsonStatus(http.StatusOK, out)
	})

	cancelOp := s.scaffolderOp("cancelScaffolderTask", http.MethodPost, "/v2/tasks/{taskId}/cancel", "Cancel a task", true)
	cancelOp.DefaultStatus = http.StatusOK
	documentJSON(s.api, &cancelOp, cancelDoc{}, "The cancel was requested; the runner stops at once")
	huma.Register(s.api, cancelOp, func(ctx context.Context, in *taskIDInput) (*rawOutput, error) {
		before, err := svc.GetTask(ctx, in.TaskID)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		if err := svc.Cancel(ctx, in.TaskID); err != nil {
			return nil, backstageErr(ctx, err)
		}
		audit.Describe(ctx, "task:"+in.TaskID, map[string]any{"status": before.Status}, map[string]any{"status": scaffolder.StatusCancelled})
		return jsonStatus(http.StatusOK, map[string]string{"status": string(scaffolder.StatusCancelled)})
	})

	retry := s.scaffolderOp("retryScaffolderTask", http.MethodPost, "/v2/tasks/{taskId}/retry", "Run a failed or cancelled task again", true)
	retry.DefaultStatus = http.StatusCreated
	documentJSON(s.api, &retry, idDoc{}, "The task, open again")
	huma.Register(s.api, retry, func(ctx context.Context, in *struct {
		TaskID string `path:"taskId"`
		Body   *struct {
			Secrets map[string]string `json:"secrets,omitempty" doc:"Secrets for the new run (the first run's were deleted when it ended)"`
		}
	}) (*rawOutput, error) {
		before, err := svc.GetTask(ctx, in.TaskID)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		var secrets map[string]string
		if in.Body != nil {
			secrets = in.Body.Secrets
		}
		if err := svc.Retry(ctx, in.TaskID, secrets); err != nil {
			return nil, backstageErr(ctx, err)
		}
		audit.Describe(ctx, "task:"+in.TaskID, map[string]any{"status": before.Status}, map[string]any{"status": scaffolder.StatusOpen})
		return jsonStatus(http.StatusCreated, idDoc{ID: in.TaskID})
	})

	dry := s.scaffolderOp("dryRunTemplate", http.MethodPost, "/v2/dry-run", "Run a template in a throw-away workspace and return the files it produces", true)
	dry.Description = "Actions that support dry runs run (fetching and templating files); others are skipped with example outputs. " +
		"directoryContents are the template's own files (skeletons), which relative fetch URLs read."
	documentJSON(s.api, &dry, dryRunDoc{}, "The log, the produced files, the output and the steps")
	huma.Register(s.api, dry, func(ctx context.Context, in *struct {
		Body struct {
			Template          json.RawMessage   `json:"template" required:"true" doc:"A Template entity (scaffolder.backstage.io/v1beta3)"`
			Values            json.RawMessage   `json:"values" required:"true"`
			Secrets           map[string]string `json:"secrets,omitempty"`
			DirectoryContents []dryRunFile      `json:"directoryContents,omitempty"`
		}
	}) (*rawOutput, error) {
		p, _ := PrincipalFrom(ctx)
		tv, err := nunjucks.ParseJSONBytes(in.Body.Template)
		if err != nil {
			return nil, inputErr(ctx, "Input template is not a template: %v", err)
		}
		to, _ := tv.(*nunjucks.Object)
		tpl, err := scaffolder.TemplateFromObject(to)
		if err != nil {
			return nil, inputErr(ctx, "Input template is not a template: %s", errs.MessageOf(err))
		}
		values, err := parseObject(ctx, "values", in.Body.Values)
		if err != nil {
			return nil, err
		}
		req := scaffolder.DryRunRequest{Template: tpl, Values: values, Secrets: in.Body.Secrets, CreatedBy: p.Subject, MayUse: scopeCheck(p)}
		if p.Kind == auth.KindUser || p.Kind == auth.KindGuest {
			req.User = scaffolder.UserInfo{Ref: p.Subject}
		}
		for i, f := range in.Body.DirectoryContents {
			data, err := base64.StdEncoding.DecodeString(f.Base64Content)
			if err != nil {
				return nil, inputErr(ctx, "Malformed request: directoryContents[%d].base64Content is not base64", i)
			}
			req.DirectoryContents = append(req.DirectoryContents, scaffolder.SerializedFile{Path: f.Path, Content: data, Executable: f.Executable})
		}
		res, err := svc.DryRun(ctx, req)
		if err != nil {
			return scaffolderErr(ctx, err)
		}
		audit.Describe(ctx, "template:"+tpl.Namespace+"/"+tpl.Name+" (dry run)", nil, nil)
		return jsonStatus(http.StatusOK, res)
	})

	auto := s.scaffolderOp("scaffolderAutocomplete", http.MethodPost, "/v2/autocomplete/{provider}/{resource}", "Suggestions for a form field, with the caller's own token", false)
	auto.Description = "provider github: resources repositoriesWithOwner and branches (context: owner, repository, host)."
	documentJSON(s.api, &auto, autocompleteDoc{}, "The suggestions")
	huma.Register(s.api, auto, func(ctx context.Context, in *struct {
		Provider string `path:"provider"`
		Resource string `path:"resource"`
		Body     struct {
			Token   string            `json:"token" required:"true" doc:"The caller's token for the provider"`
			Context map[string]string `json:"context,omitempty"`
		}
	}) (*rawOutput, error) {
		res, err := svc.Autocomplete(ctx, in.Provider, in.Resource, in.Body.Token, in.Body.Context)
		if err != nil {
			return nil, backstageErr(ctx, err)
		}
		return jsonStatus(http.StatusOK, map[string]any{"results": res})
	})
}

// taskEventStream writes a task's events as server-sent events until its completion event, the
// client leaving or the server shutting down; idle streams get a comment every sseKeepAlive.
func (s *Server) taskEventStream(hc huma.Context, id string, after int64) {
	svc := s.opts.Scaffolder
	ctx, cancel := context.WithCancel(hc.Context())
	defer cancel()
	stop := context.AfterFunc(s.streams, cancel)
	defer stop()
	w := startSSE(hc)
	for ctx.Err() == nil {
		wctx, wcancel := context.WithTimeout(ctx, sseKeepAlive)
		evs, err := svc.WaitEvents(wctx, id, after)
		wcancel()
		if err != nil {
			if ctx.Err() == nil {
				s.opts.Log.Error("scaffolder event stream failed", "task", id, "err", err)
			}
			return
		}
		if len(evs) == 0 {
			if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
				return
			}
			continue
		}
		// The stream ends with the final completion, as Backstage's does: a line a stopping runner logs after
		// it is left to /events, so a client never sees a task end and then carry on.
		last := len(evs)
		if scaffolder.Ended(evs) {
			for i := len(evs) - 1; i >= 0; i-- {
				if evs[i].Type == scaffolder.EventCompletion {
					last = i + 1
					break
				}
			}
		}
		for _, e := range evs[:last] {
			data, err := json.Marshal(toEventJSON(e))
			if err != nil {
				return
			}
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
			after = max(after, e.ID)
		}
		if w.Flush() != nil || scaffolder.Ended(evs) {
			return
		}
	}
}

// scopeCheck lets a task use actions that act beyond running a template (deploys) only when the caller's token
// carries their scope; ownership of what they act on is judged when the step runs.
func scopeCheck(p auth.Principal) func(string) error {
	return func(perm string) error { return auth.CheckScope(p, auth.Permission(perm)) }
}
