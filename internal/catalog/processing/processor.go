// Package processing turns locations into catalog entities: it reads what a location points at,
// parses and validates the entities found, resolves placeholders, derives relations and hands the
// results to storage, which stitches the final entities. The Engine runs this as a loop that claims
// due work from the database, so any number of replicas share it.
package processing

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
)

// Claim is an entity the engine has claimed for processing.
type Claim struct {
	ID          string
	EntityRef   string
	Unprocessed catalog.Entity
	// LocationKey is the source that owns this ref ("" for none yet).
	LocationKey string
	ResultHash  string
}

// Child is an entity emitted while processing another (a Location's targets).
type Child struct {
	Entity      catalog.Entity
	LocationKey string
	// Result is set when the engine processed the child in the same pass as its parent; storage
	// writes it with a new child, which is then not claimed and processed a second time.
	Result *Result
	// NextUpdateAt is when an eagerly processed child is due again.
	NextUpdateAt time.Time
	// Stored is set by storage when it wrote Result.
	Stored bool
	// JSON is Entity encoded, as the parent's result hash saw it.
	JSON []byte
}

// Result is what processing one claimed entity produced.
type Result struct {
	Claim Claim
	// Processed is nil when processing failed; storage then keeps the last good version.
	Processed   catalog.Entity
	Errors      []catalog.StatusItem
	Edges       []catalog.Edge
	Children    []Child
	RefreshKeys []string
	// Unread are the locations ("type:target") this Location could not read this time; the
	// children it read from them before are kept.
	Unread []string
	// ProcessedJSON is Processed encoded, nil when processing failed.
	ProcessedJSON []byte
	// Hash covers everything above; an unchanged hash means nothing needs writing.
	Hash string
}

// Rule allows kinds to enter the catalog from locations (Backstage's catalog.rules). A rule with no
// Origins applies to every location; otherwise only to entities descending from those registered
// or configured locations ("type:target").
type Rule struct {
	Allow   []string
	Origins []string
}

// DefaultRules are Backstage's: registered locations may only contribute components, APIs and
// further locations.
var DefaultRules = []Rule{{Allow: []string{"Component", "API", "Location"}}}

// Processor processes one entity at a time. It holds no state between calls and is safe for
// concurrent use.
type Processor struct {
	Reader source.Reader
	Rules  []Rule
	// ResolveURL resolves a target relative to a url location; nil uses plain URL resolution.
	ResolveURL func(base, target string) (string, error)
}

// Process runs the pipeline on one claimed entity: placeholders, validation, relations and, for
// Location entities, reading their targets. Errors are recorded in the result, never returned:
// a broken entity must not stop the others.
func (p *Processor) Process(ctx context.Context, c Claim) Result {
	res := Result{Claim: c}
	e := c.Unprocessed.Clone()
	catalog.Normalize(e)
	loc := parseLocationRef(e.Annotation(catalog.AnnotationManagedByLocation))
	origin := parseLocationRef(e.Annotation(catalog.AnnotationManagedByOriginLocation))

	if err := p.resolvePlaceholders(ctx, e, loc, origin, &res); err != nil {
		res.fail("InputError", err)
		return res.finish()
	}
	if err := catalog.Validate(e); err != nil {
		res.fail("InputError", errs.Wrap(errs.Invalid, err, "Policy check failed for %s; caused by %s", e.Ref(), errs.MessageOf(err)))
		return res.finish()
	}
	if err := checkStorable(e); err != nil {
		res.fail("InputError", errs.Wrap(errs.Invalid, err, "Policy check failed for %s; caused by %s", e.Ref(), errs.MessageOf(err)))
		return res.finish()
	}
	edges, err := catalog.Relations(e)
	if err == nil {
		err = checkEdges(edges)
	}
	if err != nil {
		res.fail("InputError", errs.Wrap(errs.Invalid, err, "Processor BuiltinKindsEntityProcessor threw an error while postprocessing %s; caused by %s", e.Ref(), errs.MessageOf(err)))
		return res.finish()
	}
	res.Edges = edges
	sortRelationFields(e)
	if strings.EqualFold(e.Kind(), "Location") {
		p.readTargets(ctx, e, loc, origin, &res)
	}
	res.Processed = e
	return res.finish()
}

