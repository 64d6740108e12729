package scaffolder

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

// Runner runs task specs: steps in order with `if` and `each`, inputs rendered and validated, events
// to a sink, output rendered at the end. It holds no per-task state and is safe for concurrent use.
type Runner struct {
	Actions   *Registry
	Templater *Templater
	// Sources reads templates' own files for fetch actions.
	Sources TemplateSources
	// WorkDir holds task workspaces; "" means the system temp directory.
	WorkDir string
	// EnvironmentParameters and EnvironmentSecrets are exposed to templates as
	// environment.parameters and environment.secrets (Backstage's scaffolder.defaultEnvironment).
	EnvironmentParameters map[string]any
	EnvironmentSecrets    map[string]string
	// Now is the clock for event times; nil means time.Now.
	Now func() time.Time
}

// RunRequest is one task to run.
type RunRequest struct {
	TaskID string
	// CreatedBy is who created the task, for actions that act on their behalf.
	CreatedBy string
	Spec      TaskSpec
	Secrets   map[string]string
	DryRun    bool
	Sink      EventSink
	// Workspace is the task's working directory. When nil the runner makes one under WorkDir and
	// deletes it afterwards.
	Workspace *workspace.Dir
	// Files overrides how the template's files are read (a dry run reads them from its request).
	Files TemplateFiles
}

// RunResult is how a run ended.
type RunResult struct {
	Status TaskStatus
	// Output is the rendered spec.output of a completed task.
	Output *nunjucks.Object
	// Err says why a task failed or was cancelled.
	Err error
}

// CompletionEvent is the event that closes a task's stream ("Run completed with status: …").
func (r RunResult) CompletionEvent(now time.Time) Event {
	body := EventBody{Message: "Run completed with status: " + string(r.Status)}
	if r.Status == StatusCompleted {
		body.Output = r.Output
		if body.Output == nil {
			body.Output = nunjucks.NewObject(0)
		}
	} else if r.Err != nil {
		body.Error = &EventError{Name: errorName(r.Err), Message: r.Err.Error()}
	}
	return Event{Type: EventCompletion, Body: body, CreatedAt: now}
}

func errorName(err error) string {
	switch errs.CodeOf(err) {
	case errs.Invalid:
		return "InputError"
	case errs.NotFound:
		return "NotFoundError"
	case errs.Forbidden:
		return "NotAllowedError"
	case errs.Conflict:
		return "ConflictError"
	}
	if errors.Is(err, context.Canceled) {
		return "CancelledError"
	}
	return "Error"
}

// run holds one task's state while it runs.
type run struct {
	r        *Runner
	req      RunRequest
	ws       *workspace.Dir
	files    TemplateFiles
	redactor *Redactor
	steps    *nunjucks.Object
	base     *nunjucks.Object // template context without secrets and each
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (ru *run) emit(ctx context.Context, msg, stepID string, status TaskStatus) error {
	e := Event{Type: EventLog, Body: EventBody{Message: ru.redactor.Redact(msg), StepID: stepID, Status: status}, CreatedAt: ru.r.now()}
	if err := ru.req.Sink.Emit(ctx, e); err != nil {
		return errs.Wrap(errs.Unavailable, err, "cannot record the task's log: %v", err)
	}
	return nil
}

// Run runs one task to its end. It never returns an error of its own: how the task ended is in the
// result, and every step's progress went to req.Sink. Cancelling ctx cancels the task.
func (r *Runner) Run(ctx context.Context, req RunRequest) RunResult {
	if req.Sink == nil {
		req.Sink = EventSinkFunc(func(context.Context, Event) error { return nil })
	}
	ru := &run{r: r, req: req, steps: nunjucks.NewObject(len(req.Spec.Steps))}
	var secretValues []string
	for _, v := range req.Secrets {
		secretValues = append(secretValues, v)
	}
	for _, v := range r.EnvironmentSecrets {
		secretValues = append(secretValues, v)
	}
	ru.redactor = NewRedactor(secretValues...)

	fail := func(err error) RunResult {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return RunResult{Status: StatusCancelled, Err: errs.Wrap(errs.Conflict, err, "%s", ru.redactor.Redact(err.Error()))}
		}
		return RunResult{Status: StatusFailed, Err: redactErr(err, ru.redactor)}
	}
	if req.Spec.APIVersion != TemplateAPIVersion {
		return fail(errs.E(errs.Invalid, "Wrong template version executed with the workflow engine"))
	}
	if err := ru.emit(ctx, fmt.Sprintf("Starting up task with %d steps", len(req.Spec.Steps)), "", ""); err != nil {
		return fail(err)
	}
	ru.ws = req.Workspace
	if ru.ws == nil {
		ws, err := workspace.Create(r.WorkDir, "portal-task-")
		if err != nil {
			return fail(err)
		}
		defer ws.RemoveAll()
		ru.ws = ws
	}
	ru.files = req.Files
	if ru.files == nil && req.Spec.TemplateInfo.BaseURL != "" {
		ru.files = lazyFiles{open: func() (TemplateFiles, error) { return r.Sources.Open(req.Spec.TemplateInfo.BaseURL) }}
	}
	ru.base = ru.templateContext()

	for _, step := range req.Spec.Steps {
		if err := ru.runStep(ctx, step); err != nil {
			var msg string
			if ctx.Err() != nil {
				msg = fmt.Sprintf("Step %s has been cancelled.", step.ID)
				_ = ru.emit(context.WithoutCancel(ctx), msg, step.ID, StatusCancelled)
			} else {
				_ = ru.emit(context.WithoutCancel(ctx), err.Error(), step.ID, StatusFailed)
			}
			return fail(err)
		}
	}
	var output *nunjucks.Object
	if req.Spec.Output != nil {
		// secrets are not part of the context when the output is rendered.
		out, failures, err := r.Templater.Render(ctx, req.Spec.Output, ru.base)
		if err != nil {
			return fail(err)
		}
		ru.reportFailures(ctx, "", failures)
		output, _ = out.(*nunjucks.Object)
	}
	if output == nil {
		output = nunjucks.NewObject(0)
	}
	return RunResult{Status: StatusCompleted, Output: output}
}

