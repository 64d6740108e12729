package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

// entityDoc is an entity as its page reads it.
type entityDoc struct {
	APIVersion text `json:"apiVersion"`
	Kind       text `json:"kind"`
	Metadata   struct {
		Name        text      `json:"name"`
		Namespace   text      `json:"namespace"`
		Title       text      `json:"title"`
		Description text      `json:"description"`
		UID         text      `json:"uid"`
		Tags        texts     `json:"tags"`
		Labels      textMap   `json:"labels"`
		Annotations textMap   `json:"annotations"`
		Links       []linkDoc `json:"links"`
	} `json:"metadata"`
	Spec      map[string]any `json:"spec"`
	Relations []relationDoc  `json:"relations"`
	Status    struct {
		Items []struct {
			Type    text `json:"type"`
			Level   text `json:"level"`
			Message text `json:"message"`
		} `json:"items"`
	} `json:"status"`
}

func (d *entityDoc) specString(key string) string {
	s, _ := d.Spec[key].(string)
	return s
}

// tab is one tab of the entity page.
type tab struct {
	ID    string
	Label string
	URL   string
	// Current marks the tab shown.
	Current bool
}

// entityView is the data of every entity page tab.
type entityView struct {
	Ref         string
	URL         string
	Kind        string
	Namespace   string
	Name        string
	Title       string
	Description string
	Type        string
	Lifecycle   string
	Owner       refLink
	System      refLink
	Domain      refLink
	Tags        []tagLink
	Links       []extLink
	Labels      []keyValue
	Annotations []keyValue
	Profile     *profileView
	Errors      []statusView
	Tabs        []tab
	Tab         string
	// CanRefresh is set when the viewer may ask for the entity to be processed again.
	CanRefresh bool

	Relations []relationGroup
	Graph     *graph

	APIs     *apisView
	API      *apiDoc
	Flags    *entityFlagsView
	Inspect  *inspectView
	Docs     *docsTabView
	Deploy   *deployTabView
	Location string
}

type statusView struct{ Level, Message string }

type tagLink struct{ Tag, URL string }

type extLink struct{ URL, Title, Icon string }

type keyValue struct{ Key, Value string }

type profileView struct{ DisplayName, Email string }

// relationGroup is one relation type and its targets.
type relationGroup struct {
	Type    string
	Label   string
	Targets []refLink
	// More counts targets left out of a long list; All links to them in the catalog table.
	More int
	All  string
}

// relationListMax bounds a relation list on the page; a group owning thousands of entities links to the catalog.
const relationListMax = 100

// relationLabels name relation types in words.
var relationLabels = map[string]string{
	catalog.RelationOwnedBy: "Owned by", catalog.RelationOwnerOf: "Owns", catalog.RelationPartOf: "Part of",
	catalog.RelationHasPart: "Has part", catalog.RelationProvidesAPI: "Provides API", catalog.RelationAPIProvidedBy: "API provided by",
	catalog.RelationConsumesAPI: "Consumes API", catalog.RelationAPIConsumedBy: "API consumed by",
	catalog.RelationDependsOn: "Depends on", catalog.RelationDependencyOf: "Dependency of",
	catalog.RelationMemberOf: "Member of", catalog.RelationHasMember: "Has member", catalog.RelationChildOf: "Child of",
	catalog.RelationParentOf: "Parent of",
}

// catalogFilterParam is the catalog table filter that lists a relation's targets from the other side, when there
// is one.
var catalogFilterParam = map[string]string{catalog.RelationOwnerOf: "owner"}

func (h *Handler) loadEntity(r *http.Request) (*entityDoc, string, error) {
	ref := catalog.Ref{Kind: r.PathValue("kind"), Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	raw, ok := h.opts.Catalog.Index().Get(ref.String())
	if !ok {
		return nil, "", errs.E(errs.NotFound, "No entity named '%s' found, with kind '%s' in namespace '%s'", ref.Name, ref.Kind, ref.Namespace)
	}
	var d entityDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "", errs.Wrap(errs.Internal, err, "entity %s is stored malformed", ref)
	}
	return &d, ref.String(), nil
}

// tabsFor lists the tabs an entity of a kind has.
func tabsFor(kind string) []tab {
	k := strings.ToLower(kind)
	tabs := []tab{{ID: "", Label: "Overview"}}
	switch k {
	case "component", "system":
		tabs = append(tabs, tab{ID: "api", Label: "APIs"})
	case "api":
		tabs = append(tabs, tab{ID: "api", Label: "Definition"})
	}
	switch k {
	case "component", "group", "system":
		tabs = append(tabs, tab{ID: "flags", Label: "Flags"})
	}
	if k != "location" && k != "user" && k != "group" {
		tabs = append(tabs, tab{ID: "docs", Label: "Docs"})
	}
	if k == "component" {
		tabs = append(tabs, tab{ID: "deployments", Label: "Deployments"})
	}
	return append(tabs, tab{ID: "inspect", Label: "Inspect"})
}

