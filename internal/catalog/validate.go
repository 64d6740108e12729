package catalog

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Normalize applies Backstage's DefaultNamespaceEntityPolicy: an entity without metadata.namespace
// gets "default". Only an absent key is filled; an empty or non-string namespace is left for Validate
// to reject, as Backstage's schema check runs before the default is applied.
func Normalize(e Entity) {
	md := e.Metadata()
	if md == nil {
		return
	}
	if _, ok := md["namespace"]; !ok {
		md["namespace"] = DefaultNamespace
	}
}

// Built-in kinds, spelled as Backstage's kind schemas require.
const (
	KindComponent = "Component"
	KindAPI       = "API"
	KindResource  = "Resource"
	KindSystem    = "System"
	KindDomain    = "Domain"
	KindGroup     = "Group"
	KindUser      = "User"
	KindLocation  = "Location"
	KindTemplate  = "Template"
)

// APIVersionTemplate is the only Template apiVersion the current scaffolder accepts.
const APIVersionTemplate = "scaffolder.backstage.io/v1beta3"

var knownKinds = [...]string{KindComponent, KindAPI, KindResource, KindSystem, KindDomain, KindGroup, KindUser, KindLocation, KindTemplate}

// KnownKind reports whether kind is one of the nine kinds Portal processes, in any case, for callers
// that handle kinds as written in URLs and filters, which are lowercase.
func KnownKind(kind string) bool {
	for _, k := range knownKinds {
		if strings.EqualFold(k, kind) {
			return true
		}
	}
	return false
}

// Validate checks an entity the way Backstage's catalog does before accepting it: the envelope
// schema (SchemaValidEntityPolicy), then the field formats (FieldFormatEntityPolicy), then that a
// processor recognizes kind and apiVersion and the kind's own schema (BuiltinKindsEntityProcessor,
// ScaffolderEntitiesProcessor). It returns nil or an errs.Invalid error naming the first offending
// field. It reads e and never changes it; call Normalize first to get Backstage's default namespace.
//
// Two deliberate differences from Backstage:
//   - Root keys relations and status pass (Backstage's NoForeignRootFieldsEntityPolicy rejects them)
//     so that a stored, stitched entity validates too; the ingestion path strips both before storing.
//   - An unknown kind or apiVersion is reported as such. Backstage only says that no processor
//     recognized the entity as valid, "possibly caused by a foreign kind or apiVersion"; the message
//     keeps that wording after naming the culprit.
//
// Kinds and apiVersions match case-sensitively, as in Backstage's kind schemas: "component" is not a
// Component.
func Validate(e Entity) error {
	if e == nil {
		return errs.E(errs.Invalid, "Malformed envelope, <root> must be object")
	}
	if err := validateEnvelope(e); err != nil {
		return err
	}
	if err := validateFieldFormats(e); err != nil {
		return err
	}
	return validateKind(e)
}

// maxLabelLen is the 63-character limit Kubernetes-style names and labels share.
const maxLabelLen = 63

// validateEnvelope mirrors Entity.schema.json and EntityMeta.schema.json: presence and JSON types.
func validateEnvelope(e Entity) error {
	for k := range e {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		default:
			return errs.E(errs.Invalid, "Unknown field %s; an entity may only have the root fields apiVersion, kind, metadata and spec", firstUnknownRootKey(e))
		}
	}
	for _, k := range [...]string{"apiVersion", "kind", "metadata"} {
		if _, ok := e[k]; !ok {
			return envelopeErr("<root>", "must have required property '"+k+"'")
		}
	}
	if s, ok := e["apiVersion"].(string); !ok || s == "" {
		return envelopeErr("apiVersion", "must be a non-empty string")
	}
	if s, ok := e["kind"].(string); !ok || s == "" {
		return envelopeErr("kind", "must be a non-empty string")
	}
	md, ok := e["metadata"].(map[string]any)
	if !ok {
		return envelopeErr("metadata", "must be object")
	}
	if v, ok := e["spec"]; ok {
		if _, ok := v.(map[string]any); !ok {
			return envelopeErr("spec", "must be object")
		}
	}
	if v, ok := e["relations"]; ok {
		if _, ok := v.([]any); !ok {
			return envelopeErr("relations", "must be array")
		}
	}
	if v, ok := e["status"]; ok {
		if _, ok := v.(map[string]any); !ok {
			return envelopeErr("status", "must be object")
		}
	}
	return validateMetadataSchema(md)
}

