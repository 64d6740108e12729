// Package scaffolder is Portal's software template engine, compatible with Backstage's
// `scaffolder.backstage.io/v1beta3` templates: the template model and parameter validation
// (template.go), the ${{ }} templating of step inputs (render.go, filters.go), the Action contract and
// registry (action.go), the step runner that turns a TaskSpec into events and output (runner.go), the
// dry run (dryrun.go), the TaskStore port and the Worker that claims, heartbeats and recovers tasks
// (task.go, worker.go), and the Service the API serves: templates read from the catalog, tasks
// created, followed, cancelled and retried (service.go).
//
// The built-in actions live in scaffolder/action, the confined task workspace in
// scaffolder/workspace, and the template engine in scaffolder/nunjucks. scaffolder/taskstoretest is
// the TaskStore contract as a test suite, run by the in-memory store (scaffolder/memstore) and the
// database store (internal/store). Nothing here talks HTTP or a database: internal/httpapi serves
// the Service, internal/github implements the GitHub ports.
package scaffolder

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// TemplateAPIVersion is the only template apiVersion Portal runs, as Backstage's v2 API does.
const TemplateAPIVersion = "scaffolder.backstage.io/v1beta3"

// Template is a parsed Template entity.
type Template struct {
	// Entity is the whole entity, with keys in their written order.
	Entity    *nunjucks.Object
	Name      string
	Namespace string
	Title     string
	// Parameters are the form pages: one JSON Schema per page, ui:* keys included.
	Parameters []*nunjucks.Object
	Steps      []Step
	// Output is spec.output, rendered after the last step; nil when the template has none.
	Output *nunjucks.Object

	schemas []*Schema
}

// Step is one entry of spec.steps.
type Step struct {
	ID     string
	Name   string
	Action string
	// Input is the step's input before rendering; nil when the step has none.
	Input *nunjucks.Object
	// If is nil (run), false, true or a template string.
	If any
	// Each is nil or a template value (string, array or object) to iterate over.
	Each any
	// Raw keeps the step as written, including keys Portal does not interpret
	// ("backstage:permissions").
	Raw *nunjucks.Object
}

// MarshalJSON writes the step as Backstage's TaskStep, keys in order.
func (s Step) MarshalJSON() ([]byte, error) {
	o := nunjucks.NewObject(6)
	o.Set("id", s.ID)
	o.Set("name", s.Name)
	o.Set("action", s.Action)
	if s.Input != nil {
		o.Set("input", s.Input)
	}
	if s.If != nil {
		o.Set("if", s.If)
	}
	if s.Each != nil {
		o.Set("each", s.Each)
	}
	if s.Raw != nil {
		for _, k := range s.Raw.Keys() {
			if _, done := o.Get(k); !done {
				v, _ := s.Raw.Get(k)
				o.Set(k, v)
			}
		}
	}
	return o.MarshalJSON()
}

// Ref is the template's entity reference, "template:<namespace>/<name>".
func (t *Template) Ref() string { return "template:" + t.Namespace + "/" + t.Name }

// ParseTemplate reads a Template entity from YAML (or JSON) text. It returns errs.Invalid, naming the
// field, when the entity is not a v1beta3 template.
func ParseTemplate(data []byte) (*Template, error) {
	v, err := ParseYAMLValue(data)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*nunjucks.Object)
	if !ok {
		return nil, errs.E(errs.Invalid, "template must be a YAML mapping, got %s", describe(v))
	}
	return TemplateFromObject(o)
}

// TemplateFromEntity reads a Template entity from the catalog. Catalog entities are Go maps, so keys
// come back sorted; ParseTemplate keeps the written order.
func TemplateFromEntity(e catalog.Entity) (*Template, error) {
	o, _ := nunjucks.FromGo(map[string]any(e)).(*nunjucks.Object)
	return TemplateFromObject(o)
}