func (h *Handler) entityPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d, ref, err := h.loadEntity(r)
	if err != nil {
		return err
	}
	view := h.entityView(d, ref, v)
	view.Tab = r.PathValue("tab")
	found := false
	for i := range view.Tabs {
		view.Tabs[i].URL = view.URL
		if view.Tabs[i].ID != "" {
			view.Tabs[i].URL += "/" + view.Tabs[i].ID
		}
		if view.Tabs[i].ID == view.Tab {
			view.Tabs[i].Current, found = true, true
		}
	}
	if !found {
		return errs.E(errs.NotFound, "%s has no %q tab", ref, view.Tab)
	}
	title := view.Title
	if title == "" {
		title = view.Name
	}
	switch view.Tab {
	case "":
		view.Relations = h.relationGroups(d, view.Namespace)
		view.Graph = buildGraph(view.Ref, view.Kind, view.Name, d.Relations)
	case "api":
		if strings.EqualFold(view.Kind, "api") {
			view.API = parseAPIDefinition(view.Type, d.Spec["definition"])
		} else {
			view.APIs = h.apisOf(d, view.Namespace)
		}
		title += " · APIs"
	case "flags":
		fv, err := h.entityFlags(v, view)
		if err != nil {
			return err
		}
		view.Flags = fv
		title += " · Flags"
	case "inspect":
		iv, err := h.inspect(r, view)
		if err != nil {
			return err
		}
		view.Inspect = iv
		title += " · Inspect"
	case "docs":
		view.Docs = &docsTabView{TechDocsRef: d.Metadata.Annotations[catalog.AnnotationTechDocsRef]}
		if h.opts.TechDocs != nil && view.Docs.TechDocsRef != "" {
			h.docsTabStatus(r, ref, view.Docs)
		}
		title += " · Docs"
	case "deployments":
		view.Deploy = h.entityDeployments(r, v, ref, d.Metadata.Annotations)
		title += " · Deployments"
	}
	return h.render(w, r, http.StatusOK, "entity", pageData{Title: title, Section: "catalog", Viewer: v, Data: view})
}

// entityView reads the overview fields every tab shows in its header.
func (h *Handler) entityView(d *entityDoc, ref string, v *viewer) *entityView {
	ns := string(d.Metadata.Namespace)
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	view := &entityView{Ref: ref, URL: entityURL(ref), Kind: string(d.Kind), Namespace: ns, Name: string(d.Metadata.Name),
		Title: string(d.Metadata.Title), Description: string(d.Metadata.Description), Type: d.specString("type"),
		Lifecycle: d.specString("lifecycle"), Tabs: tabsFor(string(d.Kind))}
	view.CanRefresh = auth.Decide(v.Principal, auth.CatalogRefresh, auth.Resource{}) == nil
	for _, rel := range d.Relations {
		switch string(rel.Type) {
		case catalog.RelationOwnedBy:
			if view.Owner.Ref == "" {
				view.Owner = linkTo(string(rel.TargetRef), ns)
			}
		case catalog.RelationPartOf:
			target := linkTo(string(rel.TargetRef), ns)
			switch target.Kind {
			case "system":
				if view.System.Ref == "" {
					view.System = target
				}
			case "domain":
				if view.Domain.Ref == "" {
					view.Domain = target
				}
			}
		}
	}
	if view.Owner.Ref == "" && d.specString("owner") != "" {
		view.Owner = refLink{Label: d.specString("owner")}
	}
	for _, t := range d.Metadata.Tags {
		view.Tags = append(view.Tags, tagLink{Tag: t, URL: "/catalog?tag=" + url.QueryEscape(t)})
	}
	for _, l := range d.Metadata.Links {
		title := string(l.Title)
		if title == "" {
			title = string(l.URL)
		}
		view.Links = append(view.Links, extLink{URL: string(l.URL), Title: title, Icon: string(l.Icon)})
	}
	for _, k := range d.Metadata.Labels.sortedKeys() {
		view.Labels = append(view.Labels, keyValue{k, d.Metadata.Labels[k]})
	}
	for _, k := range d.Metadata.Annotations.sortedKeys() {
		view.Annotations = append(view.Annotations, keyValue{k, d.Metadata.Annotations[k]})
	}
	view.Location = d.Metadata.Annotations[catalog.AnnotationManagedByOriginLocation]
	if p, ok := d.Spec["profile"].(map[string]any); ok {
		pv := &profileView{}
		pv.DisplayName, _ = p["displayName"].(string)
		pv.Email, _ = p["email"].(string)
		if pv.DisplayName != "" || pv.Email != "" {
			view.Profile = pv
		}
	}
	for _, it := range d.Status.Items {
		view.Errors = append(view.Errors, statusView{Level: string(it.Level), Message: string(it.Message)})
	}
	return view
}