func validateMetadataSchema(md map[string]any) error {
	name, ok := md["name"]
	if !ok {
		return envelopeErr("metadata", "must have required property 'name'")
	}
	if s, ok := name.(string); !ok || s == "" {
		return envelopeErr("metadata.name", "must be a non-empty string")
	}
	for _, k := range [...]string{"namespace", "uid", "etag"} {
		if v, ok := md[k]; ok {
			if s, ok := v.(string); !ok || s == "" {
				return envelopeErr("metadata."+k, "must be a non-empty string")
			}
		}
	}
	if v, ok := md["generation"]; ok {
		if n, ok := integerValue(v); !ok || n < 1 {
			return envelopeErr("metadata.generation", "must be an integer >= 1")
		}
	}
	for _, k := range [...]string{"title", "description"} {
		if v, ok := md[k]; ok {
			if _, ok := v.(string); !ok {
				return envelopeErr("metadata."+k, "must be a string")
			}
		}
	}
	for _, k := range [...]string{"labels", "annotations"} {
		v, ok := md[k]
		if !ok {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return envelopeErr("metadata."+k, "must be object")
		}
		if bad, found := firstKey(m, func(_ string, v any) bool { _, ok := v.(string); return !ok }); found {
			return envelopeErr("metadata."+k+"."+bad, "must be a string")
		}
	}
	if v, ok := md["tags"]; ok {
		switch tags := v.(type) {
		case []string:
			for i, t := range tags {
				if t == "" {
					return envelopeErr(indexPath("metadata.tags", i), "must be a non-empty string")
				}
			}
		case []any:
			for i, t := range tags {
				if s, ok := t.(string); !ok || s == "" {
					return envelopeErr(indexPath("metadata.tags", i), "must be a non-empty string")
				}
			}
		default:
			return envelopeErr("metadata.tags", "must be array")
		}
	}
	if v, ok := md["links"]; ok {
		links, ok := v.([]any)
		if !ok {
			return envelopeErr("metadata.links", "must be array")
		}
		for i, l := range links {
			link, ok := l.(map[string]any)
			if !ok {
				return envelopeErr(indexPath("metadata.links", i), "must be object")
			}
			if _, ok := link["url"]; !ok {
				return envelopeErr(indexPath("metadata.links", i), "must have required property 'url'")
			}
			for _, k := range [...]string{"url", "title", "icon", "type"} {
				if v, ok := link[k]; ok {
					if s, ok := v.(string); !ok || s == "" {
						return envelopeErr(indexPath("metadata.links", i)+"."+k, "must be a non-empty string")
					}
				}
			}
		}
	}
	return nil
}