func redactErr(err error, r *Redactor) error {
	msg := r.Redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return errs.Wrap(errs.CodeOf(err), err, "%s", msg)
}

// templateContext is the context every template string sees, without secrets.
func (ru *run) templateContext() *nunjucks.Object {
	spec := ru.req.Spec
	params := spec.Parameters
	if params == nil {
		params = nunjucks.NewObject(0)
	}
	user := nunjucks.NewObject(2)
	if spec.User.Entity != nil {
		user.Set("entity", nunjucks.FromGo(spec.User.Entity))
	}
	if spec.User.Ref != "" {
		user.Set("ref", spec.User.Ref)
	}
	env := nunjucks.ObjectOf("parameters", nunjucks.FromGo(ru.r.EnvironmentParameters), "secrets", nunjucks.NewObject(0))
	if ru.r.EnvironmentParameters == nil {
		env.Set("parameters", nunjucks.NewObject(0))
	}
	return nunjucks.ObjectOf(
		"parameters", params,
		"environment", env,
		"steps", ru.steps,
		"user", user,
		"context", nunjucks.ObjectOf("task", nunjucks.ObjectOf("id", ru.req.TaskID)),
	)
}

// withSecrets returns the context for rendering step inputs: secrets are visible there only, and not
// at all in a dry run (where they render as nothing; the dry-run log shows them as ***).
func (ru *run) withSecrets(secrets map[string]string, envSecrets map[string]string) *nunjucks.Object {
	c := ru.base.Clone()
	s := nunjucks.NewObject(len(secrets))
	for k, v := range secrets {
		s.Set(k, v)
	}
	c.Set("secrets", sortedObject(s))
	env := getObject(c, "environment").Clone()
	es := nunjucks.NewObject(len(envSecrets))
	for k, v := range envSecrets {
		es.Set(k, v)
	}
	env.Set("secrets", sortedObject(es))
	c.Set("environment", env)
	return c
}

func sortedObject(o *nunjucks.Object) *nunjucks.Object {
	m := map[string]any{}
	for _, k := range o.Keys() {
		m[k], _ = o.Get(k)
	}
	return nunjucks.FromGo(m).(*nunjucks.Object)
}

func (ru *run) reportFailures(ctx context.Context, stepID string, failures []RenderFailure) {
	for _, f := range failures {
		_ = ru.emit(ctx, fmt.Sprintf("Could not render %q, so it is kept as written: %v", f.Value, f.Err), stepID, "")
	}
}

func (ru *run) render(ctx context.Context, stepID string, v any, vars *nunjucks.Object) (any, error) {
	out, failures, err := ru.r.Templater.Render(ctx, v, vars)
	if err != nil {
		return nil, err
	}
	ru.reportFailures(ctx, stepID, failures)
	return out, nil
}

type iteration struct {
	each      *nunjucks.Object // nil without each
	key       string
	shouldRun bool
	input     *nunjucks.Object
}

