package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
)

// envTab is one flag environment as the tabs show it.
type envTab struct {
	Name      string
	URL       string
	Protected bool
	Flags     int
	Current   bool
}

// flagRow is one flag of an environment's list.
type flagRow struct {
	Key         string
	URL         string
	Enabled     bool
	Variants    []string
	Default     string
	Owner       refLink
	Description string
	UpdatedAt   time.Time
	UpdatedBy   string
	ETag        string
	// CanChange is set when the viewer may change the flag; Why says why not.
	CanChange bool
	Why       string
}

type flagListView struct {
	Env      string
	Envs     []envTab
	Rows     []flagRow
	Total    int
	Q        string
	Mine     bool
	State    string
	Return   string
	NewURL   string
	AuditURL string
}

// flagDef is the part of a flagd definition the pages read.
type flagDef struct {
	State          string          `json:"state"`
	Variants       map[string]any  `json:"variants"`
	DefaultVariant *string         `json:"defaultVariant"`
	Targeting      json.RawMessage `json:"targeting"`
	Metadata       map[string]any  `json:"metadata"`
}

func readFlagDef(raw []byte) flagDef {
	var d flagDef
	_ = json.Unmarshal(raw, &d)
	return d
}

func (d flagDef) variantNames() []string {
	names := make([]string, 0, len(d.Variants))
	for n := range d.Variants {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (h *Handler) flagsService() (*flagservice.Service, error) {
	if h.opts.Flags == nil {
		return nil, errs.E(errs.Unavailable, "Feature flags are not configured on this portal.")
	}
	return h.opts.Flags, nil
}

func (h *Handler) envTabs(current string, path func(env string) string) []envTab {
	var tabs []envTab
	for _, e := range h.opts.Flags.Environments() {
		tabs = append(tabs, envTab{Name: e.Name, URL: path(e.Name), Protected: e.Protected, Flags: e.Flags, Current: e.Name == current})
	}
	return tabs
}

// mayChangeFlag applies the permission policy as the flag service will, so the page can say beforehand.
func (h *Handler) mayChangeFlag(p auth.Principal, env, owner string) error {
	e, err := h.opts.Flags.Environment(env)
	if err != nil {
		return err
	}
	return auth.Decide(p, auth.FlagWrite, auth.Resource{Owner: owner, Protected: e.Protected})
}

func (h *Handler) flagList(w http.ResponseWriter, r *http.Request, v *viewer) error {
	svc, err := h.flagsService()
	if err != nil {
		return h.notConfigured(w, r, v, "flags")
	}
	env := r.PathValue("env")
	if env == "" {
		env = svc.Environments()[0].Name
	}
	list, err := svc.List(env, "")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	view := flagListView{Env: env, Q: strings.TrimSpace(q.Get("q")), Mine: q.Get("owner") == "mine", State: q.Get("state"),
		Return: r.URL.RequestURI(), NewURL: "/flags/" + url.PathEscape(env) + "/_new", AuditURL: "/flags/" + url.PathEscape(env) + "/_audit"}
	view.Envs = h.envTabs(env, func(e string) string { return "/flags/" + url.PathEscape(e) })
	view.Total = len(list)
	for _, f := range list {
		d := readFlagDef(f.Definition)
		if view.Q != "" && !strings.Contains(strings.ToLower(f.Key), strings.ToLower(view.Q)) {
			continue
		}
		if view.Mine && !v.Principal.Owns(f.Owner) {
			continue
		}
		enabled := d.State == string(flags.Enabled)
		if (view.State == "enabled" && !enabled) || (view.State == "disabled" && enabled) {
			continue
		}
		row := flagRow{Key: f.Key, URL: flagURL(env, f.Key), Enabled: enabled, Variants: d.variantNames(),
			UpdatedAt: f.UpdatedAt, UpdatedBy: f.UpdatedBy, ETag: f.ETag}
		if d.DefaultVariant != nil {
			row.Default = *d.DefaultVariant
		}
		if f.Owner != "" {
			row.Owner = linkTo(f.Owner, catalog.DefaultNamespace)
		}
		row.Description, _ = d.Metadata["description"].(string)
		if err := h.mayChangeFlag(v.Principal, env, f.Owner); err != nil {
			row.Why = errs.MessageOf(err)
		} else {
			row.CanChange = true
		}
		view.Rows = append(view.Rows, row)
	}
	return h.render(w, r, http.StatusOK, "flags", pageData{Title: "Feature flags · " + env, Section: "flags", Viewer: v, Data: view})
}

func flagURL(env, key string) string {
	return "/flags/" + url.PathEscape(env) + "/" + url.PathEscape(key)
}

// flagForm is the editor's state: what the flag holds, or what was just submitted.
type flagForm struct {
	Key       string
	State     string
	Variants  []variantField
	Default   string
	Targeting string
	Owner     string
	Desc      string
	Metadata  string
	ETag      string
}

type variantField struct{ Name, Value string }

// fieldErrors are the editor's problems by field ("" for the flag as a whole), as the service reports them.
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, msg string) { fe[field] = append(fe[field], msg) }

// Fields lists the problems in the editor's order, for the summary at the top of the form.
func (fe fieldErrors) Summary() []fieldError {
	var out []fieldError
	for _, f := range []string{"key", "state", "variants", "defaultVariant", "targeting", "owner", "metadata", ""} {
		for _, m := range fe[f] {
			out = append(out, fieldError{Field: f, Message: m})
		}
	}
	return out
}

type fieldError struct{ Field, Message string }

type flagPageView struct {
	Env        string
	Envs       []envTab
	Key        string
	New        bool
	Exists     bool
	URL        string
	Enabled    bool
	Protected  bool
	Owner      refLink
	UpdatedAt  time.Time
	UpdatedBy  string
	Revision   int64
	ETag       string
	CanChange  bool
	Why        string
	Form       flagForm
	Errors     fieldErrors
	Preview    *previewView
	Promote    []promoteTarget
	CanPromote bool
	Audit      []auditRow
	OwnerHints []string
}

// previewView is one evaluation of the flag for a typed context.
type previewView struct {
	Context string
	Action  string
	Ran     bool
	Problem string
	Variant string
	Value   string
	Reason  string
	Error   string
}

type promoteTarget struct {
	Env       string
	Status    string
	Protected bool
	URL       string
}

type auditRow struct {
	ID      int64
	At      time.Time
	Actor   string
	Action  string
	Version int64
	Env     string
	Key     string
	URL     string
	Before  string
	After   string
}

func toAuditRows(entries []flags.AuditEntry) []auditRow {
	out := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		row := auditRow{ID: e.ID, At: e.At, Actor: e.Actor, Action: string(e.Action), Version: e.Version, Env: e.Environment,
			Key: e.FlagKey, Before: prettyJSON(e.Before), After: prettyJSON(e.After)}
		if e.FlagKey != "" {
			row.URL = flagURL(e.Environment, e.FlagKey)
		}
		out = append(out, row)
	}
	return out
}