// validateFieldFormats mirrors FieldFormatEntityPolicy, including its field names ("labels.x",
// "tags.0") and messages, which users search for. validateEnvelope has already checked types.
func validateFieldFormats(e Entity) error {
	apiVersion := e["apiVersion"].(string)
	if !isValidAPIVersion(apiVersion) {
		return formatErr("apiVersion", apiVersion, expectPrefixSuffix)
	}
	kind := e["kind"].(string)
	if !isValidKind(kind) {
		return formatErr("kind", kind, expectKind)
	}
	md := e["metadata"].(map[string]any)
	name := md["name"].(string)
	if !isValidObjectName(name) {
		return formatErr("metadata.name", name, expectObjectName)
	}
	if ns, ok := md["namespace"].(string); ok && !isValidDNSLabel(ns) {
		return formatErr("metadata.namespace", ns, expectDNSLabel)
	}
	if labels, ok := md["labels"].(map[string]any); ok {
		bad, found := firstKey(labels, func(k string, v any) bool {
			return !isValidPrefixedName(k) || !isValidLabelValue(v.(string))
		})
		if found {
			if !isValidPrefixedName(bad) {
				return formatErr("labels."+bad, bad, expectPrefixSuffix)
			}
			return formatErr("labels."+bad, labels[bad].(string), expectObjectName)
		}
	}
	if annotations, ok := md["annotations"].(map[string]any); ok {
		// Annotation values are any string, which the envelope check has already enforced.
		if bad, found := firstKey(annotations, func(k string, _ any) bool { return !isValidPrefixedName(k) }); found {
			return formatErr("annotations."+bad, bad, expectPrefixSuffix)
		}
	}
	switch tags := md["tags"].(type) {
	case []string:
		for i, t := range tags {
			if !isValidTag(t) {
				return formatErr("tags."+strconv.Itoa(i), t, expectTag)
			}
		}
	case []any:
		for i, t := range tags {
			if s := t.(string); !isValidTag(s) {
				return formatErr("tags."+strconv.Itoa(i), s, expectTag)
			}
		}
	}
	if links, ok := md["links"].([]any); ok {
		for i, l := range links {
			link := l.(map[string]any)
			if u := link["url"].(string); !isValidURL(u) {
				return formatErr(linkField(i, "url"), u, expectURL)
			}
			if t, ok := link["title"].(string); ok && strings.TrimSpace(t) == "" {
				return formatErr(linkField(i, "title"), t, expectString)
			}
			if icon, ok := link["icon"].(string); ok && !isValidObjectName(icon) {
				return formatErr(linkField(i, "icon"), icon, expectObjectName)
			}
		}
	}
	return nil
}

// The expectations FieldFormatEntityPolicy prints, verbatim. The tag text predates ':' being allowed
// in tags and Backstage never updated it.
const (
	expectObjectName   = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
	expectPrefixSuffix = "a valid prefix and/or suffix"
	expectDNSLabel     = "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
	expectTag          = "a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total"
	expectKind         = "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
	expectURL          = "a string that is a valid url"
	expectString       = "a non empty string"
)

const formatDocsHint = "To learn more about catalog file format, visit: https://github.com/backstage/backstage/blob/master/docs/architecture-decisions/adr002-default-catalog-file-format.md"

func formatErr(field, value, expectation string) error {
	return errs.E(errs.Invalid, `"%s" is not valid; expected %s but found "%s". %s`, field, expectation, value, formatDocsHint)
}

func envelopeErr(path, msg string) error {
	return errs.E(errs.Invalid, "Malformed envelope, %s %s", path, msg)
}

func linkField(i int, name string) string { return "links." + strconv.Itoa(i) + "." + name }

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// firstKey returns the smallest key for which bad holds, so that an entity with several faults
// always gets the same message despite Go's random map order.
func firstKey(m map[string]any, bad func(k string, v any) bool) (string, bool) {
	var first string
	found := false
	for k, v := range m {
		if bad(k, v) && (!found || k < first) {
			first, found = k, true
		}
	}
	return first, found
}

func firstUnknownRootKey(e Entity) string {
	k, _ := firstKey(e, func(k string, _ any) bool {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
			return false
		}
		return true
	})
	return k
}

// integerValue accepts the number types encoding/json and YAML decoders produce.
func integerValue(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || n > math.MaxInt64 || n < math.MinInt64 {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		if n > math.MaxInt64 {
			return math.MaxInt64, true
		}
		return int64(n), true
	case fmt.Stringer:
		i, err := strconv.ParseInt(n.String(), 10, 64)
		return i, err == nil
	}
	return 0, false
}