// checkStorable refuses what the catalog could not store or index: a ref with control characters
// (PostgreSQL rejects NUL) and keys that differ only in case, which Backstage's search table
// cannot hold either.
func checkStorable(e catalog.Entity) error {
	if err := checkKeyCasing(map[string]any(e), "", map[string]string{}); err != nil {
		return err
	}
	return checkRefText(e.Ref())
}

// checkKeyCasing finds two flattened key paths that differ only in case (metadata.annotations
// "a.io/Foo" beside "a.io/foo"), which the catalog's search keys cannot tell apart. Array elements
// share their array's path, as in the search table.
func checkKeyCasing(v any, path string, seen map[string]string) error {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			lower := strings.ToLower(p)
			if first, ok := seen[lower]; ok && first != p {
				return errs.E(errs.Invalid, "Entity has duplicate keys that vary only in casing, %s and %s", first, p)
			}
			seen[lower] = p
			if err := checkKeyCasing(x, p, seen); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range t {
			if err := checkKeyCasing(x, path, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkEdges(edges []catalog.Edge) error {
	for _, e := range edges {
		if err := checkRefText(e.Target); err != nil {
			return err
		}
	}
	return nil
}

func checkRefText(r catalog.Ref) error {
	for _, part := range []string{r.Kind, r.Namespace, r.Name} {
		for _, c := range part {
			if c < 0x20 || c == 0x7f {
				return errs.E(errs.Invalid, "entity reference %q contains a control character", r.String())
			}
		}
	}
	return nil
}

// relationFields are the spec lists that only hold references; their order carries no meaning,
// so Backstage (since catalog-backend 3.0.1) stores them sorted and a reordering is not a change.
var relationFields = []string{"providesApis", "consumesApis", "dependsOn", "dependencyOf", "memberOf", "children", "members"}

func sortRelationFields(e catalog.Entity) {
	spec := e.Spec()
	for _, f := range relationFields {
		list, ok := spec[f].([]any)
		if !ok {
			continue
		}
		slices.SortStableFunc(list, func(a, b any) int {
			as, _ := a.(string)
			bs, _ := b.(string)
			return strings.Compare(as, bs)
		})
	}
}

func (r *Result) fail(name string, err error) {
	r.Errors = append(r.Errors, catalog.ErrorItem(name, errs.MessageOf(err)))
	r.Processed, r.Edges, r.Children = nil, nil, nil
}

// finish computes the result's hash. The processed entity and the children are encoded once here
// and the encodings kept, since storage writes exactly these bytes.
func (r Result) finish() Result {
	h := sha1.New()
	enc := json.NewEncoder(h)
	r.ProcessedJSON = nil
	if r.Processed != nil {
		r.ProcessedJSON, _ = json.Marshal(r.Processed)
	}
	_, _ = h.Write(r.ProcessedJSON)
	_ = enc.Encode(r.Errors)
	_ = enc.Encode(r.Edges)
	for i := range r.Children {
		c := &r.Children[i]
		if c.JSON == nil {
			c.JSON, _ = json.Marshal(c.Entity)
		}
		_ = enc.Encode(c.LocationKey)
		_, _ = h.Write(c.JSON)
	}
	_ = enc.Encode(r.RefreshKeys)
	_ = enc.Encode(r.Unread)
	r.Hash = hex.EncodeToString(h.Sum(nil))
	return r
}

// locationRef is a parsed "type:target" location reference.
type locationRef struct{ Type, Target string }

func (l locationRef) String() string { return l.Type + ":" + l.Target }
func (l locationRef) valid() bool    { return l.Type != "" && l.Target != "" }

func parseLocationRef(s string) locationRef {
	t, target, ok := strings.Cut(s, ":")
	if !ok {
		return locationRef{}
	}
	return locationRef{Type: t, Target: target}
}

// resolve resolves target relative to the location base. File targets must stay inside the
// directory of the configured origin location, so a catalog file cannot read arbitrary files.
func (p *Processor) resolve(base, origin locationRef, locType, target string) (locationRef, error) {
	if locType == "" {
		locType = base.Type
	}
	switch locType {
	case "file":
		if base.Type != "file" && !filepath.IsAbs(target) {
			return locationRef{}, errs.E(errs.Invalid, "cannot resolve file target %q relative to %s", target, base)
		}
		resolved := target
		if base.Type == "file" {
			resolved = source.ResolveFile(base.Target, target)
		}
		if origin.Type == "file" {
			root := filepath.Dir(origin.Target)
			if rel, err := filepath.Rel(root, resolved); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return locationRef{}, errs.E(errs.Forbidden, "file target %q is outside %s, the directory of its origin location", target, root)
			}
		} else if origin.valid() {
			return locationRef{}, errs.E(errs.Forbidden, "file target %q cannot be read from an entity that came from %s", target, origin)
		}
		return locationRef{Type: "file", Target: resolved}, nil
	case "url":
		if u, err := url.Parse(target); err == nil && u.IsAbs() {
			if u.Scheme != "http" && u.Scheme != "https" {
				return locationRef{}, errs.E(errs.Invalid, "url target %q must be http or https", target)
			}
			return locationRef{Type: "url", Target: target}, nil
		}
		if base.Type != "url" {
			return locationRef{}, errs.E(errs.Invalid, "url target %q is not an absolute URL", target)
		}
		resolved, err := p.resolveURL(base.Target, target)
		if err != nil {
			return locationRef{}, err
		}
		return locationRef{Type: "url", Target: resolved}, nil
	default:
		return locationRef{}, errs.E(errs.Invalid, "unknown location type %q", locType)
	}
}

func (p *Processor) resolveURL(base, target string) (string, error) {
	if p.ResolveURL != nil {
		return p.ResolveURL(base, target)
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", errs.Wrap(errs.Invalid, err, "invalid base URL %q", base)
	}
	t, err := url.Parse(target)
	if err != nil {
		return "", errs.Wrap(errs.Invalid, err, "invalid URL %q", target)
	}
	return b.ResolveReference(t).String(), nil
}

// placeholderKeys are the resolvers Backstage registers; other "$" keys (JSON Schema's $ref, say)
// are data and stay as written.
var placeholderKeys = map[string]bool{"$text": true, "$json": true, "$yaml": true}

func (p *Processor) resolvePlaceholders(ctx context.Context, e catalog.Entity, loc, origin locationRef, res *Result) error {
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch t := v.(type) {
		case map[string]any:
			if len(t) == 1 {
				for k, arg := range t {
					if placeholderKeys[k] {
						return p.placeholder(ctx, k, arg, loc, origin, res)
					}
				}
			}
			for k, x := range t {
				nv, err := walk(x)
				if err != nil {
					return nil, err
				}
				t[k] = nv
			}
			return t, nil
		case []any:
			for i, x := range t {
				nv, err := walk(x)
				if err != nil {
					return nil, err
				}
				t[i] = nv
			}
			return t, nil
		}
		return v, nil
	}
	for _, key := range []string{"metadata", "spec"} {
		if v, ok := e[key]; ok {
			nv, err := walk(v)
			if err != nil {
				return err
			}
			e[key] = nv
		}
	}
	return nil
}

func (p *Processor) placeholder(ctx context.Context, key string, arg any, loc, origin locationRef, res *Result) (any, error) {
	target, ok := arg.(string)
	if !ok {
		return nil, errs.E(errs.Invalid, "Placeholder %s expected a string value, got %T", key, arg)
	}
	if !loc.valid() {
		return nil, errs.E(errs.Invalid, "Placeholder %s could not resolve %s: the entity has no location", key, target)
	}
	ref, err := p.resolve(loc, origin, loc.Type, target)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "Placeholder %s could not read location %s, %s", key, target, errs.MessageOf(err))
	}
	data, err := p.Reader.Read(ctx, ref.Type, ref.Target)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "Placeholder %s could not read location %s, %s", key, target, errs.MessageOf(err))
	}
	res.RefreshKeys = append(res.RefreshKeys, ref.String())
	switch key {
	case "$text":
		return string(data), nil
	case "$json":
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "Placeholder $json failed to parse JSON data at %s, %v", target, err)
		}
		return v, nil
	default: // $yaml
		docs := catalog.ParseDocumentsAny(data)
		if len(docs) != 1 {
			return nil, errs.E(errs.Invalid, "Placeholder $yaml expected exactly one YAML document at %s, found %d", target, len(docs))
		}
		if docs[0].Err != nil {
			return nil, errs.Wrap(errs.Invalid, docs[0].Err, "Placeholder $yaml failed to parse YAML data at %s, %s", target, errs.MessageOf(docs[0].Err))
		}
		return docs[0].Value, nil
	}
}

