package flags

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Reason is why a result has its value, with flagd's (and OpenFeature's) names.
type Reason string

const (
	ReasonStatic         Reason = "STATIC"
	ReasonTargetingMatch Reason = "TARGETING_MATCH"
	ReasonDefault        Reason = "DEFAULT"
	ReasonDisabled       Reason = "DISABLED"
	ReasonError          Reason = "ERROR"
)

// ErrorCode is an OpenFeature error code. flagd v0.16.1 never produces TARGETING_KEY_MISSING (a fractional rule
// without a targeting key falls back to the default variant), so neither does this evaluator; the code exists for
// the transport layers.
type ErrorCode string

const (
	ErrFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	ErrParse               ErrorCode = "PARSE_ERROR"
	ErrTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	ErrTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	ErrGeneral             ErrorCode = "GENERAL"
)

// Type is the value type a caller asks for; TypeAny is OFREP's untyped evaluation.
type Type int

const (
	TypeAny Type = iota
	TypeBoolean
	TypeString
	TypeInteger
	TypeFloat
	TypeObject
)

// Result is one evaluation. Value is nil when the caller's own default applies: the flag is disabled, has no
// default variant (code default, reason DEFAULT), or the evaluation failed (ErrorCode set, reason ERROR).
// For TypeInteger Value is an int64 (flagd truncates the float), for TypeFloat a float64, for TypeObject a
// map[string]any. Metadata is shared between results and must not be modified.
type Result struct {
	Key          string
	Value        any
	Variant      string
	Reason       Reason
	ErrorCode    ErrorCode
	ErrorDetails string
	Metadata     map[string]any
}

// Set is a compiled, immutable flag set, safe for concurrent use. Swap a whole Set to change flags.
type Set struct {
	flags    map[string]*compiledFlag
	keys     []string
	metadata map[string]any
	now      func() time.Time
}

type compiledFlag struct {
	key            string
	disabled       bool
	variants       map[string]any
	defaultVariant string
	hasDefault     bool
	rule           node
	metadata       map[string]any
}

// Option configures a Set.
type Option func(*Set)

// WithClock sets the clock behind $flagd.timestamp; the default is time.Now.
func WithClock(now func() time.Time) Option { return func(s *Set) { s.now = now } }

