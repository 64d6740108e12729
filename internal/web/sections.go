package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

// Sections whose service is not wired into Options (a portal started without TechDocs, the scaffolder, flags or
// deploys) render what the section is and what works today, never sample data.

// untilItem is something that works today, with a link when there is one.
type untilItem struct{ Text, URL, Label string }

// sectionView describes a section that is not configured.
type sectionView struct {
	Name    string
	Heading string
	What    string
	Until   []untilItem
	// API is where the section's JSON API will live.
	API string
	// Entity is set on deep links that name an entity, so the page can link back to it.
	Entity string
	// Templates are the catalog's Template entities, on the create page.
	Templates     []entityRow
	TemplateCount int
}

var sections = map[string]sectionView{
	"docs": {Name: "docs", Heading: "Documentation",
		What: "TechDocs renders each entity's Markdown documentation (mkdocs.yml and docs/) as a site with navigation, a table of contents and search.",
		Until: []untilItem{{Text: "Entities that have documentation carry the backstage.io/techdocs-ref annotation, shown on their Overview tab."},
			{Text: "Documentation sources live in each repository's docs/ folder, beside its catalog-info.yaml."}},
		API: "/api/techdocs"},
	"create": {Name: "create", Heading: "Create",
		What:  "The scaffolder creates a service from a template: a form built from the template's parameters, then a task whose log you can follow live.",
		Until: []untilItem{{Text: "Templates are catalog entities of kind Template.", URL: "/catalog?kind=Template", Label: "Templates in the catalog"}},
		API:   "/api/scaffolder"},
	"deploys": {Name: "deploys", Heading: "Deploys",
		What: "Deploys lists environments, deploys a component with a dry-run diff, follows the rollout live and rolls back.",
		Until: []untilItem{{Text: "Components that run on Kubernetes carry the backstage.io/kubernetes-id annotation, shown on their Overview tab.",
			URL: "/catalog?kind=Component", Label: "Components in the catalog"}},
		API: "/api/deploy"},
	"flags": {Name: "flags", Heading: "Feature flags",
		What:  "Flags lists each environment's feature flags, edits their variants and targeting, previews evaluations and promotes flags between environments.",
		Until: []untilItem{{Text: "Flag environments are configured under flags.environments in portal.yaml."}},
		API:   "/api/flags"},
}

// notConfigured renders a section's honest placeholder.
func (h *Handler) notConfigured(w http.ResponseWriter, r *http.Request, v *viewer, name string) error {
	sv := sections[name]
	// A deep link such as /docs/default/component/payment-service/ names the entity it is about.
	if ns := r.PathValue("namespace"); ns != "" && name == "docs" {
		sv.Entity = "/catalog/" + url.PathEscape(ns) + "/" + url.PathEscape(r.PathValue("kind")) + "/" + url.PathEscape(r.PathValue("name"))
	} else if rest := r.PathValue("rest"); rest != "" && name == "docs" {
		parts := strings.SplitN(rest, "/", 4)
		if len(parts) >= 3 {
			sv.Entity = "/catalog/" + url.PathEscape(parts[0]) + "/" + url.PathEscape(parts[1]) + "/" + url.PathEscape(parts[2])
		}
	}
	if name == "create" {
		res, err := h.opts.Catalog.Index().Query(catalog.QueryRequest{Filter: catalog.FilterKeyIn("kind", "template"), Limit: 50, LimitSet: true})
		if err != nil {
			return err
		}
		for _, raw := range res.Items {
			sv.Templates = append(sv.Templates, toRow(raw))
		}
		sv.TemplateCount = res.TotalItems
	}
	return h.render(w, r, http.StatusOK, "section", pageData{Title: sv.Heading, Section: name, Viewer: v, Data: sv})
}

func (h *Handler) docs(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.TechDocs != nil {
		if r.PathValue("rest") != "" {
			return errs.E(errs.NotFound, "There is no page at %s: docs are at /docs/<namespace>/<kind>/<name>/", r.URL.Path)
		}
		return h.docsIndex(w, r, v)
	}
	return h.notConfigured(w, r, v, "docs")
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if h.opts.Scaffolder != nil {
		return errs.E(errs.NotFound, "There is no page at %s", r.URL.Path)
	}
	return h.notConfigured(w, r, v, "create")
}

// docsTabView is the entity page's Docs tab: the build's state and a way to the reader once TechDocs is
// configured, the annotation alone before.
type docsTabView struct {
	TechDocsRef string
	Configured  bool
	ReaderURL   string
	Build       *buildView
}