func (ru *run) cancelled(ctx context.Context, step Step) error {
	if err := ctx.Err(); err != nil {
		return errs.Wrap(errs.Conflict, err, "Step %s (%s) of task %s has been cancelled.", step.ID, step.Name, ru.req.TaskID)
	}
	return nil
}

func (ru *run) runStep(ctx context.Context, step Step) error {
	if err := ru.cancelled(ctx, step); err != nil {
		return err
	}
	if err := ru.emit(ctx, "Beginning step "+step.Name, step.ID, StatusProcessing); err != nil {
		return err
	}
	skip := step.If == false
	if s, ok := step.If.(string); ok && step.Each == nil {
		run, failures, err := ru.r.Templater.RenderCondition(ctx, s, ru.base)
		if err != nil {
			return err
		}
		ru.reportFailures(ctx, step.ID, failures)
		skip = !run
	}
	if skip {
		return ru.emit(ctx, fmt.Sprintf("Skipping step %s because its if condition was false", step.ID), step.ID, StatusSkipped)
	}
	action, ok := ru.r.Actions.Get(step.Action)
	if !ok {
		return errs.E(errs.NotFound, "Template action with ID '%s' is not registered.", step.Action)
	}
	info := action.Info()
	secrets, envSecrets := ru.req.Secrets, ru.r.EnvironmentSecrets
	if ru.req.DryRun {
		debugVars := ru.withSecrets(RedactSecrets(secrets), RedactSecrets(envSecrets))
		var debugInput any = nunjucks.NewObject(0)
		if step.Input != nil {
			var err error
			if debugInput, err = ru.render(ctx, step.ID, step.Input, debugVars); err != nil {
				return err
			}
		}
		dump, _ := nunjucks.Dump(debugInput, "  ")
		if err := ru.emit(ctx, fmt.Sprintf("Running %s in dry-run mode with inputs (secrets redacted): %s", info.ID, dump), step.ID, ""); err != nil {
			return err
		}
		if !info.SupportsDryRun {
			if err := ru.emit(ctx, fmt.Sprintf("Skipping because %s does not support dry-run", info.ID), step.ID, StatusSkipped); err != nil {
				return err
			}
			out := nunjucks.NewObject(0)
			if info.Output != nil {
				if o, ok := ExampleOutput(info.Output.Raw).(*nunjucks.Object); ok {
					out = o
				}
			}
			ru.steps.Set(step.ID, nunjucks.ObjectOf("output", out))
			return nil
		}
		secrets, envSecrets = nil, nil
	}
	vars := ru.withSecrets(secrets, envSecrets)

	iterations, err := ru.iterations(ctx, step, info, vars)
	if err != nil {
		return err
	}
	for _, it := range iterations {
		if !it.shouldRun || info.Input == nil {
			continue
		}
		if verrs := info.Input.Validate(it.input); len(verrs) > 0 {
			id := info.ID
			if it.each != nil {
				id += "[" + it.key + "]"
			}
			return errs.E(errs.Invalid, "Invalid input passed to action %s, %s", id, verrs.Error())
		}
	}

	output := nunjucks.NewObject(4)
	for _, it := range iterations {
		if it.each != nil {
			verb := "Running"
			if !it.shouldRun {
				verb = "Skipping"
			}
			if err := ru.emit(ctx, fmt.Sprintf("%s step each: %s", verb, eachJSON(it.each)), step.ID, ""); err != nil {
				return err
			}
			if !it.shouldRun {
				continue
			}
		}
		if step.Input != nil && len(secrets)+len(envSecrets) > 0 {
			// Values built from secrets ("Bearer ${{ secrets.token }}") are masked too.
			plainVars := ru.withSecrets(nil, nil)
			if it.each != nil {
				plainVars.Set("each", it.each)
			}
			if plain, _, err := ru.r.Templater.Render(ctx, step.Input, plainVars); err == nil {
				ru.redactor.Add(secretInfluenced(it.input, plain)...)
			}
		}
		ac := &ActionContext{
			Input: it.input, Workspace: ru.ws, Files: ru.files, Secrets: secrets, Templater: ru.r.Templater,
			TemplateInfo: ru.req.Spec.TemplateInfo, User: ru.req.Spec.User, CreatedBy: ru.req.CreatedBy, TaskID: ru.req.TaskID,
			StepID: step.ID, StepName: step.Name, DryRun: ru.req.DryRun,
		}
		ac.log = func(msg string) { _ = ru.emit(ctx, msg, step.ID, "") }
		ac.output = func(name string, v any) {
			if step.Each != nil {
				cur, _ := output.Get(name)
				list, _ := cur.([]any)
				output.Set(name, append(list, v))
				return
			}
			output.Set(name, v)
		}
		if err := action.Run(ctx, ac); err != nil {
			return err
		}
	}
	ru.steps.Set(step.ID, nunjucks.ObjectOf("output", output))
	if err := ru.cancelled(ctx, step); err != nil {
		return err
	}
	return ru.emit(ctx, "Finished step "+step.Name, step.ID, StatusCompleted)
}