func (p *Processor) readTargets(ctx context.Context, e catalog.Entity, loc, origin locationRef, res *Result) {
	spec := e.Spec()
	locType, _ := spec["type"].(string)
	presence, _ := spec["presence"].(string)
	targets := LocationTargets(e)
	if !origin.valid() {
		origin = loc
	}
	// Targets are read and parsed concurrently (a big catalog is split over many files), then their
	// results are merged in target order so the outcome does not depend on timing.
	type targetResult struct {
		errors   []catalog.StatusItem
		children []Child
		key      string
		unread   string
	}
	results := make([]targetResult, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, target := range targets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			ref, err := p.resolve(loc, origin, locType, target)
			if err != nil {
				r.errors = append(r.errors, catalog.ErrorItem(errName(err), errs.MessageOf(err)))
				return
			}
			data, err := p.Reader.Read(ctx, ref.Type, ref.Target)
			if err != nil {
				if errs.Is(err, errs.NotFound) && presence == "optional" {
					return
				}
				r.errors = append(r.errors, catalog.ErrorItem(errName(err), fmt.Sprintf("Unable to read %s, %s", ref, errs.MessageOf(err))))
				r.unread = ref.String()
				return
			}
			r.key = ref.String()
			for _, doc := range catalog.ParseDocuments(data) {
				if doc.Err != nil {
					r.errors = append(r.errors, catalog.ErrorItem("InputError", fmt.Sprintf("%s: %s", ref, errs.MessageOf(doc.Err))))
					continue
				}
				child, err := p.prepareChild(doc.Entity, ref, origin)
				if err != nil {
					r.errors = append(r.errors, catalog.ErrorItem(errName(err), fmt.Sprintf("%s line %d: %s", ref, doc.Line, errs.MessageOf(err))))
					continue
				}
				// Encoded here, on the reading goroutine: finish needs every child's JSON.
				childJSON, _ := json.Marshal(child)
				r.children = append(r.children, Child{Entity: child, LocationKey: ref.String(), JSON: childJSON})
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		res.Errors = append(res.Errors, r.errors...)
		res.Children = append(res.Children, r.children...)
		if r.key != "" {
			res.RefreshKeys = append(res.RefreshKeys, r.key)
		}
		if r.unread != "" {
			res.Unread = append(res.Unread, r.unread)
			// The file's URL stays a refresh key, so a webhook for it still reaches this Location.
			res.RefreshKeys = append(res.RefreshKeys, r.unread)
		}
	}
}

// LocationTargets returns a Location entity's spec.target and spec.targets, in that order.
func LocationTargets(e catalog.Entity) []string {
	spec := e.Spec()
	var targets []string
	if t, _ := spec["target"].(string); t != "" {
		targets = append(targets, t)
	}
	if ts, ok := spec["targets"].([]any); ok {
		for _, t := range ts {
			if s, _ := t.(string); s != "" {
				targets = append(targets, s)
			}
		}
	}
	return targets
}

// prepareChild checks an entity read from a file the way Backstage does before emitting it (envelope
// and catalog rules) and sets the location annotations; the entity's own annotation values win.
func (p *Processor) prepareChild(e catalog.Entity, from, origin locationRef) (catalog.Entity, error) {
	if err := validateEnvelope(e); err != nil {
		return nil, err
	}
	if !p.allowed(e.Kind(), origin) {
		return nil, errs.E(errs.Forbidden, "entity %s of kind %s is not allowed from location %s; allow it in catalog.rules", e.Ref(), e.Kind(), origin)
	}
	e = e.WithoutServerFields()
	catalog.Normalize(e)
	setDefault := func(key, value string) {
		if e.Annotation(key) == "" && value != "" {
			e.SetAnnotation(key, value)
		}
	}
	// The location annotations decide which files placeholders may read and which catalog rules
	// apply, so they always come from where the entity was actually read, never from the entity.
	e.SetAnnotation(catalog.AnnotationManagedByLocation, from.String())
	e.SetAnnotation(catalog.AnnotationManagedByOriginLocation, origin.String())
	if from.Type == "url" {
		setDefault(catalog.AnnotationViewURL, from.Target)
		if edit := githubEditURL(from.Target); edit != "" {
			setDefault(catalog.AnnotationEditURL, edit)
		}
		if i := strings.LastIndexByte(from.Target, '/'); i > 0 {
			setDefault(catalog.AnnotationSourceLocation, "url:"+from.Target[:i+1])
		}
	}
	return e, nil
}

// githubEditURL maps a GitHub blob URL to its editor, unless it pins a commit (which cannot be edited).
func githubEditURL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "blob" || isCommitSHA(parts[3]) {
		return ""
	}
	parts[2] = "edit"
	u.Path = "/" + strings.Join(parts, "/")
	return u.String()
}