// defaultPreviewContext is what the preview evaluates for until someone types a context.
const defaultPreviewContext = `{"targetingKey": "user-1"}`

func (h *Handler) flagPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if _, err := h.flagsService(); err != nil {
		return h.notConfigured(w, r, v, "flags")
	}
	view, err := h.flagView(r, v, r.PathValue("env"), r.PathValue("key"))
	if err != nil {
		return err
	}
	if !view.Exists {
		// An unknown key opens the editor to create it.
		view.New = true
		view.Form = h.newFlagForm(v, view.Key)
	}
	return h.render(w, r, http.StatusOK, "flag", pageData{Title: view.Key + " · " + view.Env, Section: "flags", Viewer: v, Data: view})
}

// flagView reads the flag, its audit and its state in the other environments.
func (h *Handler) flagView(r *http.Request, v *viewer, env, key string) (*flagPageView, error) {
	svc := h.opts.Flags
	e, err := svc.Environment(env)
	if err != nil {
		return nil, err
	}
	view := &flagPageView{Env: env, Key: key, URL: flagURL(env, key), Protected: e.Protected, Errors: fieldErrors{}}
	view.Envs = h.envTabs(env, func(other string) string { return flagURL(other, key) })
	f, err := svc.Get(env, key)
	switch {
	case errs.Is(err, errs.NotFound):
	case err != nil:
		return nil, err
	default:
		view.Exists = true
		d := readFlagDef(f.Definition)
		view.Enabled = d.State == string(flags.Enabled)
		view.UpdatedAt, view.UpdatedBy, view.Revision, view.ETag = f.UpdatedAt, f.UpdatedBy, f.Revision, f.ETag
		if f.Owner != "" {
			view.Owner = linkTo(f.Owner, catalog.DefaultNamespace)
		}
		view.Form = formOf(key, f.ETag, d)
	}
	owner := view.Owner.Ref
	if !view.Exists {
		owner = h.newFlagForm(v, key).Owner
	}
	if err := h.mayChangeFlag(v.Principal, env, owner); err != nil {
		view.Why = errs.MessageOf(err)
	} else {
		view.CanChange = true
	}
	for _, o := range v.Principal.Ownership {
		if strings.HasPrefix(o, "group:") {
			view.OwnerHints = append(view.OwnerHints, o)
		}
	}
	if !view.Exists {
		return view, nil
	}
	view.Preview = h.preview(env, key, r.URL.Query())
	for _, other := range svc.Environments() {
		if other.Name == env {
			continue
		}
		t := promoteTarget{Env: other.Name, Protected: other.Protected, URL: flagURL(other.Name, key), Status: "missing"}
		if of, err := svc.Get(other.Name, key); err == nil {
			t.Status = "differs"
			if bytes.Equal(of.Definition, f.Definition) {
				t.Status = "same"
			}
		}
		view.Promote = append(view.Promote, t)
	}
	view.CanPromote = len(view.Promote) > 0
	entries, err := svc.Audit(r.Context(), flags.AuditQuery{Environment: env, FlagKey: key, Limit: 20})
	if err != nil {
		return nil, err
	}
	view.Audit = toAuditRows(entries)
	return view, nil
}

