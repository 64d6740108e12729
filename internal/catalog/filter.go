package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Filter selects entities by their search rows (reference §1.6). A nil Filter matches every entity.
// Filters come from ParseFilterParams (the `filter` query parameter), ParsePredicate (the `query`
// body of the POST endpoints) or the FilterXxx constructors; they are immutable and safe to share.
type Filter interface {
	// String is the filter's JSON form, the one carried inside cursors.
	String() string
	node() *filterNode
}

type filterOp uint8

const (
	opAll    filterOp = iota // every child matches; no children matches everything
	opAny                    // some child matches; no children matches nothing
	opNot                    // the single child does not match
	opIn                     // some row of key has one of values
	opExists                 // some row of key exists, even a null one
	opPrefix                 // some non-null row of key starts with values[0]
)

// filterNode keeps keys and values lowercased, the way the search table stores them.
type filterNode struct {
	op     filterOp
	key    string
	values []string
	kids   []*filterNode
}

func (n *filterNode) node() *filterNode { return n }

func (n *filterNode) String() string {
	b, _ := json.Marshal(n)
	return string(b)
}

// MarshalJSON writes Backstage's EntityFilter shape ({"allOf"}, {"anyOf"}, {"not"},
// {"key","values"}), plus "hasPrefix" for the one predicate it cannot express.
func (n *filterNode) MarshalJSON() ([]byte, error) {
	switch n.op {
	case opAll:
		return json.Marshal(struct {
			AllOf []*filterNode `json:"allOf"`
		}{nonNil(n.kids)})
	case opAny:
		return json.Marshal(struct {
			AnyOf []*filterNode `json:"anyOf"`
		}{nonNil(n.kids)})
	case opNot:
		return json.Marshal(struct {
			Not *filterNode `json:"not"`
		}{n.kids[0]})
	case opIn:
		return json.Marshal(struct {
			Key    string   `json:"key"`
			Values []string `json:"values"`
		}{n.key, nonNil(n.values)})
	case opPrefix:
		return json.Marshal(struct {
			Key       string `json:"key"`
			HasPrefix string `json:"hasPrefix"`
		}{n.key, n.values[0]})
	default:
		return json.Marshal(struct {
			Key string `json:"key"`
		}{n.key})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeFilterJSON is the inverse of MarshalJSON, for filters read back from cursors.
func decodeFilterJSON(raw json.RawMessage, depth int) (*filterNode, error) {
	if depth > searchMaxDepth {
		return nil, errors.New("filter is nested too deeply")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New("filter must be an object")
	}
	kids := func(field string) ([]*filterNode, error) {
		var list []json.RawMessage
		if err := json.Unmarshal(obj[field], &list); err != nil {
			return nil, errors.New(field + " must be an array")
		}
		out := make([]*filterNode, 0, len(list))
		for _, r := range list {
			k, err := decodeFilterJSON(r, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
		return out, nil
	}
	switch {
	case len(obj) == 1 && obj["allOf"] != nil:
		k, err := kids("allOf")
		return &filterNode{op: opAll, kids: k}, err
	case len(obj) == 1 && obj["anyOf"] != nil:
		k, err := kids("anyOf")
		return &filterNode{op: opAny, kids: k}, err
	case len(obj) == 1 && obj["not"] != nil:
		k, err := decodeFilterJSON(obj["not"], depth+1)
		return &filterNode{op: opNot, kids: []*filterNode{k}}, err
	case obj["key"] != nil && len(obj) <= 2:
		var key string
		if err := json.Unmarshal(obj["key"], &key); err != nil {
			return nil, errors.New("key must be a string")
		}
		key = strings.ToLower(key)
		switch {
		case len(obj) == 1:
			return &filterNode{op: opExists, key: key}, nil
		case obj["values"] != nil:
			var values []string
			if err := json.Unmarshal(obj["values"], &values); err != nil {
				return nil, errors.New("values must be an array of strings")
			}
			return &filterNode{op: opIn, key: key, values: lowerAll(values)}, nil
		case obj["hasPrefix"] != nil:
			var p string
			if err := json.Unmarshal(obj["hasPrefix"], &p); err != nil {
				return nil, errors.New("hasPrefix must be a string")
			}
			return &filterNode{op: opPrefix, key: key, values: []string{strings.ToLower(p)}}, nil
		}
	}
	return nil, errors.New("unknown filter shape")
}

func lowerAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ToLower(v)
	}
	return out
}

// FilterKeyIn matches entities with a row for key whose value is one of values (case-insensitive).
func FilterKeyIn(key string, values ...string) Filter {
	return &filterNode{op: opIn, key: strings.ToLower(key), values: lowerAll(values)}
}

// FilterKeyExists matches entities that have key at all, with any value including null.
func FilterKeyExists(key string) Filter {
	return &filterNode{op: opExists, key: strings.ToLower(key)}
}

// FilterAllOf matches entities matched by every filter; nil filters are ignored.
func FilterAllOf(fs ...Filter) Filter {
	var kids []*filterNode
	for _, f := range fs {
		if f != nil {
			kids = append(kids, f.node())
		}
	}
	switch len(kids) {
	case 0:
		return nil
	case 1:
		return kids[0]
	}
	return &filterNode{op: opAll, kids: kids}
}

// FilterAnyOf matches entities matched by some filter; a nil filter among them matches everything,
// and no filters at all match nothing.
func FilterAnyOf(fs ...Filter) Filter {
	kids := make([]*filterNode, 0, len(fs))
	for _, f := range fs {
		if f == nil {
			return nil
		}
		kids = append(kids, f.node())
	}
	if len(kids) == 1 {
		return kids[0]
	}
	return &filterNode{op: opAny, kids: kids}
}

// FilterNot matches the entities f does not match; FilterNot(nil) matches nothing.
func FilterNot(f Filter) Filter {
	if f == nil {
		return &filterNode{op: opAny}
	}
	return &filterNode{op: opNot, kids: []*filterNode{f.node()}}
}

// FilterMatches evaluates f against one entity's search rows, as the index would.
func FilterMatches(f Filter, entries []SearchEntry) bool {
	if f == nil {
		return true
	}
	return f.node().matchRows(func(yield func(key, value string, null bool) bool) {
		for _, e := range entries {
			if !yield(e.Key, e.Value, e.Null) {
				return
			}
		}
	})
}

// rowSeq yields an entity's search rows; values are lowercased and "" when null.
type rowSeq func(yield func(key, value string, null bool) bool)

func (n *filterNode) matchRows(rows rowSeq) bool {
	switch n.op {
	case opAll:
		for _, k := range n.kids {
			if !k.matchRows(rows) {
				return false
			}
		}
		return true
	case opAny:
		for _, k := range n.kids {
			if k.matchRows(rows) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].matchRows(rows)
	}
	found := false
	rows(func(key, value string, null bool) bool {
		if key != n.key {
			return true
		}
		switch n.op {
		case opExists:
			found = true
		case opIn:
			found = !null && slices.Contains(n.values, value)
		case opPrefix:
			found = !null && strings.HasPrefix(value, n.values[0])
		}
		return !found
	})
	return found
}

// ParseFilterParams parses the repeated `filter` query parameter (reference §1.2): each value is a
// set of comma-separated statements that must all hold, and the sets are alternatives.
func ParseFilterParams(values []string) (Filter, error) {
	var sets []*filterNode
	for _, v := range values {
		set, err := parseFilterSet(v)
		if err != nil {
			return nil, err
		}
		if set != nil {
			sets = append(sets, set)
		}
	}
	switch len(sets) {
	case 0:
		return nil, nil
	case 1:
		return sets[0], nil
	}
	return &filterNode{op: opAny, kids: sets}, nil
}

func parseFilterSet(s string) (*filterNode, error) {
	type group struct {
		key    string
		values []string
		hasAny bool
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, stmt := range strings.Split(s, ",") {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" {
			continue
		}
		key, value, hasValue := strings.Cut(stmt, "=")
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, errs.E(errs.Invalid, "Invalid filter, '%s' is not a valid statement (expected a string on the form a=b or a= or a)", stmt)
		}
		// Backstage groups on the key as written, so only identically spelled keys are OR'd.
		g := byKey[key]
		if g == nil {
			g = &group{key: key}
			byKey[key] = g
			groups = append(groups, g)
		}
		if hasValue {
			g.values = append(g.values, strings.TrimSpace(value))
			g.hasAny = true
		}
	}
	if len(groups) == 0 {
		return nil, nil
	}
	kids := make([]*filterNode, len(groups))
	for i, g := range groups {
		// A value list already implies the key exists, so a bare key next to it adds nothing.
		if g.hasAny {
			kids[i] = &filterNode{op: opIn, key: strings.ToLower(g.key), values: lowerAll(g.values)}
		} else {
			kids[i] = &filterNode{op: opExists, key: strings.ToLower(g.key)}
		}
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &filterNode{op: opAll, kids: kids}, nil
}

// ParsePredicate parses a filter predicate (reference §1.5), the `query` of the POST endpoints.
// Empty input means no predicate and yields nil.
func ParsePredicate(raw json.RawMessage) (Filter, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errs.E(errs.Invalid, "Invalid filter predicate: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errs.E(errs.Invalid, "Invalid filter predicate: unexpected data after the predicate")
	}
	n, err := compilePredicate(v, "", 0)
	if err != nil {
		return nil, err
	}
	if n.op == opAll && len(n.kids) == 0 {
		return nil, nil
	}
	return n, nil
}

var logicalOperators = []string{"$all", "$any", "$not"}

// compilePredicate translates one predicate; prefix is the path of an enclosing $contains.
func compilePredicate(v any, prefix string, depth int) (*filterNode, error) {
	if depth > searchMaxDepth {
		return nil, errs.E(errs.Invalid, "Invalid filter predicate: nested too deeply")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		if s, ok := predicatePrimitive(v); ok {
			if prefix != "" {
				// Inside $contains a primitive is an element of the array at prefix.
				return &filterNode{op: opIn, key: strings.ToLower(prefix), values: []string{strings.ToLower(s)}}, nil
			}
			return nil, errs.E(errs.Invalid, "Invalid filter predicate: top-level primitive values are not supported. Wrap the value in a field expression, e.g. { \"kind\": %s }", jsonText(v))
		}
		return nil, errs.E(errs.Invalid, "Invalid filter predicate: expected an object, but got %s", jsonText(v))
	}
	for _, op := range logicalOperators {
		arg, ok := obj[op]
		if !ok {
			continue
		}
		if len(obj) != 1 {
			return nil, errs.E(errs.Invalid, "Invalid filter predicate: operator %s must be the only key in the predicate, wrap in $all to combine with other conditions", op)
		}
		if op == "$not" {
			k, err := compilePredicate(arg, prefix, depth+1)
			if err != nil {
				return nil, err
			}
			return &filterNode{op: opNot, kids: []*filterNode{k}}, nil
		}
		list, ok := arg.([]any)
		if !ok {
			return nil, errs.E(errs.Invalid, "Invalid filter predicate: operator %s expects an array, but got %s", op, jsonText(arg))
		}
		n := &filterNode{op: opAll}
		if op == "$any" {
			n.op = opAny
		}
		for _, item := range list {
			k, err := compilePredicate(item, prefix, depth+1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		}
		return n, nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic error messages
	n := &filterNode{op: opAll}
	for _, k := range keys {
		if strings.HasPrefix(k, "$") {
			return nil, errs.E(errs.Invalid, "Invalid filter predicate: unknown operator %q", k)
		}
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		kid, err := compileValuePredicate(path, k, obj[k], depth+1)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, kid)
	}
	if len(n.kids) == 1 {
		return n.kids[0], nil
	}
	return n, nil
}

// compileValuePredicate translates the matcher of one field; name is the field as the caller wrote
// it, for messages.
func compileValuePredicate(path, name string, v any, depth int) (*filterNode, error) {
	key := strings.ToLower(path)
	if s, ok := predicatePrimitive(v); ok {
		return &filterNode{op: opIn, key: key, values: []string{strings.ToLower(s)}}, nil
	}
	bad := func(what string) error {
		return errs.E(errs.Invalid, "Invalid filter predicate value for field %q: %s, but got %s", name, what, jsonText(v))
	}
	obj, ok := v.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, bad("expected a primitive value, $exists, $in, $hasPrefix, $startsWith or $contains operator")
	}
	for op, arg := range obj {
		switch op {
		case "$exists":
			b, ok := arg.(bool)
			if !ok {
				return nil, bad("$exists expects a boolean")
			}
			n := &filterNode{op: opExists, key: key}
			if !b {
				n = &filterNode{op: opNot, kids: []*filterNode{n}}
			}
			return n, nil
		case "$in":
			list, ok := arg.([]any)
			if !ok {
				return nil, bad("$in expects an array of primitive values")
			}
			values := make([]string, len(list))
			for i, item := range list {
				s, ok := predicatePrimitive(item)
				if !ok {
					return nil, bad("$in expects an array of primitive values")
				}
				values[i] = strings.ToLower(s)
			}
			return &filterNode{op: opIn, key: key, values: values}, nil
		case "$hasPrefix", "$startsWith":
			s, ok := arg.(string)
			if !ok {
				return nil, bad(op + " expects a string")
			}
			return &filterNode{op: opPrefix, key: key, values: []string{strings.ToLower(s)}}, nil
		case "$contains":
			// The search table flattens arrays without indices, so "some element matches" becomes
			// a match on rows under the array's path.
			return compilePredicate(arg, path, depth+1)
		}
	}
	return nil, bad("expected a primitive value, $exists, $in, $hasPrefix, $startsWith or $contains operator")
}

// predicatePrimitive returns the string a primitive compares as: numbers and booleans as their
// JavaScript String() form.
func predicatePrimitive(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	case json.Number:
		return numberLiteralString(string(t)), true
	}
	return "", false
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// ParseFields parses the `fields` parameter: comma-separated and/or repeated dotted paths. No paths
// yields nil, meaning whole entities.
func ParseFields(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	if slices.ContainsFunc(out, func(f string) bool { return strings.Contains(f, "[") }) {
		return nil, errs.E(errs.Invalid, "invalid fields, array type fields are not supported")
	}
	return out, nil
}

// Project keeps only the listed dotted paths of e. A path segment may itself contain dots
// (annotation names such as backstage.io/techdocs-ref), so segments are joined until they name an
// existing key; paths that do not resolve are left out. The result shares subtrees with e.
func Project(e Entity, fields []string) Entity {
	root := &projection{}
	for _, f := range fields {
		if path := resolveFieldPath(map[string]any(e), strings.Split(f, ".")); path != nil {
			root.add(path)
		}
	}
	out := root.build(map[string]any(e))
	return Entity(out)
}

// resolveFieldPath maps dot-separated parts to actual keys, preferring the shortest key at each
// level and backing off to longer ones when the rest does not resolve.
func resolveFieldPath(node map[string]any, parts []string) []string {
	for n := 1; n <= len(parts); n++ {
		key := strings.Join(parts[:n], ".")
		v, ok := node[key]
		if !ok {
			continue
		}
		if n == len(parts) {
			return []string{key}
		}
		if child, ok := v.(map[string]any); ok {
			if rest := resolveFieldPath(child, parts[n:]); rest != nil {
				return append([]string{key}, rest...)
			}
		}
	}
	return nil
}

// projection is a trie of kept key paths; whole marks a subtree kept entirely.
type projection struct {
	whole bool
	kids  map[string]*projection
}

func (p *projection) add(path []string) {
	for _, k := range path {
		if p.whole {
			return
		}
		if p.kids == nil {
			p.kids = map[string]*projection{}
		}
		next := p.kids[k]
		if next == nil {
			next = &projection{}
			p.kids[k] = next
		}
		p = next
	}
	p.whole, p.kids = true, nil
}

func (p *projection) build(node map[string]any) map[string]any {
	out := make(map[string]any, len(p.kids))
	for k, sub := range p.kids {
		v := node[k]
		if sub.whole {
			out[k] = v
		} else {
			out[k] = sub.build(v.(map[string]any))
		}
	}
	return out
}

// OrderField is one sort key of a listing: a search-table key, ascending unless Desc.
type OrderField struct {
	Field string
	Desc  bool
}

// orderParamPattern mirrors Backstage's /^(asc|desc):(.+)$/, whose '.' excludes line terminators.
var orderParamPattern = regexp.MustCompile(`^(asc|desc):([^\n\r\x{2028}\x{2029}]+)$`)

// ParseOrderParams parses the repeated `order` parameter of GET /entities ("asc:<field>").
func ParseOrderParams(values []string) ([]OrderField, error) {
	var out []OrderField
	for _, v := range values {
		m := orderParamPattern.FindStringSubmatch(v)
		if m == nil {
			return nil, errs.E(errs.Invalid, "Invalid order parameter \"%s\", expected \"<asc or desc>:<field name>\"", v)
		}
		out = append(out, OrderField{Field: m[2], Desc: m[1] == "desc"})
	}
	return out, nil
}

// ParseOrderFieldParams parses the repeated `orderField` parameter of the by-query endpoint
// ("<field>[,asc|desc]").
func ParseOrderFieldParams(values []string) ([]OrderField, error) {
	var out []OrderField
	for _, v := range values {
		parts := strings.Split(v, ",")
		f := OrderField{Field: parts[0]}
		if len(parts) > 1 {
			switch parts[1] {
			case "asc":
			case "desc":
				f.Desc = true
			default:
				return nil, errs.E(errs.Invalid, "Invalid order field order, must be asc or desc")
			}
		}
		out = append(out, f)
	}
	return out, nil
}
