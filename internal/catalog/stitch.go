package catalog

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// StitchInput is everything the final entity is assembled from (reference §3, stitching).
type StitchInput struct {
	UID       string
	Processed Entity
	// Relations are every edge whose source is this entity, from any entity's processing.
	Relations []Relation
	Errors    []StatusItem
	Orphan    bool
	// OmitLegacyTarget drops the relations' legacy "target" object
	// (Backstage's catalog.disableRelationsCompatibility).
	OmitLegacyTarget bool
}

// rejectedURL replaces javascript: view and edit URLs, as Backstage does at stitch time.
const rejectedURL = "https://backstage.io/annotation-rejected-for-security-reasons"

// Stitch assembles the final entity and returns its JSON and a hash of its content. The etag is the
// entity's own when its source set one, else derived from the content, so it changes on any change.
func Stitch(in StitchInput) (raw []byte, hash string, err error) {
	e := in.Processed.Clone()
	md := e.Metadata()
	if md == nil {
		md = map[string]any{}
		e["metadata"] = md
	}
	md["uid"] = in.UID
	ownEtag, _ := md["etag"].(string)
	delete(md, "etag")
	delete(e, "status")
	for _, key := range []string{AnnotationViewURL, AnnotationEditURL} {
		if v := e.Annotation(key); strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "javascript:") {
			e.SetAnnotation(key, rejectedURL)
		}
	}
	if in.Orphan {
		e.SetAnnotation(AnnotationOrphan, "true")
	}

	rels := make([]Relation, 0, len(in.Relations))
	for _, r := range in.Relations {
		r.Target = nil
		if !in.OmitLegacyTarget {
			if t, perr := ParseCanonicalRef(r.TargetRef); perr == nil {
				r.Target = &RelationTarget{Kind: t.Kind, Namespace: t.Namespace, Name: t.Name}
			}
		}
		rels = append(rels, r)
	}
	slices.SortFunc(rels, func(a, b Relation) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.TargetRef, b.TargetRef)
	})
	rels = slices.CompactFunc(rels, func(a, b Relation) bool { return a.Type == b.Type && a.TargetRef == b.TargetRef })
	relations := make([]any, len(rels))
	for i, r := range rels {
		m := map[string]any{"type": r.Type, "targetRef": r.TargetRef}
		if r.Target != nil {
			m["target"] = map[string]any{"kind": r.Target.Kind, "namespace": r.Target.Namespace, "name": r.Target.Name}
		}
		relations[i] = m
	}
	e["relations"] = relations
	if len(in.Errors) > 0 {
		items := make([]any, len(in.Errors))
		for i, s := range in.Errors {
			item := map[string]any{"type": s.Type, "level": s.Level, "message": s.Message}
			if s.Error != nil {
				item["error"] = s.Error
			}
			items[i] = item
		}
		e["status"] = map[string]any{"items": items}
	}

	content, err := json.Marshal(e)
	if err != nil {
		return nil, "", err
	}
	sum := sha1.Sum(content)
	hash = hex.EncodeToString(sum[:])
	etag := ownEtag
	if etag == "" {
		etag = hash
	}
	return withEtag(content, etag), hash, nil
}

// withEtag adds metadata.etag to the encoded entity without encoding it again: stitching is the
// hot path of ingest. Top-level keys are sorted and the ones before "metadata" hold strings, whose
// quotes are escaped, so the first `"metadata":{` is the top-level one.
func withEtag(content []byte, etag string) []byte {
	marker := []byte(`"metadata":{`)
	i := bytes.Index(content, marker)
	if i < 0 {
		return content
	}
	at := i + len(marker)
	tag, _ := json.Marshal(etag)
	out := make([]byte, 0, len(content)+len(tag)+10)
	out = append(out, content[:at]...)
	out = append(out, `"etag":`...)
	out = append(out, tag...)
	if content[at] != '}' {
		out = append(out, ',')
	}
	return append(out, content[at:]...)
}

// ParseCanonicalRef splits a canonical "kind:namespace/name" reference as stored in relations.
func ParseCanonicalRef(s string) (Ref, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Ref{}, errs.E(errs.Invalid, "relation target %q is not a canonical entity reference", s)
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok || kind == "" || ns == "" || name == "" {
		return Ref{}, errs.E(errs.Invalid, "relation target %q is not a canonical entity reference", s)
	}
	return Ref{Kind: kind, Namespace: ns, Name: name}, nil
}

// ErrorItem turns a processing error into the status item Backstage stores for it.
func ErrorItem(name, message string) StatusItem {
	return StatusItem{
		Type:    StatusTypeProcessing,
		Level:   "error",
		Message: name + ": " + message,
		Error:   map[string]any{"name": name, "message": message},
	}
}