func formOf(key, etag string, d flagDef) flagForm {
	form := flagForm{Key: key, State: d.State, ETag: etag}
	for _, n := range d.variantNames() {
		form.Variants = append(form.Variants, variantField{Name: n, Value: jsonText(d.Variants[n])})
	}
	if d.DefaultVariant != nil {
		form.Default = *d.DefaultVariant
	}
	if len(d.Targeting) > 0 && string(d.Targeting) != "null" && string(d.Targeting) != "{}" {
		form.Targeting = prettyJSON(d.Targeting)
	}
	rest := map[string]any{}
	for k, val := range d.Metadata {
		switch k {
		case "owner":
			form.Owner, _ = val.(string)
		case "description":
			form.Desc, _ = val.(string)
		default:
			rest[k] = val
		}
	}
	if len(rest) > 0 {
		b, _ := json.MarshalIndent(rest, "", "  ")
		form.Metadata = string(b)
	}
	return form
}

// newFlagForm proposes a boolean flag owned by the viewer's first group.
func (h *Handler) newFlagForm(v *viewer, key string) flagForm {
	form := flagForm{Key: key, State: string(flags.Enabled), Default: "off",
		Variants: []variantField{{Name: "on", Value: "true"}, {Name: "off", Value: "false"}}}
	for _, o := range v.Principal.Ownership {
		if strings.HasPrefix(o, "group:") {
			form.Owner = o
			break
		}
	}
	return form
}

// preview evaluates the flag in the environment's compiled set for the context in the query, as OFREP would.
func (h *Handler) preview(env, key string, q url.Values) *previewView {
	pv := &previewView{Context: q.Get("context"), Action: flagURL(env, key)}
	if pv.Context == "" {
		pv.Context = defaultPreviewContext
	} else {
		pv.Ran = true
	}
	var ctx map[string]any
	dec := json.NewDecoder(strings.NewReader(pv.Context))
	dec.UseNumber()
	if err := dec.Decode(&ctx); err != nil || ctx == nil {
		pv.Problem = "The context must be a JSON object, such as " + defaultPreviewContext + "."
		return pv
	}
	normalized, _ := json.Marshal(ctx)
	var plain map[string]any
	_ = json.Unmarshal(normalized, &plain)
	snap, err := h.opts.Flags.Snapshot(env)
	if err != nil {
		pv.Problem = errs.MessageOf(err)
		return pv
	}
	res := snap.Set.Evaluate(key, plain)
	pv.Variant, pv.Reason = res.Variant, string(res.Reason)
	if res.ErrorCode != "" {
		pv.Error = string(res.ErrorCode) + ": " + res.ErrorDetails
	}
	switch {
	case res.Value != nil:
		pv.Value = jsonText(res.Value)
	case res.Reason == flags.ReasonDisabled:
		pv.Value = "(the caller's default: the flag is disabled)"
	case res.ErrorCode == "":
		pv.Value = "(the caller's default: no default variant)"
	default:
		pv.Value = "(the caller's default)"
	}
	return pv
}

