package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// The create section runs catalog templates through the scaffolder service, as POST /api/scaffolder/v2/tasks
// does: a form drawn from the template's parameter schema, then the task's page, which follows the task until
// it ends.

type createView struct {
	Templates     []templateCard
	TemplateCount int
	Tasks         []taskRow
}

type templateCard struct {
	entityRow
	RunURL string
}

type taskRow struct {
	ID        string
	URL       string
	Template  refLink
	Status    string
	CreatedAt time.Time
}

// createIndex lists the templates (from the catalog index) and the viewer's recent tasks.
func (h *Handler) createIndex(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.Scaffolder == nil {
		return h.notConfigured(w, r, v, "create")
	}
	res, err := h.opts.Catalog.Index().Query(catalog.QueryRequest{Filter: catalog.FilterKeyIn("kind", "template"), Limit: 100, LimitSet: true,
		OrderFields: []catalog.OrderField{{Field: "metadata.title"}}})
	if err != nil {
		return err
	}
	view := createView{TemplateCount: res.TotalItems}
	for _, raw := range res.Items {
		row := toRow(raw)
		view.Templates = append(view.Templates, templateCard{entityRow: row,
			RunURL: "/create/templates/" + url.PathEscape(row.Namespace) + "/" + url.PathEscape(row.Name)})
	}
	tasks, _, err := h.opts.Scaffolder.ListTasks(r.Context(), scaffolder.TaskFilter{CreatedBy: []string{v.Principal.Subject}, Order: "desc:created_at", Limit: 10})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		view.Tasks = append(view.Tasks, toTaskRow(t))
	}
	return h.render(w, r, http.StatusOK, "create", pageData{Title: "Create", Section: "create", Viewer: v, Data: view})
}

func toTaskRow(t scaffolder.Task) taskRow {
	return taskRow{ID: t.ID, URL: "/create/tasks/" + url.PathEscape(t.ID), Template: linkTo(strings.ToLower(t.Spec.TemplateInfo.EntityRef), catalog.DefaultNamespace),
		Status: string(t.Status), CreatedAt: t.CreatedAt}
}

// formField is one input of a template's form, drawn from a JSON Schema property and its ui:* hints.
type formField struct {
	Name        string
	ID          string
	Label       string
	Help        string
	Placeholder string
	// Control is text, password, textarea, email, url, date, number, checkbox, select, checkboxes, lines or json.
	Control   string
	InputType string
	// Type is the property's JSON type, which the submitted text is converted to.
	Type      string
	Required  bool
	ReadOnly  bool
	Autofocus bool
	Value     string
	Checked   bool
	Options   []fieldOption
	Pattern   string
	MinLength string
	MaxLength string
	Min       string
	Max       string
	Step      string
	// Suggestions fill a datalist: the entities a picker offers.
	Suggestions []string
	Errors      []string
}

type fieldOption struct {
	Value    string
	Label    string
	Selected bool
}

type formStep struct {
	Title       string
	Description string
	Fields      []formField
}

type wizardView struct {
	Template    refLink
	Title       string
	Description string
	Owner       refLink
	Action      string
	Steps       []formStep
	// Unsupported names properties the form cannot draw (conditional schemas); they stay unset.
	Unsupported []string
	Errors      []string
	CanRun      bool
	Why         string
}

// pickerKinds are the kinds an entity picker offers when its options do not say.
var pickerKinds = map[string][]string{"OwnerPicker": {"group", "user"}, "EntityPicker": nil, "OwnedEntityPicker": nil}

// suggestionsMax bounds a picker's datalist.
const suggestionsMax = 300

func (h *Handler) loadTemplate(r *http.Request) (*scaffolder.CatalogTemplate, error) {
	if h.opts.Scaffolder == nil {
		return nil, errs.E(errs.Unavailable, "The scaffolder is not configured on this portal.")
	}
	return h.opts.Scaffolder.Template(r.Context(), r.PathValue("namespace"), "template", r.PathValue("name"))
}

