// Package flags holds Portal's feature flags: the flagd flag-definition model (schema 0.2.x), its validation, and a
// compiled evaluator whose results match flagd's reference evaluator (github.com/open-feature/flagd/core v0.16.1).
package flags

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// State says whether a flag is served. A disabled flag evaluates successfully with reason DISABLED and no value.
type State string

const (
	Enabled  State = "ENABLED"
	Disabled State = "DISABLED"
)

// Document is a flagd flag set: flags by key, shared evaluators and set-level metadata.
type Document struct {
	Flags map[string]Flag `json:"flags"`
	// Evaluators are the shared rules that targeting references with {"$ref": "name"}.
	Evaluators map[string]any `json:"$evaluators,omitempty"`
	Metadata   map[string]any `json:"metadata,omitempty"`
}

// Flag is one flag definition. Variant values all share one JSON type: bool, string, number (float64) or object.
type Flag struct {
	State    State          `json:"state"`
	Variants map[string]any `json:"variants"`
	// DefaultVariant is nil when the document says null or nothing: the caller's code default is then served.
	DefaultVariant *string `json:"defaultVariant"`
	// Targeting is the JSON Logic rule with every {"$ref"} already replaced; nil or an empty object means none.
	Targeting map[string]any `json:"targeting,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// ValidationError lists every problem found in a document; each message names the flag and the field.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid flag set: " + e.Problems[0]
	}
	return fmt.Sprintf("invalid flag set: %d problems: %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// Parse decodes and validates a flagd flag-set document. It never evaluates targeting, and returns a
// *ValidationError naming the flag and field when the document breaks the schema or would make flagd refuse it:
// a missing or unknown state, no variants, variants of mixed types, a defaultVariant that is not one of the
// variants, targeting that is not an object, a $ref to a missing evaluator, an operator the evaluator does not
// support, or metadata values that are not primitives. Evaluators are substituted for their $ref the way flagd
// does it: over the whole flags section, one level deep.
func Parse(data []byte) (*Document, error) {
	return parse(data, true)
}

// parse with strict false accepts operators that only fail when evaluated, as flagd does; tests use it to compare
// those failures with the reference.
func parse(data []byte, strict bool) (*Document, error) {
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, &ValidationError{Problems: []string{"not a JSON object: " + err.Error()}}
	}
	if dec.More() {
		return nil, &ValidationError{Problems: []string{"trailing data after the JSON object"}}
	}
	if raw == nil {
		return nil, &ValidationError{Problems: []string{"not a JSON object"}}
	}
	v := &validator{}
	doc := &Document{Flags: map[string]Flag{}}

	if ev, ok := raw["$evaluators"]; ok && ev != nil {
		m, ok := ev.(map[string]any)
		if !ok {
			v.addf("$evaluators: must be an object")
		} else {
			doc.Evaluators = m
			for _, name := range sortedKeys(m) {
				if enc, _ := json.Marshal(name); string(enc) != `"`+name+`"` {
					v.addf("$evaluators %q: name must not contain characters that JSON escapes", name)
				} else if _, isMap := m[name].(map[string]any); !isMap {
					v.addf("$evaluators %q: must be a JSON Logic object", name)
				} else if len(m[name].(map[string]any)) == 0 {
					v.addf("$evaluators %q: must not be empty", name)
				} else if refName, has := findRef(m[name]); has {
					v.addf("$evaluators %q: refers to evaluator %q; evaluators cannot refer to other evaluators", name, refName)
				}
			}
		}
	}
	if md, ok := raw["metadata"]; ok && md != nil {
		m, ok := md.(map[string]any)
		if !ok {
			v.addf("metadata: must be an object")
		} else {
			v.checkMetadata("metadata", m)
			doc.Metadata = m
		}
	}

	flagsRaw, ok := raw["flags"]
	if !ok {
		v.addf("flags: required")
		return nil, v.err()
	}
	flagsMap, ok := flagsRaw.(map[string]any)
	if !ok {
		v.addf("flags: must be an object keyed by flag key")
		return nil, v.err()
	}
	for _, key := range sortedKeys(flagsMap) {
		f, ok := v.flag(key, substituteRefs(flagsMap[key], doc.Evaluators), strict)
		if ok {
			doc.Flags[key] = f
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return doc, nil
}

type validator struct{ problems []string }

func (v *validator) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (v *validator) checkMetadata(where string, m map[string]any) {
	for _, k := range sortedKeys(m) {
		switch m[k].(type) {
		case string, bool, float64, nil:
		default:
			v.addf("%s: %q must be a string, number or boolean", where, k)
		}
	}
}

func (v *validator) flag(key string, raw any, strict bool) (Flag, bool) {
	before := len(v.problems)
	var f Flag
	if key == "" {
		v.addf("flag \"\": key must not be empty")
	}
	m, ok := raw.(map[string]any)
	if !ok {
		v.addf("flag %q: must be an object", key)
		return f, false
	}
	for _, field := range sortedKeys(m) {
		switch field {
		case "state", "variants", "defaultVariant", "targeting", "metadata":
		default:
			v.addf("flag %q: unknown field %q", key, field)
		}
	}
	switch s := m["state"].(type) {
	case string:
		if s != string(Enabled) && s != string(Disabled) {
			v.addf("flag %q: state %q must be ENABLED or DISABLED", key, s)
		}
		f.State = State(s)
	case nil:
		v.addf("flag %q: state is required", key)
	default:
		v.addf("flag %q: state must be the string ENABLED or DISABLED", key)
	}

	variants, ok := m["variants"].(map[string]any)
	switch {
	case m["variants"] == nil:
		v.addf("flag %q: variants are required", key)
	case !ok:
		v.addf("flag %q: variants must be an object of name to value", key)
	case len(variants) == 0:
		v.addf("flag %q: variants must name at least one variant", key)
	default:
		f.Variants = variants
		var firstName, firstType string
		for _, name := range sortedKeys(variants) {
			t := jsonType(variants[name])
			if t == "null" || t == "array" {
				v.addf("flag %q: variant %q is %s; variants must be boolean, string, number or object", key, name, t)
				continue
			}
			if firstType == "" {
				firstName, firstType = name, t
			} else if t != firstType {
				v.addf("flag %q: variant %q is %s but variant %q is %s; all variants must have one type", key, name, t, firstName, firstType)
			}
		}
	}

	switch dv := m["defaultVariant"].(type) {
	case nil:
	case string:
		// flagd treats "" like an absent default and does not check it against the variants.
		if dv != "" {
			if _, ok := variants[dv]; !ok && variants != nil {
				v.addf("flag %q: defaultVariant %q is not one of its variants", key, dv)
			}
			f.DefaultVariant = &dv
		}
	default:
		v.addf("flag %q: defaultVariant must be a string or null", key)
	}

	if t, present := m["targeting"]; present {
		switch tm := t.(type) {
		case map[string]any:
			if name, has := findRef(tm); has {
				v.addf("flag %q: targeting refers to evaluator %q, which $evaluators does not define", key, name)
			} else if err := checkRule(tm, strict); err != nil {
				v.addf("flag %q: targeting: %v", key, err)
			}
			f.Targeting = tm
		default:
			v.addf("flag %q: targeting must be a JSON Logic object", key)
		}
	}
	if md, present := m["metadata"]; present && md != nil {
		mm, ok := md.(map[string]any)
		if !ok {
			v.addf("flag %q: metadata must be an object", key)
		} else {
			v.checkMetadata(fmt.Sprintf("flag %q: metadata", key), mm)
			f.Metadata = mm
		}
	}
	return f, len(v.problems) == before
}

func jsonType(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", x)
}

// refName reports whether x is exactly {"$ref": "<name>"}, the literal flagd substitutes.
func refName(x any) (string, bool) {
	m, ok := x.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	name, ok := m["$ref"].(string)
	return name, ok
}

// findRef finds a {"$ref"} left anywhere in x, i.e. one that was not substituted.
func findRef(x any) (string, bool) {
	if name, ok := refName(x); ok {
		return name, true
	}
	switch t := x.(type) {
	case map[string]any:
		for _, k := range sortedKeys(t) {
			if name, ok := findRef(t[k]); ok {
				return name, true
			}
		}
	case []any:
		for _, e := range t {
			if name, ok := findRef(e); ok {
				return name, true
			}
		}
	}
	return "", false
}

// substituteRefs replaces every {"$ref": name} naming a known evaluator with a copy of that evaluator. flagd does
// this by string replacement over the normalised document, which amounts to the same structural replacement for
// names that JSON does not escape.
func substituteRefs(x any, evaluators map[string]any) any {
	if len(evaluators) == 0 {
		return x
	}
	if name, ok := refName(x); ok {
		if ev, found := evaluators[name]; found {
			if _, isMap := ev.(map[string]any); isMap {
				return deepCopy(ev)
			}
		}
		return x
	}
	switch t := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = substituteRefs(e, evaluators)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = substituteRefs(e, evaluators)
		}
		return out
	}
	return x
}

func deepCopy(x any) any {
	switch t := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	}
	return x
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
