package scaffolder

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

// Action is a step's implementation, such as fetch:template or publish:github.
type Action interface {
	// Info describes the action for /v2/actions and for input validation.
	Info() ActionInfo
	// Run performs the action. Its input has been rendered and validated against Info().Input.
	// Errors fail the step and the task; their message is shown to the user after redaction.
	Run(ctx context.Context, ac *ActionContext) error
}

// ActionInfo describes an action: the entries of GET /v2/actions.
type ActionInfo struct {
	ID          string
	Description string
	Examples    []ActionExample
	// Input and Output are JSON Schemas. Input is enforced before Run; Output documents what Run
	// emits and provides the example output of actions skipped in a dry run.
	Input  *Schema
	Output *Schema
	// SupportsDryRun says the action runs in a dry run; others are skipped there.
	SupportsDryRun bool
	// Permission names what the action does on its creator's behalf beyond running a template (such as
	// "deploy.run"); a task that uses it is only created for someone whose credentials allow that too.
	Permission string
}

// ActionExample is an example use of an action, YAML in Example.
type ActionExample struct {
	Description string `json:"description"`
	Example     string `json:"example"`
}

// MarshalJSON writes Backstage's /v2/actions entry: {id, description, examples, schema: {input, output}}.
func (a ActionInfo) MarshalJSON() ([]byte, error) {
	schema := map[string]any{}
	if a.Input != nil {
		schema["input"] = nunjucks.ToGo(nunjucks.FromGo(a.Input.Raw))
	}
	if a.Output != nil {
		schema["output"] = nunjucks.ToGo(nunjucks.FromGo(a.Output.Raw))
	}
	ex := a.Examples
	if ex == nil {
		ex = []ActionExample{}
	}
	return json.Marshal(struct {
		ID          string          `json:"id"`
		Description string          `json:"description,omitempty"`
		Examples    []ActionExample `json:"examples"`
		Schema      map[string]any  `json:"schema"`
	}{a.ID, a.Description, ex, schema})
}

// ActionContext is what an action sees of its task.
type ActionContext struct {
	// Input is the rendered, validated input.
	Input *nunjucks.Object
	// Workspace is the task's working directory; actions cannot reach outside it.
	Workspace *workspace.Dir
	// Files reads the template's own files (its directory and below); nil when the task has no
	// template location.
	Files TemplateFiles
	// Secrets are the task's secrets. Anything logged through Log is redacted.
	Secrets map[string]string
	// Templater renders skeleton files with the task's filters.
	Templater    *Templater
	TemplateInfo TemplateInfo
	User         UserInfo
	// CreatedBy is the principal that created the task (a user, guest or service ref); actions that act
	// on someone's behalf act as them.
	CreatedBy string
	TaskID    string
	StepID    string
	StepName  string
	// DryRun is set when the task is a dry run; actions that support one must not change anything
	// outside the workspace.
	DryRun bool

	log    func(string)
	output func(string, any)
}

// Log writes a line to the step's log, with secrets masked.
func (ac *ActionContext) Log(format string, args ...any) {
	if ac.log != nil {
		ac.log(fmt.Sprintf(format, args...))
	}
}

// Output sets one of the step's outputs. Under `each`, outputs collect into arrays.
func (ac *ActionContext) Output(name string, value any) {
	if ac.output != nil {
		ac.output(name, nunjucks.FromGo(value))
	}
}

// DecodeInput decodes the input into a Go struct through JSON.
func (ac *ActionContext) DecodeInput(dst any) error {
	if err := decodeInto(ac.Input, dst); err != nil {
		return errs.Wrap(errs.Invalid, err, "input of step %s cannot be read: %v", ac.StepID, err)
	}
	return nil
}

// NewActionContext builds a context for running an action outside the runner, as tests do. log and
// output may be nil.
func NewActionContext(input *nunjucks.Object, ws *workspace.Dir, log func(string), output func(string, any)) *ActionContext {
	if input == nil {
		input = nunjucks.NewObject(0)
	}
	return &ActionContext{Input: input, Workspace: ws, log: log, output: output, Templater: NewTemplater(TemplaterOptions{}), StepID: "test", StepName: "test"}
}

// Registry holds the actions a runner may use, keyed by id. Build it explicitly, once, where the
// server is wired; there is no global registry.
type Registry struct {
	actions map[string]Action
}

// NewRegistry returns a registry of the given actions. Two actions with one id are an error.
func NewRegistry(actions ...Action) (*Registry, error) {
	r := &Registry{actions: make(map[string]Action, len(actions))}
	for _, a := range actions {
		id := a.Info().ID
		if id == "" {
			return nil, errs.E(errs.Invalid, "an action has no id")
		}
		if _, dup := r.actions[id]; dup {
			return nil, errs.E(errs.Conflict, "action %q is registered twice", id)
		}
		r.actions[id] = a
	}
	return r, nil
}

// Get returns the action with id.
func (r *Registry) Get(id string) (Action, bool) {
	a, ok := r.actions[id]
	return a, ok
}

// List describes every action, sorted by id, for GET /v2/actions.
func (r *Registry) List() []ActionInfo {
	out := make([]ActionInfo, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, a.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// With returns a registry with more actions.
func (r *Registry) With(extra ...Action) (*Registry, error) {
	all := make([]Action, 0, len(r.actions)+len(extra))
	for _, a := range r.actions {
		all = append(all, a)
	}
	return NewRegistry(append(all, extra...)...)
}

// ExampleOutput builds an output value from an output schema, as Backstage does for actions a dry run
// skips: the first of `examples`, else a value of the schema's type.
func ExampleOutput(schema any) any {
	o, ok := nunjucks.FromGo(schema).(*nunjucks.Object)
	if !ok {
		return "<unknown>"
	}
	if ex, ok := o.Get("examples"); ok {
		if list, ok := ex.([]any); ok && len(list) > 0 {
			return list[0]
		}
	}
	switch getString(o, "type") {
	case "object":
		out := nunjucks.NewObject(4)
		if props := getObject(o, "properties"); props != nil {
			for _, k := range props.Keys() {
				v, _ := props.Get(k)
				out.Set(k, ExampleOutput(v))
			}
		}
		return out
	case "array":
		items, _ := o.Get("items")
		if list, ok := items.([]any); ok {
			if len(list) == 0 {
				return []any{}
			}
			items = list[0]
		}
		if items == nil {
			return []any{}
		}
		return []any{ExampleOutput(items)}
	case "string":
		return "<example>"
	case "number":
		return 0.0
	case "boolean":
		return false
	}
	return "<unknown>"
}