func (h *Handler) createWizard(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.Scaffolder == nil {
		return h.notConfigured(w, r, v, "create")
	}
	tpl, err := h.loadTemplate(r)
	if err != nil {
		return err
	}
	view := h.wizardView(r, v, tpl, nil, nil)
	return h.render(w, r, http.StatusOK, "create_template", pageData{Title: view.Title, Section: "create", Viewer: v, Data: view})
}

// wizardView draws the form; submitted values and problems by property, when given, come back into it.
func (h *Handler) wizardView(r *http.Request, v *viewer, tpl *scaffolder.CatalogTemplate, submitted map[string][]string, problems map[string][]string) *wizardView {
	ps := tpl.ParameterSchema()
	view := &wizardView{Template: linkTo(strings.ToLower(tpl.Ref()), catalog.DefaultNamespace), Title: ps.Title, Description: ps.Description,
		Action: "/create/templates/" + url.PathEscape(tpl.Namespace) + "/" + url.PathEscape(tpl.Name)}
	if tpl.Owner != "" {
		view.Owner = linkTo(tpl.Owner, catalog.DefaultNamespace)
	}
	if err := auth.Decide(v.Principal, auth.TemplateRun, auth.Resource{Owner: tpl.Owner, OwnersOnly: tpl.OwnersOnly}); err != nil {
		view.Why = errs.MessageOf(err)
	} else {
		view.CanRun = true
	}
	for _, st := range ps.Steps {
		schema := readSchema(st.Schema)
		fs := formStep{Title: st.Title, Description: st.Description}
		required := map[string]bool{}
		for _, x := range schema.list("required") {
			if s, ok := x.(string); ok {
				required[s] = true
			}
		}
		props := schema.obj("properties")
		if props != nil {
			for _, name := range props.keys {
				p := props.obj(name)
				if p == nil || p.str("ui:widget") == "hidden" {
					continue
				}
				f := h.field(name, p, required[name], v)
				if submitted != nil {
					f.fill(submitted[name])
				}
				f.Errors = problems[name]
				fs.Fields = append(fs.Fields, f)
			}
		}
		for _, key := range []string{"dependencies", "oneOf", "anyOf", "allOf", "if"} {
			if schema.get(key) != nil {
				view.Unsupported = append(view.Unsupported, st.Title)
				break
			}
		}
		view.Steps = append(view.Steps, fs)
	}
	view.Errors = problems[""]
	return view
}

// readSchema reads a parameter page (kept in order by the scaffolder) into an ordered map.
func readSchema(o *nunjucks.Object) *omap {
	raw, err := json.Marshal(o)
	if err != nil {
		return nil
	}
	var node yaml.Node
	if yaml.Unmarshal(raw, &node) != nil {
		return nil
	}
	m, _ := (&yamlReader{}).read(&node, 0).(*omap)
	return m
}