// The matchers below are hand-written equivalents of Backstage's regular expressions (the tests check
// them against the regexes). Validate runs for every entity on every processing pass, and these run
// several times per entity; scanning bytes is an order of magnitude faster than regexp.

// isValidObjectName: ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$, 1-63 characters.
func isValidObjectName(s string) bool {
	if len(s) < 1 || len(s) > maxLabelLen || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isValidLabelValue: empty, or an object name.
func isValidLabelValue(s string) bool { return s == "" || isValidObjectName(s) }

// isValidDNSLabel: ^[a-z0-9]+(\-[a-z0-9]+)*$, 1-63 characters.
func isValidDNSLabel(s string) bool { return isDashSeparated(s, isLowerAlnum) }

// isValidTag: ^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$, 1-63 characters.
func isValidTag(s string) bool {
	return isDashSeparated(s, func(c byte) bool { return isLowerAlnum(c) || c == ':' || c == '+' || c == '#' })
}

func isDashSeparated(s string, allowed func(byte) bool) bool {
	if len(s) < 1 || len(s) > maxLabelLen {
		return false
	}
	prevDash := true // a leading '-' is as wrong as a doubled one
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if prevDash {
				return false
			}
			prevDash = true
			continue
		}
		if !allowed(c) {
			return false
		}
		prevDash = false
	}
	return !prevDash
}

// isValidKind: ^[a-zA-Z][a-z0-9A-Z]*$, 1-63 characters.
func isValidKind(s string) bool {
	if len(s) < 1 || len(s) > maxLabelLen || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// isValidDNSSubdomain: 1-253 characters of '.'-separated DNS labels.
func isValidDNSSubdomain(s string) bool {
	if len(s) < 1 || len(s) > 253 {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !isValidDNSLabel(part) {
			return false
		}
	}
	return true
}

// isValidAPIVersion: [<DNS subdomain>/]<1-63 alphanumerics>.
func isValidAPIVersion(s string) bool {
	return isValidPrefixAndOrSuffix(s, func(v string) bool {
		if len(v) < 1 || len(v) > maxLabelLen {
			return false
		}
		for i := 0; i < len(v); i++ {
			if !isAlnum(v[i]) {
				return false
			}
		}
		return true
	})
}

// isValidPrefixedName is the label and annotation key rule: [<DNS subdomain>/]<object name>.
func isValidPrefixedName(s string) bool { return isValidPrefixAndOrSuffix(s, isValidObjectName) }

// isValidPrefixAndOrSuffix is CommonValidatorFunctions.isValidPrefixAndOrSuffix with '/': more than
// one separator is never valid.
func isValidPrefixAndOrSuffix(s string, suffix func(string) bool) bool {
	prefix, rest, found := strings.Cut(s, "/")
	if !found {
		return suffix(s)
	}
	if strings.IndexByte(rest, '/') >= 0 {
		return false
	}
	return isValidDNSSubdomain(prefix) && suffix(rest)
}

func isAlpha(c byte) bool      { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isAlpha(c) || isDigit(c) }
func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || isDigit(c) }