// flagPreview answers the preview form; with ?fragment=1 (the page's script) it sends only the result.
func (h *Handler) flagPreview(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if _, err := h.flagsService(); err != nil {
		return err
	}
	env, key := r.PathValue("env"), r.PathValue("key")
	if _, err := h.opts.Flags.Get(env, key); err != nil {
		return err
	}
	pv := h.preview(env, key, r.URL.Query())
	if r.URL.Query().Get("fragment") == "1" {
		return h.renderFragment(w, r, "flag", "preview-result", pv)
	}
	to := flagURL(env, key) + "?context=" + url.QueryEscape(pv.Context) + "#preview"
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (h *Handler) flagNew(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if _, err := h.flagsService(); err != nil {
		return h.notConfigured(w, r, v, "flags")
	}
	env := r.PathValue("env")
	view, err := h.flagView(r, v, env, "")
	if err != nil {
		return err
	}
	view.New = true
	view.Form = h.newFlagForm(v, strings.TrimSpace(r.URL.Query().Get("key")))
	view.URL = "/flags/" + url.PathEscape(env) + "/_new"
	return h.render(w, r, http.StatusOK, "flag", pageData{Title: "New flag · " + env, Section: "flags", Viewer: v, Data: view})
}

// readFlagForm reads the editor's fields and builds the flagd definition; problems with the JSON fields are
// reported against the field before the service sees anything.
func readFlagForm(r *http.Request) (flagForm, json.RawMessage, fieldErrors) {
	fe := fieldErrors{}
	form := flagForm{Key: strings.TrimSpace(r.PostFormValue("key")), State: r.PostFormValue("state"),
		Default: strings.TrimSpace(r.PostFormValue("defaultVariant")), Targeting: r.PostFormValue("targeting"),
		Owner: strings.TrimSpace(r.PostFormValue("owner")), Desc: strings.TrimSpace(r.PostFormValue("description")),
		Metadata: r.PostFormValue("metadata"), ETag: r.PostFormValue("etag")}
	names, values := r.PostForm["variantName"], r.PostForm["variantValue"]
	def := map[string]any{"state": form.State}
	variants := map[string]any{}
	for i, name := range names {
		name = strings.TrimSpace(name)
		val := ""
		if i < len(values) {
			val = strings.TrimSpace(values[i])
		}
		if name == "" && val == "" {
			continue
		}
		form.Variants = append(form.Variants, variantField{Name: name, Value: val})
		if name == "" {
			fe.add("variants", "a variant with the value "+val+" has no name")
			continue
		}
		var parsed any
		if err := json.Unmarshal([]byte(val), &parsed); err != nil {
			fe.add("variants", "variant "+strconv.Quote(name)+": the value must be JSON (true, 42, \"text\" or an object): "+err.Error())
			continue
		}
		if _, dup := variants[name]; dup {
			fe.add("variants", "variant "+strconv.Quote(name)+" is named twice")
		}
		variants[name] = json.RawMessage(val)
	}
	def["variants"] = variants
	if form.Default != "" {
		def["defaultVariant"] = form.Default
	} else {
		def["defaultVariant"] = nil
	}
	if t := strings.TrimSpace(form.Targeting); t != "" {
		var rule any
		if err := json.Unmarshal([]byte(t), &rule); err != nil {
			fe.add("targeting", "targeting must be a JSON Logic object: "+err.Error())
		} else {
			def["targeting"] = json.RawMessage(t)
		}
	}
	metadata := map[string]any{}
	if m := strings.TrimSpace(form.Metadata); m != "" {
		if err := json.Unmarshal([]byte(m), &metadata); err != nil {
			fe.add("metadata", "other metadata must be a JSON object of strings, numbers and booleans: "+err.Error())
		}
	}
	if form.Owner != "" {
		metadata["owner"] = form.Owner
	}
	if form.Desc != "" {
		metadata["description"] = form.Desc
	}
	if len(metadata) > 0 {
		def["metadata"] = metadata
	}
	raw, err := json.Marshal(def)
	if err != nil {
		fe.add("", "the flag cannot be encoded: "+err.Error())
	}
	return form, raw, fe
}

// fieldOf finds the editor field a service problem is about, from the field the message names.
func fieldOf(problem string) string {
	_, rest, found := strings.Cut(problem, "\": ")
	if !found {
		rest = problem
	}
	switch {
	case strings.HasPrefix(rest, "defaultVariant"):
		return "defaultVariant"
	case strings.HasPrefix(rest, "variant"):
		return "variants"
	case strings.HasPrefix(rest, "targeting"):
		return "targeting"
	case strings.HasPrefix(rest, "state"):
		return "state"
	case strings.Contains(rest, "metadata.owner"), strings.Contains(problem, "owns this flag"), strings.Contains(problem, "hand the flag"):
		return "owner"
	case strings.HasPrefix(rest, "metadata"):
		return "metadata"
	case strings.HasPrefix(problem, "flag key"):
		return "key"
	}
	return ""
}

// serviceErrors spreads a failed save over the fields; errors that are not about the input are returned as is.
func serviceErrors(err error, fe fieldErrors) error {
	var ve *flags.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, p := range ve.Problems {
			fe.add(fieldOf(p), p)
		}
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Forbidden), errs.Is(err, errs.PreconditionFailed):
		msg := errs.MessageOf(err)
		fe.add(fieldOf(msg), msg)
	default:
		return err
	}
	return nil
}