// field draws one property.
func (h *Handler) field(name string, p *omap, required bool, v *viewer) formField {
	f := formField{Name: name, ID: "param-" + anchor(name), Label: p.str("title"), Help: p.str("description"), Required: required,
		Placeholder: p.str("ui:placeholder"), ReadOnly: p.flag("ui:readonly") || p.flag("readOnly"), Autofocus: p.flag("ui:autofocus")}
	if f.Label == "" {
		f.Label = name
	}
	if help := p.str("ui:help"); help != "" {
		f.Help = help
	}
	f.Type = p.str("type")
	if f.Type == "" {
		f.Type = "string"
	}
	def := p.get("default")
	switch f.Type {
	case "boolean":
		f.Control = "checkbox"
		f.Checked, _ = def.(bool)
		if s, ok := def.(string); ok {
			f.Checked = s == "true"
		}
		return f
	case "number", "integer":
		f.Control, f.InputType = "number", "number"
		f.Min, f.Max = scalarText(p.get("minimum")), scalarText(p.get("maximum"))
		f.Step = "any"
		if f.Type == "integer" {
			f.Step = "1"
		}
		f.Value = scalarText(def)
		return f
	case "array":
		items := p.obj("items")
		if enum := items.list("enum"); len(enum) > 0 {
			f.Control = "checkboxes"
			selected := map[string]bool{}
			for _, d := range asList(def) {
				selected[scalarText(d)] = true
			}
			names := items.list("enumNames")
			for i, e := range enum {
				o := fieldOption{Value: scalarText(e), Label: scalarText(e), Selected: selected[scalarText(e)]}
				if i < len(names) {
					o.Label = scalarText(names[i])
				}
				f.Options = append(f.Options, o)
			}
			return f
		}
		f.Control = "lines"
		var lines []string
		for _, d := range asList(def) {
			lines = append(lines, scalarText(d))
		}
		f.Value = strings.Join(lines, "\n")
		if f.Help == "" {
			f.Help = "One per line."
		}
		return f
	case "object":
		f.Control = "json"
		if def != nil {
			if b, err := json.Marshal(plainJSON(def)); err == nil {
				f.Value = string(b)
			}
		}
		return f
	}
	// A string.
	f.Value = scalarText(def)
	if enum := p.list("enum"); len(enum) > 0 {
		f.Control = "select"
		names := p.list("enumNames")
		for i, e := range enum {
			o := fieldOption{Value: scalarText(e), Label: scalarText(e), Selected: scalarText(e) == f.Value}
			if i < len(names) {
				o.Label = scalarText(names[i])
			}
			f.Options = append(f.Options, o)
		}
		return f
	}
	f.Control, f.InputType = "text", "text"
	f.Pattern, f.MinLength, f.MaxLength = p.str("pattern"), scalarText(p.get("minLength")), scalarText(p.get("maxLength"))
	switch p.str("ui:widget") {
	case "password":
		f.Control, f.InputType = "password", "password"
	case "textarea":
		f.Control = "textarea"
	}
	switch p.str("format") {
	case "email":
		f.InputType = "email"
	case "uri", "url":
		f.InputType = "url"
	case "date":
		f.InputType = "date"
	}
	switch field := p.str("ui:field"); field {
	case "EntityPicker", "OwnerPicker", "OwnedEntityPicker":
		f.Suggestions = h.pickerSuggestions(field, p.obj("ui:options"), v)
		if f.Placeholder == "" {
			f.Placeholder = "kind:namespace/name"
		}
	case "RepoUrlPicker":
		if f.Placeholder == "" {
			f.Placeholder = "github.com?owner=billpay&repo=my-service"
		}
		if f.Help == "" {
			f.Help = "The repository as host?owner=<organization>&repo=<name>."
		}
	case "EntityNamePicker":
		if f.Pattern == "" {
			f.Pattern = `[a-z0-9]+([\-_.][a-z0-9]+)*`
		}
	}
	return f
}

// pickerSuggestions lists the entities an entity picker offers, read from the catalog index.
func (h *Handler) pickerSuggestions(field string, opts *omap, v *viewer) []string {
	kinds := pickerKinds[field]
	for _, key := range []string{"allowedKinds", "catalogFilter"} {
		switch x := opts.get(key).(type) {
		case []any:
			kinds = nil
			for _, k := range x {
				if s, ok := k.(string); ok {
					kinds = append(kinds, strings.ToLower(s))
				}
			}
		case *omap:
			kinds = nil
			switch k := x.get("kind").(type) {
			case string:
				kinds = []string{strings.ToLower(k)}
			case []any:
				for _, s := range k {
					if str, ok := s.(string); ok {
						kinds = append(kinds, strings.ToLower(str))
					}
				}
			}
		}
	}
	var filter catalog.Filter
	if len(kinds) > 0 {
		filter = catalog.FilterKeyIn("kind", kinds...)
	}
	if field == "OwnedEntityPicker" {
		filter = catalog.FilterAllOf(filter, catalog.FilterKeyIn("relations.ownedby", v.Principal.Ownership...))
	}
	res, err := h.opts.Catalog.Index().Query(catalog.QueryRequest{Filter: filter, Limit: suggestionsMax, LimitSet: true, SkipTotal: true})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(res.Items))
	for _, raw := range res.Items {
		out = append(out, toRow(raw).Ref)
	}
	return out
}