func isCommitSHA(s string) bool {
	if len(s) < 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

func (p *Processor) allowed(kind string, origin locationRef) bool {
	rules := p.Rules
	if rules == nil {
		rules = DefaultRules
	}
	for _, r := range rules {
		if len(r.Origins) > 0 && !slices.Contains(r.Origins, origin.String()) {
			continue
		}
		for _, k := range r.Allow {
			if strings.EqualFold(k, kind) {
				return true
			}
		}
	}
	return false
}

// validateEnvelope is the coarse check Backstage runs before emitting an entity: enough to know
// its ref. Everything else is checked when the entity itself is processed.
func validateEnvelope(e catalog.Entity) error {
	if _, ok := e["apiVersion"].(string); !ok {
		return errs.E(errs.Invalid, "entity has no apiVersion string")
	}
	if _, ok := e["kind"].(string); !ok {
		return errs.E(errs.Invalid, "entity has no kind string")
	}
	md, ok := e["metadata"].(map[string]any)
	if !ok {
		return errs.E(errs.Invalid, "entity has no metadata object")
	}
	if n, ok := md["name"].(string); !ok || n == "" {
		return errs.E(errs.Invalid, "entity has no metadata.name string")
	}
	if ns, present := md["namespace"]; present {
		if s, ok := ns.(string); !ok || s == "" {
			return errs.E(errs.Invalid, "metadata.namespace must be a non-empty string")
		}
	}
	return checkRefText(e.Ref())
}

// errName maps an error to the Backstage error name shown in status items.
func errName(err error) string {
	switch errs.CodeOf(err) {
	case errs.NotFound:
		return "NotFoundError"
	case errs.Forbidden:
		return "NotAllowedError"
	case errs.Conflict:
		return "ConflictError"
	case errs.Invalid:
		return "InputError"
	}
	return "Error"
}
