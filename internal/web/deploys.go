package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// Deploys is what the deploy pages read and change: the deploy service the /api/deploy routes use and, when
// OpenTofu runs are configured, its infrastructure runs.
type Deploys struct {
	Service *deploy.Service
	// Infra is nil when OpenTofu runs are not configured.
	Infra *deploy.Infra
}

// releasePageSize is how many releases a page lists.
const releasePageSize = 25

// workloadsTimeout bounds how long the entity page waits for the clusters, so an unreachable one costs a notice, not
// a hung page.
const workloadsTimeout = 4 * time.Second

type envCard struct {
	deploy.Environment
	// Current is the newest release in the environment, of any component.
	Current *releaseRow
	URL     string
}

type releaseRow struct {
	ID          int64
	URL         string
	Component   refLink
	Environment string
	Kind        deploy.Kind
	RollbackOf  int64
	Tag         string
	Digest      string
	Status      deploy.Status
	Message     string
	RequestedBy string
	ApprovedBy  string
	CreatedAt   time.Time
	FinishedAt  time.Time
}

func toReleaseRow(r deploy.Release) releaseRow {
	row := releaseRow{ID: r.ID, URL: releaseURL(r.ID), Component: linkTo(r.Component, catalog.DefaultNamespace), Environment: r.Environment,
		Kind: r.Kind, RollbackOf: r.RollbackOf, Tag: r.Image.Tag, Digest: shortDigest(r.Image.Digest), Status: r.Status,
		Message: r.Message, RequestedBy: r.RequestedBy, ApprovedBy: r.ApprovedBy, CreatedAt: r.CreatedAt}
	if r.FinishedAt != nil {
		row.FinishedAt = *r.FinishedAt
	}
	return row
}

func releaseURL(id int64) string { return "/deploys/releases/" + strconv.FormatInt(id, 10) }

func tofuURL(id int64) string { return "/deploys/tofu/" + strconv.FormatInt(id, 10) }

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return d[:len(d)-len(hex)] + hex[:12]
	}
	return d
}

// deployForm is the deploy form's state: what was typed, and the problem with it.
type deployForm struct {
	Component   string
	Environment string
	Tag         string
	Problem     string
	// Fixed hides the component field (the entity page's form deploys that component).
	Fixed bool
}

// deployFormParts is what the deploy-form partial draws.
type deployFormParts struct {
	Form       deployForm
	Envs       []deploy.Environment
	Components []string
	CSRF       string
	// ID keeps element ids unique per form.
	ID string
}

func deployFormData(form deployForm, envs []deploy.Environment, components []string, csrf string) deployFormParts {
	id := "d"
	if form.Fixed {
		id = "e"
	}
	return deployFormParts{Form: form, Envs: envs, Components: components, CSRF: csrf, ID: id}
}

var releaseStatuses = []deploy.Status{deploy.StatusPendingApproval, deploy.StatusQueued, deploy.StatusApplying, deploy.StatusRollingOut,
	deploy.StatusSucceeded, deploy.StatusFailed}

type planView struct {
	Input deploy.DeployInput
	Image deploy.Image
	Diffs []deploy.ObjectDiff
	// Changes counts the objects a deploy would create or update.
	Changes int
}

type tofuRow struct {
	ID          int64
	URL         string
	Unit        string
	Environment string
	Status      deploy.TofuStatus
	Summary     deploy.PlanSummary
	RequestedBy string
	ApprovedBy  string
	Message     string
	CreatedAt   time.Time
}

func toTofuRow(r deploy.TofuRun) tofuRow {
	return tofuRow{ID: r.ID, URL: tofuURL(r.ID), Unit: r.Unit, Environment: r.Environment, Status: r.Status, Summary: r.Summary,
		RequestedBy: r.RequestedBy, ApprovedBy: r.ApprovedBy, Message: r.Message, CreatedAt: r.CreatedAt}
}

type deploysView struct {
	Environments []envCard
	Envs         []deploy.Environment
	Releases     []releaseRow
	Total        int
	// Filter state, kept by every link.
	Component, Environment, Status string
	PrevURL, NextURL               string
	Form                           deployForm
	Components                     []string
	Plan                           *planView
	TofuRuns                       []tofuRow
	TofuConfigured                 bool
}

func (h *Handler) deploysConfigured() bool {
	return h.opts.Deploys != nil && h.opts.Deploys.Service != nil
}

