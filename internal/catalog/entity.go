// Package catalog is Backstage's software catalog model: entities, references, relations, validation,
// filters and queries. It knows nothing of HTTP or storage; those live in httpapi and store.
package catalog

import (
	"maps"
	"strings"
)

// Entity is a catalog entity in its JSON form. Backstage entities are open-ended (any metadata key,
// any spec shape, kinds added by plugins), so an entity stays a generic JSON object and the accessors
// below read the well-known fields. Values are what encoding/json produces: map[string]any, []any,
// string, float64, bool and nil.
type Entity map[string]any

// Well-known annotations (reference §2.6).
const (
	AnnotationManagedByLocation       = "backstage.io/managed-by-location"
	AnnotationManagedByOriginLocation = "backstage.io/managed-by-origin-location"
	AnnotationOrphan                  = "backstage.io/orphan"
	AnnotationViewURL                 = "backstage.io/view-url"
	AnnotationEditURL                 = "backstage.io/edit-url"
	AnnotationSourceLocation          = "backstage.io/source-location"
	AnnotationTechDocsRef             = "backstage.io/techdocs-ref"
)

// DefaultNamespace is the namespace of entities and references that name none.
const DefaultNamespace = "default"

// APIVersion returns the entity's apiVersion, or "" when absent or not a string.
func (e Entity) APIVersion() string { s, _ := e["apiVersion"].(string); return s }

// Kind returns the entity's kind as written (not lowercased).
func (e Entity) Kind() string { s, _ := e["kind"].(string); return s }

// Metadata returns the metadata object, or nil.
func (e Entity) Metadata() map[string]any { m, _ := e["metadata"].(map[string]any); return m }

// Spec returns the spec object, or nil.
func (e Entity) Spec() map[string]any { m, _ := e["spec"].(map[string]any); return m }

// Name returns metadata.name.
func (e Entity) Name() string { s, _ := e.Metadata()["name"].(string); return s }

// Namespace returns metadata.namespace, or "default" when it is absent.
func (e Entity) Namespace() string {
	if s, _ := e.Metadata()["namespace"].(string); s != "" {
		return s
	}
	return DefaultNamespace
}

// UID returns metadata.uid, set by the catalog on stitched entities.
func (e Entity) UID() string { s, _ := e.Metadata()["uid"].(string); return s }

// Ref returns the entity's reference; kind and namespace keep their case here, String lowercases.
func (e Entity) Ref() Ref { return Ref{Kind: e.Kind(), Namespace: e.Namespace(), Name: e.Name()} }

// Annotation returns the value of one annotation, or "".
func (e Entity) Annotation(key string) string {
	a, _ := e.Metadata()["annotations"].(map[string]any)
	s, _ := a[key].(string)
	return s
}

// SetAnnotation sets one annotation, creating metadata and annotations when needed.
func (e Entity) SetAnnotation(key, value string) {
	md := e.Metadata()
	if md == nil {
		md = map[string]any{}
		e["metadata"] = md
	}
	a, _ := md["annotations"].(map[string]any)
	if a == nil {
		a = map[string]any{}
		md["annotations"] = a
	}
	a[key] = value
}

// Clone returns a deep copy, so that processing steps never alias each other's maps.
func (e Entity) Clone() Entity { return Entity(cloneValue(map[string]any(e)).(map[string]any)) }

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = cloneValue(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneValue(x)
		}
		return out
	default:
		return v
	}
}

// Relation is one edge of the final entity's relations array (reference §2.5).
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
	// Target is Backstage's legacy compatibility field, parsed from TargetRef.
	Target *RelationTarget `json:"target,omitempty"`
}

// RelationTarget is the legacy split form of a relation target.
type RelationTarget struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// StatusItem is one entry of status.items on a final entity.
type StatusItem struct {
	Type    string         `json:"type"`
	Level   string         `json:"level"`
	Message string         `json:"message"`
	Error   map[string]any `json:"error,omitempty"`
}

// StatusTypeProcessing is the status item type of processing errors.
const StatusTypeProcessing = "backstage.io/catalog-processing"

// Ref is an entity reference. Parts keep the case they were written in; String is the canonical,
// lowercased form used as the storage key and in relations.
type Ref struct {
	Kind      string
	Namespace string
	Name      string
}

// String returns the canonical reference "kind:namespace/name", all lowercase.
func (r Ref) String() string {
	return strings.ToLower(r.Kind) + ":" + strings.ToLower(r.Namespace) + "/" + strings.ToLower(r.Name)
}

// WithoutServerFields returns a copy without the fields the catalog fills in (relations, status,
// uid, etag), which is what a source is allowed to provide.
func (e Entity) WithoutServerFields() Entity {
	out := maps.Clone(e)
	delete(out, "relations")
	delete(out, "status")
	if md := e.Metadata(); md != nil {
		md2 := maps.Clone(md)
		delete(md2, "uid")
		delete(md2, "etag")
		out["metadata"] = md2
	}
	return out
}