// fill puts submitted text back into the field.
func (f *formField) fill(values []string) {
	first := ""
	if len(values) > 0 {
		first = values[0]
	}
	switch f.Control {
	case "checkbox":
		f.Checked = first == "true"
	case "checkboxes":
		for i := range f.Options {
			f.Options[i].Selected = slices.Contains(values, f.Options[i].Value)
		}
	case "select":
		f.Value = first
		for i := range f.Options {
			f.Options[i].Selected = f.Options[i].Value == first
		}
	default:
		f.Value = first
	}
}

func scalarText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case *omap:
		b, _ := json.Marshal(plainJSON(t))
		return string(b)
	}
	return fmt.Sprint(v)
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return nil
}

// plainJSON turns an ordered map back into values encoding/json writes.
func plainJSON(v any) any {
	switch t := v.(type) {
	case *omap:
		out := make(map[string]any, len(t.keys))
		for _, k := range t.keys {
			out[k] = plainJSON(t.vals[k])
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = plainJSON(x)
		}
		return out
	}
	return v
}

// formValues converts the submitted form to the template's values by each property's JSON type. Text that
// cannot be converted is a problem for its field; empty optional fields are left out, as Backstage's form does.
func formValues(steps []formStep, form url.Values) (map[string]any, map[string][]string) {
	values := map[string]any{}
	problems := map[string][]string{}
	for _, st := range steps {
		for _, f := range st.Fields {
			raw := form[f.Name]
			text := ""
			if len(raw) > 0 {
				text = strings.TrimSpace(raw[0])
			}
			switch f.Control {
			case "checkbox":
				// The form sends "false" from a hidden field and "true" from the box when it is ticked.
				values[f.Name] = slices.Contains(raw, "true")
			case "checkboxes":
				list := []any{}
				for _, x := range raw {
					list = append(list, x)
				}
				values[f.Name] = list
			case "number":
				if text == "" {
					continue
				}
				n, err := strconv.ParseFloat(text, 64)
				if err != nil || (f.Type == "integer" && n != float64(int64(n))) {
					problems[f.Name] = append(problems[f.Name], fmt.Sprintf("%s must be %s", f.Label, map[bool]string{true: "a whole number", false: "a number"}[f.Type == "integer"]))
					continue
				}
				values[f.Name] = n
			case "lines":
				list := []any{}
				for _, line := range strings.Split(text, "\n") {
					if line = strings.TrimSpace(line); line != "" {
						list = append(list, line)
					}
				}
				if len(list) > 0 || f.Required {
					values[f.Name] = list
				}
			case "json":
				if text == "" {
					continue
				}
				var x any
				if err := json.Unmarshal([]byte(text), &x); err != nil {
					problems[f.Name] = append(problems[f.Name], f.Label+" must be JSON: "+err.Error())
					continue
				}
				values[f.Name] = x
			default:
				if text == "" && !f.Required {
					continue
				}
				values[f.Name] = text
			}
		}
	}
	return values, problems
}