func (h *Handler) deploys(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if !h.deploysConfigured() {
		return h.notConfigured(w, r, v, "deploys")
	}
	if r.PathValue("rest") != "" {
		return errs.E(errs.NotFound, "There is no page at %s", r.URL.Path)
	}
	q := r.URL.Query()
	form := deployForm{Component: q.Get("component"), Environment: q.Get("environment"), Tag: q.Get("tag")}
	view, err := h.deploysView(r, v, q, form)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "deploys", pageData{Title: "Deploys", Section: "deploys", Viewer: v, Data: view})
}

func (h *Handler) deploysView(r *http.Request, v *viewer, q url.Values, form deployForm) (*deploysView, error) {
	svc := h.opts.Deploys.Service
	ctx := r.Context()
	view := &deploysView{Component: q.Get("component"), Environment: q.Get("environment"), Status: q.Get("status"), Form: form,
		TofuConfigured: h.opts.Deploys.Infra != nil}
	if view.Form.Environment == "" && len(svc.Environments()) > 0 {
		view.Form.Environment = svc.Environments()[0].Name
	}
	view.Envs = svc.Environments()
	for _, e := range view.Envs {
		card := envCard{Environment: e, URL: "/deploys?environment=" + url.QueryEscape(e.Name)}
		if rs, _, err := svc.Releases(ctx, deploy.ReleaseFilter{Environment: e.Name, Limit: 1}); err == nil && len(rs) == 1 {
			row := toReleaseRow(rs[0])
			card.Current = &row
		}
		view.Environments = append(view.Environments, card)
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	f := deploy.ReleaseFilter{Component: view.Component, Environment: view.Environment, Limit: releasePageSize, Offset: offset}
	if view.Status != "" {
		f.Status = []deploy.Status{deploy.Status(view.Status)}
	}
	releases, total, err := svc.Releases(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, rel := range releases {
		view.Releases = append(view.Releases, toReleaseRow(rel))
	}
	view.Total = total
	page := func(off int) string {
		v := url.Values{}
		for k, val := range map[string]string{"component": view.Component, "environment": view.Environment, "status": view.Status} {
			if val != "" {
				v.Set(k, val)
			}
		}
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		if len(v) == 0 {
			return "/deploys"
		}
		return "/deploys?" + v.Encode()
	}
	if offset > 0 {
		view.PrevURL = page(max(offset-releasePageSize, 0))
	}
	if offset+len(releases) < total {
		view.NextURL = page(offset + releasePageSize)
	}
	// The form suggests the viewer's own components (those their user or groups own): the ones they may deploy.
	if owned := v.Principal.Ownership; len(owned) > 0 {
		res, err := h.opts.Catalog.Index().Query(catalog.QueryRequest{Filter: catalog.FilterAllOf(catalog.FilterKeyIn("kind", "component"),
			catalog.FilterKeyIn("relations.ownedby", owned...)), Limit: 200, LimitSet: true, SkipTotal: true})
		if err == nil {
			for _, raw := range res.Items {
				view.Components = append(view.Components, toRow(raw).Ref)
			}
		}
	}
	if h.opts.Deploys.Infra != nil {
		runs, err := h.opts.Deploys.Infra.Runs(ctx, "", 10)
		if err != nil {
			return nil, err
		}
		for _, run := range runs {
			view.TofuRuns = append(view.TofuRuns, toTofuRow(run))
		}
	}
	return view, nil
}

// deployInput reads the deploy form, with the component written as people write refs.
func deployInput(r *http.Request) deploy.DeployInput {
	return deploy.DeployInput{Component: strings.TrimSpace(r.PostFormValue("component")),
		Environment: strings.TrimSpace(r.PostFormValue("environment")), Tag: strings.TrimSpace(r.PostFormValue("tag"))}
}

// deployCreate deploys, or with action=dry-run shows what a deploy would change. Problems with the request come back
// beside the form with what was typed; the page's other errors are the error page's.
func (h *Handler) deployCreate(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if !h.deploysConfigured() {
		return errs.E(errs.Unavailable, "Deploys are not configured on this portal.")
	}
	svc := h.opts.Deploys.Service
	in := deployInput(r)
	form := deployForm{Component: in.Component, Environment: in.Environment, Tag: in.Tag}
	formProblem := func(err error) error {
		switch errs.CodeOf(err) {
		case errs.Invalid, errs.NotFound, errs.Forbidden, errs.Conflict, errs.Unavailable, errs.Unauthenticated:
		default:
			return err
		}
		form.Problem = errs.MessageOf(err)
		view, verr := h.deploysView(r, v, url.Values{}, form)
		if verr != nil {
			return verr
		}
		return h.render(w, r, http.StatusUnprocessableEntity, "deploys", pageData{Title: "Deploys", Section: "deploys", Viewer: v, Data: view})
	}
	if r.PostFormValue("action") == "dry-run" {
		plan, err := svc.DryRun(r.Context(), v.Principal, in)
		if err != nil {
			return formProblem(err)
		}
		view, err := h.deploysView(r, v, url.Values{}, form)
		if err != nil {
			return err
		}
		pv := &planView{Input: in, Image: plan.Image, Diffs: plan.Diff}
		for _, d := range plan.Diff {
			if d.Action != "unchanged" {
				pv.Changes++
			}
		}
		view.Plan = pv
		return h.render(w, r, http.StatusOK, "deploys", pageData{Title: "Deploys · dry run", Section: "deploys", Viewer: v, Data: view})
	}
	rel, err := svc.Deploy(r.Context(), v.Principal, in)
	if err != nil {
		return formProblem(err)
	}
	h.record(r, v.Principal, "createRelease", "release:"+strconv.FormatInt(rel.ID, 10), http.StatusAccepted, nil, releaseAudit(rel))
	msg := "Deploying " + rel.Image.Tag + " to " + rel.Environment + "."
	if rel.Status == deploy.StatusPendingApproval {
		msg = "The release waits for a second owner of the component to approve it."
	}
	h.redirectAfterChange(w, r, releaseURL(rel.ID), msg)
	return nil
}

// releaseAudit is what the audit log keeps of a release: not its objects.
func releaseAudit(r deploy.Release) deploy.Release {
	r.Objects = nil
	return r
}

type eventRow struct {
	At      time.Time
	Type    string
	Reason  string
	Message string
}

type objectView struct {
	Key  string
	YAML string
}

type releaseView struct {
	releaseRow
	Image       string
	Namespace   string
	Workload    string
	Attempts    int
	Events      []eventRow
	Objects     []objectView
	Done        bool
	CanApprove  bool
	CanRollback bool
	// History is the component's other releases in the environment, newest first.
	History []releaseRow
}

func (h *Handler) releaseView(r *http.Request, v *viewer, id int64) (*releaseView, error) {
	svc := h.opts.Deploys.Service
	rel, err := svc.Release(r.Context(), id)
	if err != nil {
		return nil, err
	}
	view := &releaseView{releaseRow: toReleaseRow(rel), Image: rel.Image.Ref(), Namespace: rel.Namespace, Workload: rel.Workload,
		Attempts: rel.Attempts, Done: rel.Status.Done()}
	evs, err := svc.Events(r.Context(), id, 0)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		view.Events = append(view.Events, eventRow{At: e.At, Type: e.Type, Reason: e.Reason, Message: e.Message})
	}
	for _, o := range rel.Objects {
		b, err := yaml.Marshal(map[string]any(o))
		if err != nil {
			continue
		}
		view.Objects = append(view.Objects, objectView{Key: o.Kind() + " " + o.Namespace() + "/" + o.Name(), YAML: string(b)})
	}
	comp, cerr := svc.Component(rel.Component)
	if cerr == nil {
		env, _ := svc.Environment(rel.Environment)
		view.CanApprove = rel.Status == deploy.StatusPendingApproval &&
			auth.Decide(v.Principal, auth.DeployApprove, auth.Resource{Owner: comp.Owner, RequestedBy: rel.RequestedBy}) == nil
		view.CanRollback = rel.Status == deploy.StatusSucceeded &&
			auth.Decide(v.Principal, auth.DeployRun, auth.Resource{Owner: comp.Owner, Protected: env.Protected}) == nil
	}
	history, _, err := svc.Releases(r.Context(), deploy.ReleaseFilter{Component: rel.Component, Environment: rel.Environment, Limit: 10})
	if err == nil {
		for _, h := range history {
			if h.ID != rel.ID {
				view.History = append(view.History, toReleaseRow(h))
			}
		}
	}
	return view, nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "There is no page at %s", r.URL.Path)
	}
	return id, nil
}