// relationGroups lists relations by type, in a stable order.
func (h *Handler) relationGroups(d *entityDoc, ns string) []relationGroup {
	byType := map[string][]string{}
	for _, r := range d.Relations {
		t := string(r.Type)
		if !slices.Contains(byType[t], string(r.TargetRef)) {
			byType[t] = append(byType[t], string(r.TargetRef))
		}
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)
	out := make([]relationGroup, 0, len(types))
	for _, t := range types {
		g := relationGroup{Type: t, Label: relationLabels[t]}
		if g.Label == "" {
			g.Label = t
		}
		targets := byType[t]
		sort.Strings(targets)
		if len(targets) > relationListMax {
			g.More = len(targets) - relationListMax
			targets = targets[:relationListMax]
			if param, ok := catalogFilterParam[t]; ok {
				g.All = "/catalog?" + param + "=" + url.QueryEscape(catalog.Ref{Kind: string(d.Kind), Namespace: ns, Name: string(d.Metadata.Name)}.String())
			}
		}
		for _, ref := range targets {
			g.Targets = append(g.Targets, linkTo(ref, ns))
		}
		out = append(out, g)
	}
	return out
}

// apisView lists the APIs a component provides and consumes (and a system's APIs).
type apisView struct {
	Provided []apiSummary
	Consumed []apiSummary
	Parts    []apiSummary
}

type apiSummary struct {
	refLink
	Title       string
	Type        string
	Lifecycle   string
	Description string
	Owner       refLink
	Missing     bool
}

func (h *Handler) apisOf(d *entityDoc, ns string) *apisView {
	ix := h.opts.Catalog.Index()
	summary := func(ref string) apiSummary {
		s := apiSummary{refLink: linkTo(ref, ns)}
		raw, ok := ix.Get(ref)
		if !ok {
			s.Missing = true
			return s
		}
		row := toRow(raw)
		s.Title, s.Type, s.Lifecycle, s.Description, s.Owner = row.Title, row.Type, row.Lifecycle, row.Description, row.Owner
		return s
	}
	v := &apisView{}
	for _, r := range d.Relations {
		ref := string(r.TargetRef)
		switch string(r.Type) {
		case catalog.RelationProvidesAPI:
			v.Provided = append(v.Provided, summary(ref))
		case catalog.RelationConsumesAPI:
			v.Consumed = append(v.Consumed, summary(ref))
		case catalog.RelationHasPart:
			if strings.HasPrefix(ref, "api:") {
				v.Parts = append(v.Parts, summary(ref))
			}
		}
	}
	return v
}

// inspectView shows where an entity came from and what is stored.
type inspectView struct {
	Ancestry []ancestryStep
	Raw      string
	Problem  string
	// History is the audit log's entries about this entity, newest first; nil when no log is kept.
	History []historyEntry
}

type historyEntry struct {
	At     string
	Actor  string
	Action string
	Status int
}

// historyMax bounds the entity's history on the page; /api/audit pages through the rest.
const historyMax = 20

type ancestryStep struct {
	Entity  refLink
	Parents []refLink
}

func (h *Handler) inspect(r *http.Request, view *entityView) (*inspectView, error) {
	iv := &inspectView{}
	raw, _ := h.opts.Catalog.Index().Get(view.Ref)
	iv.Raw = prettyJSON(raw)
	ref, _ := catalog.ParseCanonicalRef(view.Ref)
	_, items, err := h.opts.Catalog.Ancestry(r.Context(), ref.Kind, ref.Namespace, ref.Name)
	if err != nil {
		if errs.CodeOf(err) == errs.Internal {
			h.opts.Log.Error("cannot read an entity's ancestry", "entity", view.Ref, "err", err)
			iv.Problem = "The ancestry could not be read right now."
			return iv, nil
		}
		return nil, err
	}
	for _, it := range items {
		row := toRow(it.Entity)
		step := ancestryStep{Entity: linkTo(row.Ref, view.Namespace)}
		for _, p := range it.ParentEntityRefs {
			step.Parents = append(step.Parents, linkTo(p, view.Namespace))
		}
		iv.Ancestry = append(iv.Ancestry, step)
	}
	if h.opts.Audit != nil {
		events, err := h.opts.Audit.ListAudit(r.Context(), audit.Query{Resource: view.Ref, Limit: historyMax})
		if err != nil {
			h.opts.Log.Error("cannot read an entity's history", "entity", view.Ref, "err", err)
		}
		iv.History = []historyEntry{}
		for _, e := range events {
			iv.History = append(iv.History, historyEntry{At: e.At.UTC().Format("2006-01-02 15:04 UTC"), Actor: e.Actor, Action: e.Action, Status: e.Status})
		}
	}
	return iv, nil
}

// entityRefresh asks for the entity and its location to be processed again now.
func (h *Handler) entityRefresh(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d, ref, err := h.loadEntity(r)
	if err != nil {
		return err
	}
	if err := auth.Decide(v.Principal, auth.CatalogRefresh, auth.Resource{}); err != nil {
		return err
	}
	if err := h.opts.Catalog.Refresh(r.Context(), ref); err != nil {
		return err
	}
	h.record(r, v.Principal, "refreshEntity", ref, http.StatusOK, nil, nil)
	name := string(d.Metadata.Name)
	h.redirectAfterChange(w, r, entityURL(ref), "Refresh of "+name+" scheduled: changes appear once it has been processed.")
	return nil
}