func (h *Handler) flagSave(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return h.saveFlag(w, r, v, r.PathValue("env"), r.PathValue("key"), false)
}

func (h *Handler) flagCreate(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return h.saveFlag(w, r, v, r.PathValue("env"), strings.TrimSpace(r.PostFormValue("key")), true)
}

// saveFlag stores the editor's flag through the flag service, which validates the whole environment with it; on
// problems the editor comes back with the submitted values and each problem beside its field.
func (h *Handler) saveFlag(w http.ResponseWriter, r *http.Request, v *viewer, env, key string, create bool) error {
	svc, err := h.flagsService()
	if err != nil {
		return err
	}
	form, def, fe := readFlagForm(r)
	form.Key = key
	if create && key == "" {
		fe.add("key", "give the flag a key")
	}
	var saved flagservice.Flag
	status := http.StatusOK
	if len(fe) == 0 {
		before, _ := svc.Get(env, key)
		pre := flagservice.Precondition{IfMatch: form.ETag}
		if create {
			pre = flagservice.Precondition{IfNoneMatch: "*"}
		}
		var created bool
		saved, created, err = svc.Put(r.Context(), v.Principal, env, key, def, pre)
		if err == nil {
			if created {
				status = http.StatusCreated
			}
			h.record(r, v.Principal, "putFlag", "flag:"+env+"/"+key, status, before.Definition, saved.Definition)
			verb := "Saved"
			if created {
				verb = "Created"
			}
			h.redirectAfterChange(w, r, flagURL(env, key), verb+" "+key+" in "+env+".")
			return nil
		}
		if err := serviceErrors(err, fe); err != nil {
			return err
		}
	}
	view, verr := h.flagView(r, v, env, key)
	if verr != nil {
		return verr
	}
	view.Form, view.Errors, view.New = form, fe, create || !view.Exists
	if create {
		view.URL = "/flags/" + url.PathEscape(env) + "/_new"
	}
	return h.render(w, r, http.StatusUnprocessableEntity, "flag", pageData{Title: "Fix " + key + " · " + env, Section: "flags", Viewer: v, Data: view})
}

func (h *Handler) flagState(w http.ResponseWriter, r *http.Request, v *viewer) error {
	svc, err := h.flagsService()
	if err != nil {
		return err
	}
	env, key := r.PathValue("env"), r.PathValue("key")
	enable := r.PostFormValue("enabled") == "true"
	before, _ := svc.Get(env, key)
	f, err := svc.SetState(r.Context(), v.Principal, env, key, enable, flagservice.Precondition{IfMatch: r.PostFormValue("etag")})
	if err != nil {
		return err
	}
	action, done := "disableFlag", "Disabled"
	if enable {
		action, done = "enableFlag", "Enabled"
	}
	h.record(r, v.Principal, action, "flag:"+env+"/"+key, http.StatusOK, before.Definition, f.Definition)
	back := r.PostFormValue("return")
	if back == "" {
		back = flagURL(env, key)
	}
	h.redirectAfterChange(w, r, back, done+" "+key+" in "+env+".")
	return nil
}