// isValidURL approximates the WHATWG URL parser behind Backstage's `new URL(value)`: the value must
// be absolute (have a scheme), and the special schemes that need a host (http, https, ws, wss, ftp)
// must have a plausible one with a numeric port. Go's net/url is both stricter (it rejects bad
// percent-escapes in paths, which browsers accept) and laxer (it accepts relative references), so it
// is not used.
func isValidURL(s string) bool {
	// WHATWG strips leading and trailing C0 controls and spaces, and tabs and newlines anywhere.
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	colon := strings.IndexByte(s, ':')
	if colon < 1 || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < colon; i++ {
		if c := s[i]; !isAlnum(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	switch strings.ToLower(s[:colon]) {
	case "http", "https", "ws", "wss", "ftp":
	default:
		// file: and non-special schemes ("mailto:", "slack:", "urn:") accept almost anything.
		return true
	}
	rest := strings.TrimLeft(s[colon+1:], `/\`)
	if end := strings.IndexAny(rest, `/\?#`); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	host, port := rest, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		host, port = host[:end+1], host[end+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
		if len(host) < 3 || strings.Trim(host[1:len(host)-1], "0123456789abcdefABCDEF:.") != "" {
			return false
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host, port = host[:i], host[i+1:]
	}
	if host == "" || (host[0] != '[' && !isPlausibleHost(host)) {
		return false
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 || strings.ContainsAny(port, "+-") {
			return false
		}
	}
	return true
}

// isPlausibleHost rejects WHATWG's forbidden host code points; percent-escapes and non-ASCII
// (internationalized) names pass, as the browser would decode and IDNA-map them.
func isPlausibleHost(host string) bool {
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case c <= ' ', c == 0x7f:
			return false
		case strings.IndexByte("#/:<>?@[\\]^|", c) >= 0:
			return false
		}
	}
	return true
}

// validateKind is the processors' validateEntityKind: the kind and apiVersion must be ones Portal
// processes, and the spec must match that kind's schema (packages/catalog-model/src/schema/kinds).
func validateKind(e Entity) error {
	kind := e["kind"].(string)
	apiVersion := e["apiVersion"].(string)
	schema := kindSchemas[kind]
	if schema == nil {
		hint := ""
		for _, k := range knownKinds {
			if strings.EqualFold(k, kind) {
				hint = fmt.Sprintf(` (kinds are case-sensitive; did you mean "%s"?)`, k)
			}
		}
		return errs.E(errs.Invalid, `Unsupported kind "%s"%s; no processor recognized the entity %s as valid, possibly caused by a foreign kind or apiVersion`,
			kind, hint, e.Ref())
	}
	if !slices.Contains(schema.apiVersions, apiVersion) {
		return errs.E(errs.Invalid, `Unsupported apiVersion "%s" for kind %s, expected %s; no processor recognized the entity %s as valid, possibly caused by a foreign kind or apiVersion`,
			apiVersion, kind, strings.Join(schema.apiVersions, " or "), e.Ref())
	}
	spec, ok := e["spec"].(map[string]any)
	if !ok {
		return errs.E(errs.Invalid, "%s entity is invalid: spec is required", kind)
	}
	if p := checkSpecProps(spec, schema.fields); p != nil {
		return errs.E(errs.Invalid, "%s entity is invalid: spec%s %s", kind, p.path, p.msg)
	}
	return nil
}

type kindSchema struct {
	apiVersions []string
	fields      []specProp
}

// specProblem is a schema violation. Checks build its path bottom-up, each level prepending its own
// step, so that a valid entity never pays for formatting paths.
type specProblem struct {
	path string // relative to the value checked, e.g. ".steps[0].action"
	msg  string
}

// specCheck validates one JSON value and returns nil when it is valid.
type specCheck func(v any) *specProblem

// specProp is one property of an object schema.
type specProp struct {
	name     string
	required bool
	check    specCheck
}

func reqProp(name string, c specCheck) specProp {
	return specProp{name: name, required: true, check: c}
}
func optProp(name string, c specCheck) specProp { return specProp{name: name, check: c} }

func checkSpecProps(m map[string]any, props []specProp) *specProblem {
	for _, p := range props {
		v, present := m[p.name]
		if !present {
			if p.required {
				return &specProblem{path: "." + p.name, msg: "is required"}
			}
			continue
		}
		if pr := p.check(v); pr != nil {
			pr.path = "." + p.name + pr.path
			return pr
		}
	}
	return nil
}

// nonEmptyString is JSON schema {"type": "string", "minLength": 1}.
func nonEmptyString(v any) *specProblem {
	s, ok := v.(string)
	if !ok {
		return &specProblem{msg: "must be a string"}
	}
	if s == "" {
		return &specProblem{msg: "must not be empty"}
	}
	return nil
}

func anyString(v any) *specProblem {
	if _, ok := v.(string); !ok {
		return &specProblem{msg: "must be a string"}
	}
	return nil
}

func problemAt(i int, p *specProblem) *specProblem {
	p.path = "[" + strconv.Itoa(i) + "]" + p.path
	return p
}

// stringArray is {"type": "array", "items": {"type": "string", "minLength": 1}}.
func stringArray(v any) *specProblem {
	switch a := v.(type) {
	case []any:
		for i, x := range a {
			if p := nonEmptyString(x); p != nil {
				return problemAt(i, p)
			}
		}
		return nil
	case []string:
		for i, x := range a {
			if x == "" {
				return problemAt(i, &specProblem{msg: "must not be empty"})
			}
		}
		return nil
	}
	return &specProblem{msg: "must be an array of strings"}
}

func anyObject(v any) *specProblem {
	if _, ok := v.(map[string]any); !ok {
		return &specProblem{msg: "must be an object"}
	}
	return nil
}

// objectWith checks an object and the listed properties, when present.
func objectWith(props ...specProp) specCheck {
	return func(v any) *specProblem {
		m, ok := v.(map[string]any)
		if !ok {
			return &specProblem{msg: "must be an object"}
		}
		return checkSpecProps(m, props)
	}
}

// arrayOf checks an array whose items all pass item.
func arrayOf(item specCheck) specCheck {
	return func(v any) *specProblem {
		a, ok := v.([]any)
		if !ok {
			return &specProblem{msg: "must be an array"}
		}
		for i, x := range a {
			if p := item(x); p != nil {
				return problemAt(i, p)
			}
		}
		return nil
	}
}

func enumString(values ...string) specCheck {
	return func(v any) *specProblem {
		s, ok := v.(string)
		if !ok {
			return &specProblem{msg: "must be a string"}
		}
		if slices.Contains(values, s) {
			return nil
		}
		return &specProblem{msg: fmt.Sprintf("must be one of %s but found %q", strings.Join(values, ", "), s)}
	}
}

// stringOrBool is a Template step's or output item's "if": a template string or a literal boolean.
func stringOrBool(v any) *specProblem {
	switch v.(type) {
	case string, bool:
		return nil
	}
	return &specProblem{msg: "must be a string or a boolean"}
}

var (
	builtinAPIVersions = []string{"backstage.io/v1alpha1", "backstage.io/v1beta1"}

	profileSchema = objectWith(
		optProp("displayName", nonEmptyString),
		optProp("email", nonEmptyString),
		optProp("picture", nonEmptyString),
	)

	permissionsSchema = objectWith(optProp("tags", arrayOf(anyString)))

	templateParameterPage = objectWith(optProp("backstage:permissions", permissionsSchema))

	templateStep = objectWith(
		optProp("id", anyString),
		optProp("name", anyString),
		reqProp("action", anyString),
		optProp("input", anyObject),
		optProp("if", stringOrBool),
		optProp("backstage:permissions", permissionsSchema),
	)

	templateOutputLists = objectWith(
		optProp("links", arrayOf(objectWith(
			optProp("if", stringOrBool),
			optProp("url", nonEmptyString),
			optProp("entityRef", nonEmptyString),
			optProp("title", nonEmptyString),
			optProp("icon", nonEmptyString),
		))),
		optProp("text", arrayOf(objectWith(
			optProp("if", stringOrBool),
			optProp("title", nonEmptyString),
			optProp("icon", nonEmptyString),
			optProp("content", anyString),
		))),
	)
)

// templateParameters is one JSON Schema object, or an array of them (one per wizard page).
func templateParameters(v any) *specProblem {
	switch v.(type) {
	case []any:
		return arrayOf(templateParameterPage)(v)
	case map[string]any:
		return templateParameterPage(v)
	}
	return &specProblem{msg: "must be an object or an array of objects"}
}

// templateOutput has links and text arrays; every other key must be a string.
func templateOutput(v any) *specProblem {
	if p := templateOutputLists(v); p != nil {
		return p
	}
	bad, found := firstKey(v.(map[string]any), func(k string, x any) bool {
		if k == "links" || k == "text" {
			return false
		}
		_, isString := x.(string)
		return !isString
	})
	if found {
		return &specProblem{path: "." + bad, msg: "must be a string"}
	}
	return nil
}

// kindSchemas are Backstage's kind schemas reduced to what they check. Properties a schema does not
// list are allowed, as in Backstage (additionalProperties is not false there).
var kindSchemas = map[string]*kindSchema{
	KindComponent: {builtinAPIVersions, []specProp{
		reqProp("type", nonEmptyString),
		reqProp("lifecycle", nonEmptyString),
		reqProp("owner", nonEmptyString),
		optProp("system", nonEmptyString),
		optProp("subcomponentOf", nonEmptyString),
		optProp("providesApis", stringArray),
		optProp("consumesApis", stringArray),
		optProp("dependsOn", stringArray),
		optProp("dependencyOf", stringArray),
	}},
	KindAPI: {builtinAPIVersions, []specProp{
		reqProp("type", nonEmptyString),
		reqProp("lifecycle", nonEmptyString),
		reqProp("owner", nonEmptyString),
		reqProp("definition", nonEmptyString),
		optProp("system", nonEmptyString),
	}},
	KindResource: {builtinAPIVersions, []specProp{
		reqProp("type", nonEmptyString),
		reqProp("owner", nonEmptyString),
		optProp("dependsOn", stringArray),
		optProp("dependencyOf", stringArray),
		optProp("system", nonEmptyString),
	}},
	KindSystem: {builtinAPIVersions, []specProp{
		reqProp("owner", nonEmptyString),
		optProp("domain", nonEmptyString),
		optProp("type", nonEmptyString),
	}},
	KindDomain: {builtinAPIVersions, []specProp{
		reqProp("owner", nonEmptyString),
		optProp("subdomainOf", nonEmptyString),
		optProp("type", nonEmptyString),
	}},
	KindGroup: {builtinAPIVersions, []specProp{
		reqProp("type", nonEmptyString),
		optProp("profile", profileSchema),
		optProp("parent", nonEmptyString),
		reqProp("children", stringArray),
		optProp("members", stringArray),
	}},
	KindUser: {builtinAPIVersions, []specProp{
		optProp("profile", profileSchema),
		reqProp("memberOf", stringArray),
	}},
	KindLocation: {builtinAPIVersions, []specProp{
		optProp("type", nonEmptyString),
		optProp("target", nonEmptyString),
		optProp("targets", stringArray),
		optProp("presence", enumString("required", "optional")),
	}},
	KindTemplate: {[]string{APIVersionTemplate}, []specProp{
		reqProp("type", nonEmptyString),
		optProp("owner", nonEmptyString),
		optProp("lifecycle", nonEmptyString),
		optProp("parameters", templateParameters),
		reqProp("steps", arrayOf(templateStep)),
		optProp("output", templateOutput),
		optProp("presentation", objectWith(optProp("buttonLabels", objectWith(
			optProp("backButtonText", anyString),
			optProp("createButtonText", anyString),
			optProp("reviewButtonText", anyString),
		)))),
		optProp("secrets", objectWith(optProp("schema", anyObject))),
		optProp("EXPERIMENTAL_recovery", objectWith(optProp("EXPERIMENTAL_strategy", anyString))),
		optProp("EXPERIMENTAL_formDecorators", arrayOf(objectWith(
			optProp("id", anyString),
			optProp("input", anyObject),
		))),
	}},
}