// createRun validates the form through the scaffolder (the template's own schemas) and creates the task.
func (h *Handler) createRun(w http.ResponseWriter, r *http.Request, v *viewer) error {
	tpl, err := h.loadTemplate(r)
	if err != nil {
		return err
	}
	if err := auth.Decide(v.Principal, auth.TemplateRun, auth.Resource{Owner: tpl.Owner, OwnersOnly: tpl.OwnersOnly}); err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.Invalid, "the form could not be read: %v", err)
	}
	drawn := h.wizardView(r, v, tpl, nil, nil)
	values, problems := formValues(drawn.Steps, r.PostForm)
	if len(problems) == 0 {
		raw, _ := json.Marshal(values)
		parsed, perr := nunjucks.ParseJSONBytes(raw)
		obj, _ := parsed.(*nunjucks.Object)
		if perr != nil || obj == nil {
			return errs.E(errs.Invalid, "the form's values could not be read")
		}
		p := v.Principal
		req := scaffolder.CreateTaskRequest{Template: tpl, Values: obj, CreatedBy: p.Subject,
			MayUse: func(perm string) error { return auth.CheckScope(p, auth.Permission(perm)) }}
		if v.Principal.Kind == auth.KindUser || v.Principal.Kind == auth.KindGuest {
			req.UserRef = v.Principal.Subject
		}
		id, err := h.opts.Scaffolder.CreateTask(r.Context(), req)
		if err == nil {
			h.record(r, v.Principal, "createScaffolderTask", "task:"+id, http.StatusCreated, nil,
				map[string]any{"templateRef": tpl.Ref(), "status": scaffolder.StatusOpen})
			h.redirectAfterChange(w, r, "/create/tasks/"+url.PathEscape(id), "Started "+tpl.Title+".")
			return nil
		}
		verrs, ok := err.(scaffolder.ValidationErrors)
		if !ok {
			return err
		}
		for _, ve := range verrs {
			field := ""
			if len(ve.Path) > 0 {
				field, _ = ve.Path[0].(string)
			}
			if field == "" && ve.Name == "required" {
				field, _ = ve.Argument.(string)
			}
			msg := ve.Message
			if field != "" {
				msg = field + " " + ve.Message
			}
			problems[field] = append(problems[field], msg)
		}
	}
	view := h.wizardView(r, v, tpl, r.PostForm, problems)
	for name, list := range problems {
		if name == "" {
			continue
		}
		found := false
		for _, st := range view.Steps {
			for _, f := range st.Fields {
				found = found || f.Name == name
			}
		}
		if !found {
			view.Errors = append(view.Errors, list...)
		}
	}
	return h.render(w, r, http.StatusUnprocessableEntity, "create_template", pageData{Title: "Fix " + view.Title, Section: "create", Viewer: v, Data: view})
}

// taskView is a task's page: its steps, log and outcome.
type taskView struct {
	ID        string
	URL       string
	Template  refLink
	Title     string
	Status    string
	Done      bool
	CreatedBy string
	CreatedAt time.Time
	Steps     []taskStep
	Log       []logLine
	// Truncated counts log lines left out at the start of a long log.
	Truncated int
	Links     []outputLink
	Texts     []outputText
	Error     string
	CanCancel bool
	CanRetry  bool
}

type taskStep struct {
	ID, Name, Action, Status string
}

type logLine struct {
	At      time.Time
	Step    string
	Message string
}

type outputLink struct {
	Title, URL, Entity string
}

type outputText struct {
	Title, Content string
}

// taskLogMax bounds the lines a task page shows.
const taskLogMax = 2000

func (h *Handler) taskView(r *http.Request, v *viewer, id string) (*taskView, error) {
	svc := h.opts.Scaffolder
	t, err := svc.GetTask(r.Context(), id)
	if err != nil {
		return nil, err
	}
	events, err := svc.Events(r.Context(), id, 0)
	if err != nil {
		return nil, err
	}
	tv := &taskView{ID: t.ID, URL: "/create/tasks/" + url.PathEscape(t.ID), Template: linkTo(strings.ToLower(t.Spec.TemplateInfo.EntityRef), catalog.DefaultNamespace),
		Status: string(t.Status), Done: t.Status.Done(), CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt}
	tv.Title = tv.Template.Label
	if raw, ok := h.opts.Catalog.Index().Get(tv.Template.Ref); ok {
		if title := toRow(raw).Title; title != "" {
			tv.Title = title
		}
	}
	stepStatus := map[string]string{}
	for _, ev := range events {
		switch ev.Type {
		case scaffolder.EventLog:
			if ev.Body.StepID != "" && ev.Body.Status != "" {
				stepStatus[ev.Body.StepID] = string(ev.Body.Status)
			}
			tv.Log = append(tv.Log, logLine{At: ev.CreatedAt, Step: ev.Body.StepID, Message: ev.Body.Message})
		case scaffolder.EventCompletion:
			if ev.Body.Error != nil {
				tv.Error = ev.Body.Error.Message
			}
			if out := ev.Body.Output; out != nil {
				tv.Links, tv.Texts = taskOutput(out)
			}
		}
	}
	if n := len(tv.Log); n > taskLogMax {
		tv.Truncated, tv.Log = n-taskLogMax, tv.Log[n-taskLogMax:]
	}
	for _, st := range t.Spec.Steps {
		status := stepStatus[st.ID]
		if status == "" {
			status = "waiting"
		}
		name := st.Name
		if name == "" {
			name = st.ID
		}
		tv.Steps = append(tv.Steps, taskStep{ID: st.ID, Name: name, Action: st.Action, Status: status})
	}
	mayAct := auth.Decide(v.Principal, auth.TaskCancel, auth.Resource{}) == nil
	tv.CanCancel = mayAct && !t.Status.Done()
	tv.CanRetry = mayAct && (t.Status == scaffolder.StatusFailed || t.Status == scaffolder.StatusCancelled)
	return tv, nil
}