// Compile turns a parsed document into a Set, compiling every targeting rule once.
func Compile(doc *Document, opts ...Option) *Set {
	s := &Set{flags: make(map[string]*compiledFlag, len(doc.Flags)), metadata: doc.Metadata, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	for key, f := range doc.Flags {
		cf := &compiledFlag{key: key, disabled: f.State == Disabled, variants: f.Variants}
		if f.DefaultVariant != nil && *f.DefaultVariant != "" {
			cf.defaultVariant, cf.hasDefault = *f.DefaultVariant, true
		}
		if len(f.Targeting) > 0 {
			cf.rule = compile(f.Targeting)
		}
		// flagd overlays flag metadata on the set's, skipping nulls.
		md := make(map[string]any, len(doc.Metadata)+len(f.Metadata))
		for k, v := range doc.Metadata {
			md[k] = v
		}
		for k, v := range f.Metadata {
			if v != nil {
				md[k] = v
			}
		}
		cf.metadata = md
		s.flags[key] = cf
		s.keys = append(s.keys, key)
	}
	sort.Strings(s.keys)
	return s
}

// Load parses and compiles a flagd document; errors are Parse's.
func Load(data []byte, opts ...Option) (*Set, error) {
	doc, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return Compile(doc, opts...), nil
}

// Keys returns the flag keys in order.
func (s *Set) Keys() []string { return s.keys }

// Metadata returns the set-level metadata; it must not be modified.
func (s *Set) Metadata() map[string]any { return s.metadata }

// Evaluate resolves a flag without a requested type, as OFREP does.
func (s *Set) Evaluate(key string, ctx map[string]any) Result {
	return s.Resolve(key, TypeAny, ctx)
}

// EvaluateAll resolves every flag, ordered by key.
func (s *Set) EvaluateAll(ctx map[string]any) []Result {
	out := make([]Result, len(s.keys))
	for i, k := range s.keys {
		out[i] = s.Resolve(k, TypeAny, ctx)
	}
	return out
}

// Resolve evaluates a flag for a context and checks the value against the requested type (TYPE_MISMATCH). The
// context must hold JSON values; other Go values are converted through encoding/json as flagd does.
func (s *Set) Resolve(key string, typ Type, ctx map[string]any) Result {
	f, ok := s.flags[key]
	if !ok {
		return Result{Key: key, Reason: ReasonError, ErrorCode: ErrFlagNotFound, ErrorDetails: "flag " + quote(key) + " not found", Metadata: s.metadata}
	}
	r := Result{Key: key, Metadata: f.metadata}
	if f.disabled {
		r.Reason = ReasonDisabled
		return r
	}
	if f.rule == nil {
		if !f.hasDefault {
			r.Reason = ReasonDefault
			return r
		}
		r.Variant, r.Reason = f.defaultVariant, ReasonStatic
		return typed(r, f.variants[r.Variant], typ)
	}
	ctx, err := normaliseContext(ctx)
	if err != nil {
		return fail(r, ErrGeneral, "context is not JSON: "+err.Error())
	}
	sc := scope{ctx: ctx, flagKey: key, ts: s.now().Unix()}
	out, err := f.rule(&sc)
	if err != nil {
		return fail(r, ErrParse, "targeting: "+err.Error())
	}
	name, isNull, err := variantName(out)
	if err != nil {
		return fail(r, ErrParse, "targeting result: "+err.Error())
	}
	if isNull {
		r.Reason = ReasonDefault
		if !f.hasDefault {
			return r
		}
		r.Variant = f.defaultVariant
		return typed(r, f.variants[r.Variant], typ)
	}
	v, ok := f.variants[name]
	if !ok {
		return fail(r, ErrGeneral, "targeting returned "+quote(name)+", which is not a variant")
	}
	r.Variant, r.Reason = name, ReasonTargetingMatch
	return typed(r, v, typ)
}

func fail(r Result, code ErrorCode, details string) Result {
	r.Reason, r.ErrorCode, r.ErrorDetails, r.Variant, r.Value = ReasonError, code, details, "", nil
	return r
}

func typed(r Result, v any, typ Type) Result {
	ok := true
	switch typ {
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeString:
		_, ok = v.(string)
	case TypeFloat:
		_, ok = v.(float64)
	case TypeInteger:
		var f float64
		if f, ok = v.(float64); ok {
			v = int64(f)
		}
	case TypeObject:
		_, ok = v.(map[string]any)
	}
	if !ok {
		r.Reason, r.ErrorCode, r.ErrorDetails = ReasonError, ErrTypeMismatch, "variant "+quote(r.Variant)+" is "+jsonType(v)
		return r
	}
	r.Value = v
	return r
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// variantName turns a rule's result into a variant name the way flagd does: JSON-encode it (with HTML escaping),
// and strip every double quote, so true names "true" and 1 names "1".
func variantName(v any) (name string, isNull bool, err error) {
	switch t := v.(type) {
	case nil:
		return "", true, nil
	case bool:
		if t {
			return "true", false, nil
		}
		return "false", false, nil
	case string:
		if plainASCII(t) {
			return t, false, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, err
	}
	return strings.ReplaceAll(string(b), `"`, ""), false, nil
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// normaliseContext returns ctx unchanged when it already holds only what encoding/json decodes to; otherwise it
// round-trips it through JSON, which is what flagd does to every context.
func normaliseContext(ctx map[string]any) (map[string]any, error) {
	if ctx == nil {
		return map[string]any{}, nil
	}
	if jsonNative(ctx) {
		return ctx, nil
	}
	b, err := json.Marshal(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func jsonNative(x any) bool {
	switch t := x.(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(t)
	case float64:
		return !math.IsNaN(t) && !math.IsInf(t, 0)
	case []any:
		for _, e := range t {
			if !jsonNative(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for k, e := range t {
			if !utf8.ValidString(k) || !jsonNative(e) {
				return false
			}
		}
		return true
	}
	return false
}