func (ru *run) iterations(ctx context.Context, step Step, info ActionInfo, vars *nunjucks.Object) ([]iteration, error) {
	renderInput := func(v *nunjucks.Object) (*nunjucks.Object, error) {
		if step.Input == nil {
			return nunjucks.NewObject(0), nil
		}
		in, err := ru.render(ctx, step.ID, step.Input, v)
		if err != nil {
			return nil, err
		}
		o, _ := in.(*nunjucks.Object)
		if o == nil {
			o = nunjucks.NewObject(0)
		}
		return o, nil
	}
	if step.Each == nil {
		in, err := renderInput(vars)
		if err != nil {
			return nil, err
		}
		return []iteration{{shouldRun: true, input: in}}, nil
	}
	resolved, err := ru.render(ctx, step.ID, step.Each, vars)
	if err != nil {
		return nil, err
	}
	if !truthyJS(resolved) {
		return nil, errs.E(errs.Invalid, "Invalid value on action %s.each parameter, %q cannot be resolved to a value", info.ID, describeEach(step.Each))
	}
	var its []iteration
	for _, kv := range entries(resolved) {
		each := nunjucks.ObjectOf("key", kv.key, "value", kv.value)
		full := vars.Clone()
		full.Set("each", each)
		it := iteration{each: each, key: kv.key, shouldRun: true}
		if step.If != nil {
			ok, failures, err := ru.r.Templater.RenderCondition(ctx, step.If, full)
			if err != nil {
				return nil, err
			}
			ru.reportFailures(ctx, step.ID, failures)
			it.shouldRun = ok
		}
		if it.input, err = renderInput(full); err != nil {
			return nil, err
		}
		its = append(its, it)
	}
	return its, nil
}

func truthyJS(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	}
	return !nunjucks.IsUndefined(v)
}

func describeEach(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return describe(v)
}

type entry struct {
	key   string
	value any
}

// entries is JavaScript's Object.entries: arrays and strings give their indexes as string keys.
func entries(v any) []entry {
	switch x := v.(type) {
	case []any:
		out := make([]entry, len(x))
		for i, e := range x {
			out[i] = entry{strconv.Itoa(i), e}
		}
		return out
	case *nunjucks.Object:
		out := make([]entry, 0, x.Len())
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			out = append(out, entry{k, e})
		}
		return out
	case string:
		var out []entry
		i := 0
		for _, r := range x {
			out = append(out, entry{strconv.Itoa(i), string(r)})
			i++
		}
		return out
	}
	return nil
}

// eachJSON prints an iteration as Backstage's log does: JSON with every nested value as a string.
func eachJSON(each *nunjucks.Object) string {
	var b strings.Builder
	b.WriteString("{")
	for i, k := range each.Keys() {
		if i > 0 {
			b.WriteString(",")
		}
		v, _ := each.Get(k)
		s, _ := v.(string)
		if _, isStr := v.(string); !isStr {
			s = jsString(v)
		}
		b.WriteString(strconv.Quote(k) + ":" + quoteJS(s))
	}
	b.WriteString("}")
	return b.String()
}

// jsString is String(v) in JavaScript for the values an iteration holds.
func jsString(v any) string {
	switch x := v.(type) {
	case *nunjucks.Object:
		return "[object Object]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e != nil && !nunjucks.IsUndefined(e) {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	case nil:
		return "null"
	case string:
		return x
	}
	s, _ := nunjucks.Dump(v, "")
	return s
}

func quoteJS(s string) string {
	d, _ := nunjucks.Dump(s, "")
	return d
}

// lazyFiles opens the template's files on first use, so a task that fetches nothing does not need a
// readable template location.
type lazyFiles struct {
	open func() (TemplateFiles, error)
}

func (l lazyFiles) ReadTree(ctx context.Context, p string, dst *workspace.Dir) error {
	f, err := l.open()
	if err != nil {
		return err
	}
	return f.ReadTree(ctx, p, dst)
}

func (l lazyFiles) ReadFile(ctx context.Context, p string) ([]byte, error) {
	f, err := l.open()
	if err != nil {
		return nil, err
	}
	return f.ReadFile(ctx, p)
}
