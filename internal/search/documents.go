package search

import (
	"fmt"
	"strings"

	"github.com/billpay/portal/internal/catalog"
)

// Source names.
const (
	catalogSourcePrefix  = "catalog:"
	techDocsSourcePrefix = "techdocs:"
)

// CatalogSource is the source of an entity's catalog document, keyed by uid because the catalog's
// change feed reports deletions by uid.
func CatalogSource(uid string) string { return catalogSourcePrefix + uid }

// TechDocsSource is the source of an entity's docs pages.
func TechDocsSource(ref catalog.Ref) string { return techDocsSourcePrefix + ref.String() }

// EntityFields are the fields Backstage's collators put on every document about an entity, so
// that filters such as filters[kind]=Component and filters[owner]=... work on both types.
func EntityFields(e catalog.Entity) map[string]string {
	ref := e.Ref()
	f := map[string]string{
		"kind":      ref.Kind,
		"namespace": ref.Namespace,
		"name":      ref.Name,
	}
	spec := e.Spec()
	if t, ok := spec["type"].(string); ok && t != "" {
		// Backstage renamed componentType to type and sets both during the transition.
		f["type"], f["componentType"] = t, t
	}
	if l, ok := spec["lifecycle"].(string); ok && l != "" {
		f["lifecycle"] = l
	}
	if o, ok := spec["owner"].(string); ok && o != "" {
		f["owner"] = o
	}
	return f
}

// entityTitle is what people call an entity: its title, else its name.
func entityTitle(e catalog.Entity) string {
	if t, ok := e.Metadata()["title"].(string); ok && strings.TrimSpace(t) != "" {
		return t
	}
	return e.Name()
}

// CatalogDocument is an entity's catalog document, shaped like Backstage's
// DefaultCatalogCollator's: title, description as text, /catalog/:namespace/:kind/:name as
// location. Location entities are plumbing, not something people look for, and are left out.
func CatalogDocument(e catalog.Entity) (Document, bool) {
	ref := e.Ref()
	if ref.Name == "" || ref.Kind == "" || strings.EqualFold(ref.Kind, "Location") {
		return Document{}, false
	}
	md := e.Metadata()
	text, _ := md["description"].(string)
	names := []string{ref.Name}
	if tags, ok := md["tags"].([]any); ok {
		for _, t := range tags {
			if s, ok := t.(string); ok {
				names = append(names, s)
			}
		}
	}
	lower := ref.Lower()
	return Document{
		Type:       TypeCatalog,
		Title:      entityTitle(e),
		Text:       text,
		Location:   fmt.Sprintf("/catalog/%s/%s/%s", lower.Namespace, lower.Kind, lower.Name),
		Names:      strings.Join(names, " "),
		Identifier: ref.Name,
		Fields:     EntityFields(e),
	}, true
}

// DocsPage is one page of a built TechDocs site, as its search index describes it.
type DocsPage struct {
	// Path is the page's URL relative to the site root ("" for the home page).
	Path     string
	Title    string
	Text     string
	Headings []string
}

// TechDocsDocuments are the documents of an entity's site, one per page, shaped like Backstage's
// DefaultTechDocsCollator's: location /docs/:namespace/:kind/:name/:path, with the entity's
// fields and title beside the page's.
func TechDocsDocuments(e catalog.Entity, pages []DocsPage) []Document {
	lower := e.Ref().Lower()
	base := EntityFields(e)
	base["entityTitle"] = entityTitle(e)
	out := make([]Document, 0, len(pages))
	for _, p := range pages {
		f := make(map[string]string, len(base)+1)
		for k, v := range base {
			f[k] = v
		}
		f["path"] = p.Path
		out = append(out, Document{
			Type:     TypeTechDocs,
			Title:    p.Title,
			Text:     p.Text,
			Location: fmt.Sprintf("/docs/%s/%s/%s/%s", lower.Namespace, lower.Kind, lower.Name, p.Path),
			Headings: strings.Join(p.Headings, "\n"),
			Fields:   f,
		})
	}
	return out
}