func (h *Handler) flagCopy(w http.ResponseWriter, r *http.Request, v *viewer) error {
	svc, err := h.flagsService()
	if err != nil {
		return err
	}
	env, key, to := r.PathValue("env"), r.PathValue("key"), r.PostFormValue("to")
	before, _ := svc.Get(to, key)
	f, _, err := svc.Copy(r.Context(), v.Principal, env, to, key, flagservice.Precondition{})
	if err != nil {
		return err
	}
	h.record(r, v.Principal, "copyFlag", "flag:"+to+"/"+key, http.StatusOK, before.Definition, f.Definition)
	h.redirectAfterChange(w, r, flagURL(env, key), "Copied "+key+" from "+env+" to "+to+".")
	return nil
}

type envAuditView struct {
	Env     string
	Envs    []envTab
	Rows    []auditRow
	NextURL string
}

const auditPageSize = 50

func (h *Handler) flagEnvAudit(w http.ResponseWriter, r *http.Request, v *viewer) error {
	svc, err := h.flagsService()
	if err != nil {
		return h.notConfigured(w, r, v, "flags")
	}
	env := r.PathValue("env")
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	entries, err := svc.Audit(r.Context(), flags.AuditQuery{Environment: env, BeforeID: max(before, 0), Limit: auditPageSize})
	if err != nil {
		return err
	}
	view := envAuditView{Env: env, Rows: toAuditRows(entries)}
	view.Envs = h.envTabs(env, func(e string) string { return "/flags/" + url.PathEscape(e) + "/_audit" })
	if len(entries) == auditPageSize {
		view.NextURL = "/flags/" + url.PathEscape(env) + "/_audit?before=" + strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	return h.render(w, r, http.StatusOK, "flags_audit", pageData{Title: "Flag changes · " + env, Section: "flags", Viewer: v, Data: view})
}

// entityFlagsView is the entity page's Flags tab: the flags the entity or its owner owns, per environment.
type entityFlagsView struct {
	Owners []refLink
	Envs   []string
	Rows   []entityFlagRow
	Off    bool
}

type entityFlagRow struct {
	Key   string
	Owner refLink
	Cells []entityFlagCell
}

type entityFlagCell struct {
	Env     string
	Present bool
	Enabled bool
	URL     string
}

func (h *Handler) entityFlags(v *viewer, view *entityView) (*entityFlagsView, error) {
	fv := &entityFlagsView{}
	if h.opts.Flags == nil {
		fv.Off = true
		return fv, nil
	}
	owners := []string{view.Ref}
	if view.Owner.Ref != "" && view.Owner.Ref != view.Ref {
		owners = append(owners, view.Owner.Ref)
	}
	for _, o := range owners {
		fv.Owners = append(fv.Owners, linkTo(o, view.Namespace))
	}
	rows := map[string]*entityFlagRow{}
	var keys []string
	envs := h.opts.Flags.Environments()
	for i, e := range envs {
		fv.Envs = append(fv.Envs, e.Name)
		for _, o := range owners {
			list, err := h.opts.Flags.List(e.Name, o)
			if err != nil {
				return nil, err
			}
			for _, f := range list {
				row, ok := rows[f.Key]
				if !ok {
					row = &entityFlagRow{Key: f.Key, Owner: linkTo(f.Owner, view.Namespace), Cells: make([]entityFlagCell, len(envs))}
					for j, e2 := range envs {
						row.Cells[j] = entityFlagCell{Env: e2.Name}
					}
					rows[f.Key] = row
					keys = append(keys, f.Key)
				}
				d := readFlagDef(f.Definition)
				row.Cells[i] = entityFlagCell{Env: e.Name, Present: true, Enabled: d.State == string(flags.Enabled), URL: flagURL(e.Name, f.Key)}
			}
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fv.Rows = append(fv.Rows, *rows[k])
	}
	return fv, nil
}