func (h *Handler) deployRelease(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if !h.deploysConfigured() {
		return h.notConfigured(w, r, v, "deploys")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	view, err := h.releaseView(r, v, id)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("fragment") == "1" {
		return h.renderFragment(w, r, "deploy_release", "release-live", pageData{Viewer: v, Data: view})
	}
	title := "Release " + strconv.FormatInt(id, 10) + " · " + view.Component.Label + " to " + view.Environment
	return h.render(w, r, http.StatusOK, "deploy_release", pageData{Title: title, Section: "deploys", Viewer: v, Data: view})
}

func (h *Handler) deployApprove(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if !h.deploysConfigured() {
		return errs.E(errs.Unavailable, "Deploys are not configured on this portal.")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rel, err := h.opts.Deploys.Service.Approve(r.Context(), v.Principal, id)
	if err != nil {
		return err
	}
	h.record(r, v.Principal, "approveRelease", "release:"+strconv.FormatInt(id, 10), http.StatusOK,
		string(deploy.StatusPendingApproval), string(rel.Status))
	h.redirectAfterChange(w, r, releaseURL(id), "Approved: the release runs now.")
	return nil
}

// deployRollback returns a component to the release the form names (by default the one before its newest).
func (h *Handler) deployRollback(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if !h.deploysConfigured() {
		return errs.E(errs.Unavailable, "Deploys are not configured on this portal.")
	}
	in := deploy.RollbackInput{Component: r.PostFormValue("component"), Environment: r.PostFormValue("environment")}
	if to := r.PostFormValue("to"); to != "" {
		id, err := strconv.ParseInt(to, 10, 64)
		if err != nil {
			return errs.E(errs.Invalid, "to must be a release number, not %q", to)
		}
		in.To = id
	}
	rel, err := h.opts.Deploys.Service.Rollback(r.Context(), v.Principal, in)
	if err != nil {
		return err
	}
	h.record(r, v.Principal, "rollbackRelease", "release:"+strconv.FormatInt(rel.ID, 10), http.StatusAccepted, nil, releaseAudit(rel))
	h.redirectAfterChange(w, r, releaseURL(rel.ID), "Rolling back to release "+strconv.FormatInt(rel.RollbackOf, 10)+".")
	return nil
}

type tofuView struct {
	tofuRow
	Plan       string
	Output     string
	CanApprove bool
	Done       bool
}

func (h *Handler) tofuRun(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if !h.deploysConfigured() || h.opts.Deploys.Infra == nil {
		return h.notConfigured(w, r, v, "deploys")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	infra := h.opts.Deploys.Infra
	run, err := infra.Run(r.Context(), id)
	if err != nil {
		return err
	}
	view := &tofuView{tofuRow: toTofuRow(run), Plan: run.Plan, Output: run.Output,
		Done: run.Status != deploy.TofuPlanning && run.Status != deploy.TofuApplying}
	view.CanApprove = run.Status == deploy.TofuPlanned &&
		auth.Decide(v.Principal, auth.DeployApprove, auth.Resource{Owner: infra.Owner, RequestedBy: run.RequestedBy}) == nil
	return h.render(w, r, http.StatusOK, "deploy_tofu", pageData{Title: "OpenTofu run " + strconv.FormatInt(id, 10) + " · " + run.Unit,
		Section: "deploys", Viewer: v, Data: view})
}

func (h *Handler) tofuApprove(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if !h.deploysConfigured() || h.opts.Deploys.Infra == nil {
		return errs.E(errs.Unavailable, "OpenTofu runs are not configured on this portal.")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	run, err := h.opts.Deploys.Infra.Approve(r.Context(), v.Principal, id)
	if err != nil {
		return err
	}
	h.record(r, v.Principal, "approveTofuRun", "tofu:"+strconv.FormatInt(id, 10), http.StatusOK, string(deploy.TofuPlanned), string(run.Status))
	msg := "Applied the plan."
	if run.Status != deploy.TofuApplied {
		msg = "The apply failed: " + run.Message
	}
	h.redirectAfterChange(w, r, tofuURL(id), msg)
	return nil
}

// deployTabView is the entity page's Deployments tab: releases per environment, the newest rollout, the workloads
// and pods the clusters run for the component, and a deploy form.
type deployTabView struct {
	KubernetesID string
	Namespace    string
	Configured   bool
	// Problem says why the component cannot be deployed (no owner, say).
	Problem  string
	Releases []releaseRow
	Clusters []clusterView
	Form     deployForm
	Envs     []deploy.Environment
	// Components stays empty: the tab's form deploys its own component.
	Components []string
	CanRun     bool
	Ref        string
	CSRF       string
}

type clusterView struct {
	Name      string
	Title     string
	Workloads []workloadView
	Pods      []podView
	Errors    []string
}

type workloadView struct {
	Kind, Name, Namespace string
	Desired, Updated      int64
	Ready, Available      int64
	Image                 string
	// Health is the rollout state as kubectl rollout status judges it, lower-cased for the status style.
	Health string
	Reason string
}

type podView struct {
	Name, Phase, Node string
	Ready             string
	Restarts          int64
	Started           time.Time
}

func (h *Handler) entityDeployments(r *http.Request, v *viewer, ref string, annotations map[string]string) *deployTabView {
	view := &deployTabView{KubernetesID: annotations[deploy.AnnotationKubernetesID], Namespace: annotations[deploy.AnnotationKubernetesNamespace],
		Configured: h.deploysConfigured(), Ref: ref, Form: deployForm{Component: ref, Fixed: true}, CSRF: v.CSRF}
	if !view.Configured {
		return view
	}
	svc := h.opts.Deploys.Service
	view.Envs = svc.Environments()
	if len(view.Envs) > 0 {
		view.Form.Environment = view.Envs[0].Name
	}
	comp, err := svc.Component(ref)
	if err != nil {
		view.Problem = errs.MessageOf(err)
		return view
	}
	view.CanRun = auth.Decide(v.Principal, auth.DeployRun, auth.Resource{Owner: comp.Owner}) == nil
	releases, _, err := svc.Releases(r.Context(), deploy.ReleaseFilter{Component: ref, Limit: 20})
	if err == nil {
		for _, rel := range releases {
			view.Releases = append(view.Releases, toReleaseRow(rel))
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), workloadsTimeout)
	defer cancel()
	for _, item := range svc.Workloads(ctx, comp, deploy.WorkloadsQuery{Types: []string{"pods", "deployments"}}).Items {
		cv := clusterView{Name: item.Cluster.Name, Title: item.Cluster.Title}
		for _, fr := range item.Resources {
			for _, o := range fr.Resources {
				switch fr.Type {
				case "deployments":
					health, reason := deploy.DeploymentHealth(o, o.Int("metadata.generation"))
					wv := workloadView{Kind: "Deployment", Name: o.Name(), Namespace: o.Namespace(), Desired: o.Int("spec.replicas"),
						Updated: o.Int("status.updatedReplicas"), Ready: o.Int("status.readyReplicas"),
						Available: o.Int("status.availableReplicas"), Health: strings.ToLower(string(health)), Reason: reason}
					if cs, ok := o.Path("spec.template.spec.containers").([]any); ok && len(cs) > 0 {
						if c, ok := cs[0].(map[string]any); ok {
							wv.Image, _ = c["image"].(string)
						}
					}
					cv.Workloads = append(cv.Workloads, wv)
				case "pods":
					cv.Pods = append(cv.Pods, toPodView(o))
				}
			}
		}
		for _, fe := range item.Errors {
			cv.Errors = append(cv.Errors, strings.TrimSpace(fe.ErrorType+" "+fe.Message))
		}
		view.Clusters = append(view.Clusters, cv)
	}
	return view
}

func toPodView(o deploy.Object) podView {
	pv := podView{Name: o.Name(), Phase: o.String("status.phase"), Node: o.String("spec.nodeName")}
	if t, err := time.Parse(time.RFC3339, o.String("status.startTime")); err == nil {
		pv.Started = t
	}
	statuses, _ := o.Path("status.containerStatuses").([]any)
	ready := 0
	for _, s := range statuses {
		cs, _ := s.(map[string]any)
		if b, _ := cs["ready"].(bool); b {
			ready++
		}
		switch n := cs["restartCount"].(type) {
		case float64:
			pv.Restarts += int64(n)
		case int64:
			pv.Restarts += n
		case int:
			pv.Restarts += int64(n)
		}
	}
	pv.Ready = strconv.Itoa(ready) + "/" + strconv.Itoa(len(statuses))
	return pv
}

// recentReleases feeds the home page's recent-work card.
func (h *Handler) recentReleases(r *http.Request) []releaseRow {
	if !h.deploysConfigured() {
		return nil
	}
	releases, _, err := h.opts.Deploys.Service.Releases(r.Context(), deploy.ReleaseFilter{Limit: 5})
	if err != nil {
		return nil
	}
	out := make([]releaseRow, 0, len(releases))
	for _, rel := range releases {
		out = append(out, toReleaseRow(rel))
	}
	return out
}