// TemplateFromObject reads a Template entity from an engine object.
func TemplateFromObject(o *nunjucks.Object) (*Template, error) {
	if o == nil {
		return nil, errs.E(errs.Invalid, "template is empty")
	}
	if av := getString(o, "apiVersion"); av != TemplateAPIVersion {
		return nil, errs.E(errs.Invalid, "Unsupported apiVersion field in schema entity, %q; Portal runs %s templates only", av, TemplateAPIVersion)
	}
	if k := getString(o, "kind"); k != "Template" {
		return nil, errs.E(errs.Invalid, "entity kind is %q, not Template", k)
	}
	md := getObject(o, "metadata")
	t := &Template{Entity: o, Name: getString(md, "name"), Namespace: getString(md, "namespace"), Title: getString(md, "title")}
	if t.Name == "" {
		return nil, errs.E(errs.Invalid, "metadata.name is required")
	}
	if t.Namespace == "" {
		t.Namespace = catalog.DefaultNamespace
	}
	spec := getObject(o, "spec")
	if spec == nil {
		return nil, errs.E(errs.Invalid, "spec is required")
	}
	if err := t.readParameters(spec); err != nil {
		return nil, err
	}
	steps, err := parseSteps(spec)
	if err != nil {
		return nil, err
	}
	t.Steps = steps
	if out, ok := spec.Get("output"); ok {
		if t.Output, err = parseOutput(out); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *Template) readParameters(spec *nunjucks.Object) error {
	raw, ok := spec.Get("parameters")
	if !ok || raw == nil {
		return nil
	}
	var pages []any
	switch p := raw.(type) {
	case *nunjucks.Object:
		pages = []any{p}
	case []any:
		pages = p
	default:
		return errs.E(errs.Invalid, "spec.parameters must be an object or a list of objects, got %s", describe(raw))
	}
	for i, p := range pages {
		page, ok := p.(*nunjucks.Object)
		if !ok {
			return errs.E(errs.Invalid, "spec.parameters[%d] must be an object, got %s", i, describe(p))
		}
		s, err := CompileSchema(fmt.Sprintf("spec.parameters[%d]", i), page)
		if err != nil {
			return err
		}
		t.Parameters = append(t.Parameters, page)
		t.schemas = append(t.schemas, s)
	}
	return nil
}

func parseSteps(spec *nunjucks.Object) ([]Step, error) {
	raw, ok := spec.Get("steps")
	if !ok || raw == nil {
		return nil, errs.E(errs.Invalid, "spec.steps is required")
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, errs.E(errs.Invalid, "spec.steps must be a list, got %s", describe(raw))
	}
	steps := make([]Step, 0, len(list))
	seen := map[string]bool{}
	for i, r := range list {
		so, ok := r.(*nunjucks.Object)
		if !ok {
			return nil, errs.E(errs.Invalid, "spec.steps[%d] must be an object, got %s", i, describe(r))
		}
		s := Step{Raw: so, ID: getString(so, "id"), Name: getString(so, "name"), Action: getString(so, "action")}
		if s.Action == "" {
			return nil, errs.E(errs.Invalid, "spec.steps[%d].action is required", i)
		}
		// Backstage names unnamed steps when it creates the task: step-<n> and the action id.
		if s.ID == "" {
			s.ID = "step-" + strconv.Itoa(i+1)
		}
		if s.Name == "" {
			s.Name = s.Action
		}
		if seen[s.ID] {
			return nil, errs.E(errs.Invalid, "spec.steps[%d].id %q is used by an earlier step", i, s.ID)
		}
		seen[s.ID] = true
		if in, ok := so.Get("input"); ok && in != nil {
			if s.Input, ok = in.(*nunjucks.Object); !ok {
				return nil, errs.E(errs.Invalid, "spec.steps[%d].input must be an object, got %s", i, describe(in))
			}
		}
		if v, ok := so.Get("if"); ok && v != nil {
			switch v.(type) {
			case bool, string:
				s.If = v
			default:
				return nil, errs.E(errs.Invalid, "spec.steps[%d].if must be a boolean or a template string, got %s", i, describe(v))
			}
		}
		if v, ok := so.Get("each"); ok && v != nil {
			s.Each = v
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func parseOutput(v any) (*nunjucks.Object, error) {
	o, ok := v.(*nunjucks.Object)
	if !ok {
		return nil, errs.E(errs.Invalid, "spec.output must be an object, got %s", describe(v))
	}
	for _, k := range o.Keys() {
		e, _ := o.Get(k)
		if e == nil {
			return nil, errs.E(errs.Invalid, "spec.output.%s must not be null", k)
		}
		if k == "links" || k == "text" {
			list, ok := e.([]any)
			if !ok {
				return nil, errs.E(errs.Invalid, "spec.output.%s must be a list, got %s", k, describe(e))
			}
			for i, item := range list {
				if _, ok := item.(*nunjucks.Object); !ok {
					return nil, errs.E(errs.Invalid, "spec.output.%s[%d] must be an object, got %s", k, i, describe(item))
				}
			}
		}
	}
	return o, nil
}

// ValidateValues checks the values a user submitted against every parameter page, in order, and
// returns the failures of the first page that fails (as Backstage does), nil when all pass.
// Defaults are not applied: Backstage leaves that to the form.
func (t *Template) ValidateValues(values *nunjucks.Object) ValidationErrors {
	if values == nil {
		values = nunjucks.NewObject(0)
	}
	for _, s := range t.schemas {
		if errs := s.Validate(values); len(errs) > 0 {
			return errs
		}
	}
	return nil
}

// ParameterSchemaStep is one page of the /parameter-schema response.
type ParameterSchemaStep struct {
	Title       string           `json:"title"`
	Description string           `json:"description,omitempty"`
	Schema      *nunjucks.Object `json:"schema"`
}

// ParameterSchema is the body of GET /v2/templates/:namespace/:kind/:name/parameter-schema.
type ParameterSchema struct {
	Title       string                `json:"title"`
	Description string                `json:"description,omitempty"`
	UIOptions   any                   `json:"ui:options,omitempty"`
	Steps       []ParameterSchemaStep `json:"steps"`
}

// ParameterSchema returns the form description a Backstage frontend asks for.
func (t *Template) ParameterSchema() ParameterSchema {
	md := getObject(t.Entity, "metadata")
	ps := ParameterSchema{Title: t.Title, Description: getString(md, "description"), Steps: []ParameterSchemaStep{}}
	if ps.Title == "" {
		ps.Title = t.Name
	}
	if spec := getObject(t.Entity, "spec"); spec != nil {
		if v, ok := spec.Get("ui:options"); ok {
			ps.UIOptions = v
		}
	}
	for _, p := range t.Parameters {
		title := getString(p, "title")
		if title == "" {
			title = "Please enter the following information"
		}
		ps.Steps = append(ps.Steps, ParameterSchemaStep{Title: title, Description: getString(p, "description"), Schema: p})
	}
	return ps
}

// TaskSpec is what a task runs: Backstage's TaskSpecV1beta3. It is stored with the task and is all
// the runner needs.
type TaskSpec struct {
	APIVersion string `json:"apiVersion"`
	// Recovery is spec.EXPERIMENTAL_recovery: what to do with a task whose runner died.
	Recovery     Recovery         `json:"EXPERIMENTAL_recovery"`
	Steps        []Step           `json:"steps"`
	Output       *nunjucks.Object `json:"output"`
	Parameters   *nunjucks.Object `json:"parameters"`
	User         UserInfo         `json:"user"`
	TemplateInfo TemplateInfo     `json:"templateInfo"`
}

// Recovery says what happens to a task found processing with no live runner (Backstage's
// EXPERIMENTAL_recovery). The zero value fails the task.
type Recovery struct {
	// Strategy is "none" (or "") to fail the task, or "startOver" to run it again from its first
	// step in a fresh workspace.
	Strategy string
}

// RecoveryStartOver reruns a task from the start after its runner died.
const RecoveryStartOver = "startOver"

// UserInfo is the user a task runs for. Entity is the user's catalog entity when known.
type UserInfo struct {
	Ref    string `json:"ref,omitempty"`
	Entity any    `json:"entity,omitempty"`
}

// TemplateInfo says which template a task came from and where its files are.
type TemplateInfo struct {
	EntityRef string `json:"entityRef"`
	// BaseURL is the URL of the template's directory (its template.yaml's location), against which
	// relative fetch URLs resolve: "file:///..." or "https://github.com/o/r/blob/ref/dir/".
	BaseURL string `json:"baseUrl,omitempty"`
	// Entity carries the template's metadata, as Backstage's templateInfo.entity does.
	Entity any `json:"entity,omitempty"`
}

// NewTaskSpec builds the spec of a task that runs t with values for user. baseURL is the template's
// location (see TemplateInfo.BaseURL).
func (t *Template) NewTaskSpec(values *nunjucks.Object, user UserInfo, baseURL string) TaskSpec {
	if values == nil {
		values = nunjucks.NewObject(0)
	}
	md := getObject(t.Entity, "metadata")
	var rec Recovery
	if spec := getObject(t.Entity, "spec"); spec != nil {
		rec.Strategy = getString(getObject(spec, "EXPERIMENTAL_recovery"), "EXPERIMENTAL_strategy")
	}
	return TaskSpec{
		APIVersion: TemplateAPIVersion,
		Recovery:   rec,
		Steps:      append([]Step(nil), t.Steps...),
		Output:     t.Output,
		Parameters: values,
		User:       user,
		TemplateInfo: TemplateInfo{
			EntityRef: t.Ref(),
			BaseURL:   baseURL,
			Entity:    nunjucks.ObjectOf("metadata", md),
		},
	}
}

// MarshalJSON writes the spec with object keys in order.
func (s TaskSpec) MarshalJSON() ([]byte, error) {
	o := nunjucks.NewObject(6)
	o.Set("apiVersion", s.APIVersion)
	steps := make([]any, len(s.Steps))
	for i, st := range s.Steps {
		data, err := st.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if steps[i], err = nunjucks.ParseJSONBytes(data); err != nil {
			return nil, err
		}
	}
	o.Set("steps", steps)
	if s.Output != nil {
		o.Set("output", s.Output)
	} else {
		o.Set("output", nunjucks.NewObject(0))
	}
	if s.Parameters != nil {
		o.Set("parameters", s.Parameters)
	} else {
		o.Set("parameters", nunjucks.NewObject(0))
	}
	user := nunjucks.NewObject(2)
	if s.User.Ref != "" {
		user.Set("ref", s.User.Ref)
	}
	if s.User.Entity != nil {
		user.Set("entity", nunjucks.FromGo(s.User.Entity))
	}
	o.Set("user", user)
	ti := nunjucks.ObjectOf("entityRef", s.TemplateInfo.EntityRef)
	if s.TemplateInfo.BaseURL != "" {
		ti.Set("baseUrl", s.TemplateInfo.BaseURL)
	}
	if s.TemplateInfo.Entity != nil {
		ti.Set("entity", nunjucks.FromGo(s.TemplateInfo.Entity))
	}
	o.Set("templateInfo", ti)
	if s.Recovery.Strategy != "" {
		o.Set("EXPERIMENTAL_recovery", nunjucks.ObjectOf("EXPERIMENTAL_strategy", s.Recovery.Strategy))
	}
	return o.MarshalJSON()
}

// UnmarshalJSON reads a stored spec, keeping object key order.
func (s *TaskSpec) UnmarshalJSON(data []byte) error {
	v, err := nunjucks.ParseJSONBytes(data)
	if err != nil {
		return err
	}
	o, ok := v.(*nunjucks.Object)
	if !ok {
		return errs.E(errs.Invalid, "task spec must be an object")
	}
	spec := TaskSpec{APIVersion: getString(o, "apiVersion")}
	spec.Recovery.Strategy = getString(getObject(o, "EXPERIMENTAL_recovery"), "EXPERIMENTAL_strategy")
	if spec.Steps, err = parseSteps(o); err != nil {
		return err
	}
	if out, ok := o.Get("output"); ok && out != nil {
		if spec.Output, err = parseOutput(out); err != nil {
			return err
		}
	}
	spec.Parameters = getObject(o, "parameters")
	if u := getObject(o, "user"); u != nil {
		spec.User.Ref = getString(u, "ref")
		if e, ok := u.Get("entity"); ok {
			spec.User.Entity = e
		}
	}
	if ti := getObject(o, "templateInfo"); ti != nil {
		spec.TemplateInfo.EntityRef = getString(ti, "entityRef")
		spec.TemplateInfo.BaseURL = getString(ti, "baseUrl")
		if e, ok := ti.Get("entity"); ok {
			spec.TemplateInfo.Entity = e
		}
	}
	*s = spec
	return nil
}

var _ json.Marshaler = TaskSpec{}