// taskOutput reads a completed task's output: links (to URLs or catalog entities) and texts.
func taskOutput(out *nunjucks.Object) ([]outputLink, []outputText) {
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, nil
	}
	var doc struct {
		Links []struct {
			Title     text `json:"title"`
			URL       text `json:"url"`
			EntityRef text `json:"entityRef"`
		} `json:"links"`
		Text []struct {
			Title   text `json:"title"`
			Content text `json:"content"`
		} `json:"text"`
	}
	_ = json.Unmarshal(raw, &doc)
	var links []outputLink
	for _, l := range doc.Links {
		ol := outputLink{Title: string(l.Title), URL: string(l.URL)}
		if l.EntityRef != "" {
			if ref, err := catalog.ParseRef(string(l.EntityRef), catalog.RefDefaults{}); err == nil {
				ol.Entity = entityURL(ref.String())
			}
		}
		if ol.Title == "" {
			ol.Title = ol.URL
			if ol.Title == "" {
				ol.Title = string(l.EntityRef)
			}
		}
		links = append(links, ol)
	}
	var texts []outputText
	for _, t := range doc.Text {
		texts = append(texts, outputText{Title: string(t.Title), Content: string(t.Content)})
	}
	return links, texts
}

// createTask shows a task; with ?fragment=1 (the page's script, while the task runs) only its live part.
func (h *Handler) createTask(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.Scaffolder == nil {
		return h.notConfigured(w, r, v, "create")
	}
	tv, err := h.taskView(r, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.URL.Query().Get("fragment") == "1" {
		return h.renderFragment(w, r, "create_task", "task-live", pageData{Viewer: v, Data: tv})
	}
	return h.render(w, r, http.StatusOK, "create_task", pageData{Title: tv.Title + " · task", Section: "create", Viewer: v, Data: tv})
}

func (h *Handler) createTaskCancel(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.Scaffolder == nil {
		return errs.E(errs.Unavailable, "The scaffolder is not configured on this portal.")
	}
	if err := auth.Decide(v.Principal, auth.TaskCancel, auth.Resource{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.opts.Scaffolder.Cancel(r.Context(), id); err != nil {
		return err
	}
	h.record(r, v.Principal, "cancelScaffolderTask", "task:"+id, http.StatusOK, nil, nil)
	h.redirectAfterChange(w, r, "/create/tasks/"+url.PathEscape(id), "Cancelling the task: it stops at its next step.")
	return nil
}

func (h *Handler) createTaskRetry(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.Scaffolder == nil {
		return errs.E(errs.Unavailable, "The scaffolder is not configured on this portal.")
	}
	if err := auth.Decide(v.Principal, auth.TaskCancel, auth.Resource{}); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.opts.Scaffolder.Retry(r.Context(), id, nil); err != nil {
		return err
	}
	h.record(r, v.Principal, "retryScaffolderTask", "task:"+id, http.StatusOK, nil, nil)
	h.redirectAfterChange(w, r, "/create/tasks/"+url.PathEscape(id), "Running the task again from its first step.")
	return nil
}
