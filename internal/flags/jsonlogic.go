package flags

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/twmb/murmur3"
	"golang.org/x/mod/semver"
)

// The JSON Logic dialect here is the one flagd v0.16.1 runs: github.com/diegoholiveira/jsonlogic/v3 v3.9.1 plus
// flagd's fractional, sem_ver, starts_with and ends_with. Rules are compiled once into closures; every quirk of
// that library (string coercions, what makes it panic, how `if` re-applies a map result) is reproduced on purpose,
// because results must be identical to flagd's. Where the library panics, a node returns a *ruleError, which the
// evaluator reports as PARSE_ERROR just as flagd does.

type ruleError struct{ msg string }

func (e *ruleError) Error() string { return e.msg }

func failf(format string, args ...any) error { return &ruleError{msg: fmt.Sprintf(format, args...)} }

// scope is the data a rule reads: the caller's context plus flagd's "$flagd" properties, materialised lazily so
// that the common case never clones the context.
//
// Inside map, filter, reduce, all, none and some the library evaluates the inner rule with an array element (or
// reduce's {"current", "accumulator", "valueType"} object) as its whole data; bound is then set and data holds it.
// Those operators rebind the scope in place and restore it when they return, so iterating allocates nothing.
type scope struct {
	ctx     map[string]any
	flagKey string
	ts      int64
	flagd   map[string]any
	bound   bool
	data    any
}

// bind makes data the whole of what rules read, returning what restore needs to undo it.
func (s *scope) bind(data any) (prev any, wasBound bool) {
	prev, wasBound = s.data, s.bound
	s.data, s.bound = data, true
	return prev, wasBound
}

func (s *scope) restore(prev any, wasBound bool) { s.data, s.bound = prev, wasBound }

func (s *scope) flagdProps() map[string]any {
	if s.flagd == nil {
		s.flagd = map[string]any{"flagKey": s.flagKey, "timestamp": float64(s.ts)}
	}
	return s.flagd
}

func (s *scope) whole() any {
	if s.bound {
		return s.data
	}
	m := make(map[string]any, len(s.ctx)+1)
	for k, v := range s.ctx {
		m[k] = v
	}
	m["$flagd"] = s.flagdProps()
	return m
}

func (s *scope) root(part string) any {
	if part == "$flagd" {
		return s.flagdProps()
	}
	return s.ctx[part]
}

type node func(s *scope) (any, error)

func constant(v any) node { return func(*scope) (any, error) { return v, nil } }

// supportedOps are the operators compile understands; checkRule refuses others so no rule can silently differ.
var supportedOps = map[string]bool{
	"and": true, "or": true, "if": true, "?:": true, "!": true, "!!": true,
	"==": true, "===": true, "!=": true, "!==": true, "<": true, "<=": true, ">": true, ">=": true,
	"in": true, "cat": true, "substr": true, "merge": true, "missing": true, "missing_some": true, "var": true,
	"+": true, "-": true, "*": true, "/": true, "%": true, "min": true, "max": true, "abs": true,
	"contains_all": true, "contains_any": true, "contains_none": true, "set": true,
	"map": true, "filter": true, "reduce": true, "all": true, "none": true, "some": true,
	"fractional": true, "sem_ver": true, "starts_with": true, "ends_with": true,
}

// arrayOps rebind the data their inner rule reads to each element of an array.
var arrayOps = map[string]bool{"map": true, "filter": true, "reduce": true, "all": true, "none": true, "some": true}

// checkRule walks the operators a rule can reach. With strict false, unknown operators pass, to fail only when
// evaluated (PARSE_ERROR), which is flagd's behaviour.
func checkRule(x any, strict bool) error { return checkRuleIn(x, strict, false) }

func checkRuleIn(x any, strict, inArrayOp bool) error {
	switch t := x.(type) {
	case map[string]any:
		if len(t) != 1 {
			if inArrayOp && strict && ambiguousVar(t) {
				return errAmbiguousVar
			}
			return nil
		}
		for op, args := range t {
			if strict && !supportedOps[op] {
				return fmt.Errorf("unknown operator %q", op)
			}
			// solveVars does not look inside a var's own argument.
			return checkRuleIn(args, strict, op != "var" && (inArrayOp || arrayOps[op]))
		}
	case []any:
		for _, e := range t {
			if err := checkRuleIn(e, strict, inArrayOp); err != nil {
				return err
			}
		}
	}
	return nil
}

// errAmbiguousVar refuses what the library's solveVars does not do deterministically: it walks an object that has a
// "var" key and other keys in Go's random map order, returning at the "var" key, so which of the other keys it
// visits (and whether their lookups fail) varies from run to run in flagd.
var errAmbiguousVar = errors.New(`an object with a "var" key and other keys inside map, filter, reduce, all, none or some is not supported`)

// ambiguousVar reports whether solveVars, walking x, can meet an object with a "var" key and other keys.
func ambiguousVar(x any) bool {
	switch t := x.(type) {
	case map[string]any:
		if _, hasVar := t["var"]; hasVar {
			return len(t) > 1
		}
		for _, v := range t {
			if ambiguousVar(v) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if ambiguousVar(e) {
				return true
			}
		}
	}
	return false
}

// compile mirrors the library's parseValues: primitives are themselves, a one-key object is an operation, other
// objects are literals, and arrays are evaluated element by element.
func compile(x any) node {
	switch t := x.(type) {
	case map[string]any:
		if len(t) != 1 {
			if len(t) == 0 {
				return func(*scope) (any, error) { return map[string]any{}, nil }
			}
			return constant(t)
		}
		for op, args := range t {
			return compileOp(op, args)
		}
	case []any:
		if len(t) == 0 {
			return constant(t)
		}
		elems := make([]node, len(t))
		allConst := true
		for i, e := range t {
			elems[i] = compile(e)
			if !isLiteral(e) {
				allConst = false
			}
		}
		if allConst {
			return constant(t)
		}
		return func(s *scope) (any, error) {
			out := make([]any, len(elems))
			for i, e := range elems {
				v, err := e(s)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return out, nil
		}
	}
	return constant(x)
}

// isLiteral reports whether evaluating x can only ever yield x itself.
func isLiteral(x any) bool {
	switch t := x.(type) {
	case map[string]any:
		return len(t) > 1
	case []any:
		for _, e := range t {
			if !isLiteral(e) {
				return false
			}
		}
		return true
	}
	return true
}

// applyDynamic is the library's apply() on a value produced at evaluation time, which `if` does to map results.
func applyDynamic(v any, s *scope) (any, error) {
	m := v.(map[string]any)
	if len(m) > 1 {
		return m, nil
	}
	if len(m) == 0 {
		return map[string]any{}, nil
	}
	for op, args := range m {
		return compileOp(op, args)(s)
	}
	return nil, nil
}

func listOf(n node) func(s *scope) ([]any, error) {
	return func(s *scope) ([]any, error) {
		v, err := n(s)
		if err != nil {
			return nil, err
		}
		l, ok := v.([]any)
		if !ok {
			return nil, failf("arguments must be an array")
		}
		return l, nil
	}
}

func compileOp(op string, args any) node {
	switch op {
	case "var":
		return compileVar(args)
	case "and", "or":
		return compileAndOr(op == "and", args)
	case "if", "?:":
		return compileIf(args)
	case "!":
		a := compile(args)
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return negate(v), nil
		}
	case "!!":
		a := compile(args)
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return !negate(v), nil
		}
	case "===", "!==":
		a := compile(args)
		want := op == "==="
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return hardEquals(v) == want, nil
		}
	case "==", "!=", "<", "<=", ">", ">=":
		return compileCompare(op, args)
	case "in":
		return compileIn(args)
	case "cat":
		return compileCat(args)
	case "substr":
		l := listOf(compile(args))
		return func(s *scope) (any, error) {
			p, err := l(s)
			if err != nil {
				return nil, err
			}
			return substr(p)
		}
	case "merge":
		a := compile(args)
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return merge(v)
		}
	case "missing":
		a := compile(args)
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return missing(v, s)
		}
	case "missing_some":
		l := listOf(compile(args))
		return func(s *scope) (any, error) {
			p, err := l(s)
			if err != nil {
				return nil, err
			}
			return missingSome(p, s)
		}
	case "+", "-", "*", "/", "%", "min", "max", "abs":
		return compileMath(op, args)
	case "contains_all", "contains_any", "contains_none":
		a := compile(args)
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return containsOp(op, v)
		}
	case "map", "filter":
		return compileMapFilter(op == "filter", args)
	case "reduce":
		return compileReduce(args)
	case "all", "none", "some":
		return compileQuantifier(op, args)
	case "set":
		return compileSet(args)
	case "fractional":
		a := compile(args)
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return fractional(v, s), nil
		}
	case "sem_ver":
		a := compile(args)
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return semVer(v), nil
		}
	case "starts_with", "ends_with":
		a := compile(args)
		prefix := op == "starts_with"
		return func(s *scope) (any, error) {
			v, err := a(s)
			if err != nil {
				return nil, err
			}
			return stringCompare(v, prefix), nil
		}
	}
	return func(*scope) (any, error) { return nil, failf("the operator %q is not supported", op) }
}

// --- var ---

func compileVar(args any) node {
	if path, ok := args.(string); ok {
		if path == "" {
			return func(s *scope) (any, error) { return s.whole(), nil }
		}
		parts := splitPath(path)
		return func(s *scope) (any, error) { return lookup(s, parts, nil), nil }
	}
	if l, ok := args.([]any); ok && len(l) >= 1 && isLiteral(l) {
		if path, isStr := l[0].(string); isStr && path != "" {
			var def any
			if len(l) == 2 {
				def = l[1]
			}
			parts := splitPath(path)
			return func(s *scope) (any, error) { return lookup(s, parts, def), nil }
		}
	}
	a := compile(args)
	return func(s *scope) (any, error) {
		v, err := a(s)
		if err != nil {
			return nil, err
		}
		return getVar(v, s)
	}
}

func splitPath(path string) []string {
	var parts []string
	for _, p := range strings.Split(path, ".") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

func getVar(v any, s *scope) (any, error) {
	if v == nil {
		// The library returns the data itself when it is a primitive, which only an array element can be.
		if s.bound && isPrimitive(s.data) {
			return s.data, nil
		}
		return nil, nil
	}
	if str, ok := v.(string); ok && str == "" {
		return s.whole(), nil
	}
	if isNumber(v) {
		v, _ = toString(v)
	}
	var def any
	if l, ok := v.([]any); ok {
		if len(l) == 0 {
			return s.whole(), nil
		}
		if len(l) == 2 {
			def = l[1]
		}
		str, ok := l[0].(string)
		if !ok {
			return nil, failf("var: path must be a string")
		}
		v = str
	}
	path, ok := v.(string)
	if !ok {
		return nil, failf("var: path must be a string")
	}
	return lookup(s, splitPath(path), def), nil
}

func lookup(s *scope, parts []string, def any) any {
	var cur any
	if s.bound {
		if s.data == nil {
			return def
		}
		cur = s.data
	} else {
		if len(parts) == 0 {
			return s.whole()
		}
		if cur = s.root(parts[0]); cur == nil {
			return def
		}
		parts = parts[1:]
	}
	for _, part := range parts {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			f, _ := strconv.ParseFloat(part, 64)
			pos := int(f)
			if pos < 0 || pos >= len(c) {
				return def
			}
			cur = c[pos]
		default:
			return def
		}
		if cur == nil {
			return def
		}
	}
	return cur
}

// --- logic ---

func compileAndOr(isAnd bool, args any) node {
	l, ok := args.([]any)
	if !ok {
		return func(*scope) (any, error) { return nil, failf("and/or: arguments must be an array") }
	}
	elems := make([]node, len(l))
	for i, e := range l {
		elems[i] = compile(e)
	}
	return func(s *scope) (any, error) {
		var last any
		for _, e := range elems {
			v, err := e(s)
			if err != nil {
				return nil, err
			}
			last = v
			if isTrue(v) != isAnd {
				return v, nil
			}
		}
		return last, nil
	}
}

func compileIf(args any) node {
	l, ok := args.([]any)
	if !ok {
		return func(*scope) (any, error) { return nil, failf("if: arguments must be an array") }
	}
	clauses := make([]node, len(l))
	for i, e := range l {
		clauses[i] = compile(e)
	}
	clause := func(n node, s *scope) (any, error) {
		v, err := n(s)
		if err != nil {
			return nil, err
		}
		if _, isMap := v.(map[string]any); isMap {
			return applyDynamic(v, s)
		}
		return v, nil
	}
	n := len(clauses)
	return func(s *scope) (any, error) {
		if n == 0 {
			return nil, nil
		}
		for i := 0; i < n-1; i += 2 {
			c, err := clauses[i](s)
			if err != nil {
				return nil, err
			}
			if isTrue(c) {
				return clause(clauses[i+1], s)
			}
		}
		if n%2 == 1 {
			return clause(clauses[n-1], s)
		}
		return nil, nil
	}
}

func negate(v any) bool {
	if l, ok := v.([]any); ok && len(l) > 0 {
		return !isTrue(l[0])
	}
	return !isTrue(v)
}

// --- comparison ---

func hardEquals(v any) bool {
	p, ok := v.([]any)
	if !ok || len(p) < 2 {
		return false
	}
	a, b := p[0], p[1]
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if kind(a) != kind(b) {
		return false
	}
	return equals(a, b)
}

// kind is reflect.Kind for the types JSON Logic values can have.
func kind(x any) int {
	switch x.(type) {
	case bool:
		return 1
	case string:
		return 2
	case float64:
		return 3
	case int:
		return 4
	case map[string]any:
		return 5
	case []any:
		return 6
	}
	return 0
}

func compileCompare(op string, args any) node {
	l := listOf(compile(args))
	return func(s *scope) (any, error) {
		p, err := l(s)
		if err != nil {
			return nil, err
		}
		if len(p) < 2 {
			if op == "!=" {
				return true, nil
			}
			return false, nil
		}
		a, b := p[0], p[1]
		three := len(p) == 3
		switch op {
		case "==":
			return equals(a, b), nil
		case "!=":
			return !equals(a, b), nil
		case "<":
			if three {
				return less(a, b) && less(b, p[2]), nil
			}
			return less(a, b), nil
		case "<=":
			if three {
				c := p[2]
				return (less(a, b) || equals(a, b)) && (less(b, c) || equals(b, c)), nil
			}
			return less(a, b) || equals(a, b), nil
		case ">":
			if three {
				return less(p[2], b) && less(b, a), nil
			}
			return less(b, a), nil
		default: // ">="
			if three {
				c := p[2]
				return (less(c, b) || equals(c, b)) && (less(b, a) || equals(b, a)), nil
			}
			return less(b, a) || equals(b, a), nil
		}
	}
}

func less(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return bs > as
	}
	return jsNumber(b) > jsNumber(a)
}

func equals(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return as == bs
	}
	return jsNumber(a) == jsNumber(b)
}

func compileIn(args any) node {
	l := listOf(compile(args))
	return func(s *scope) (any, error) {
		p, err := l(s)
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return nil, failf("in: needs arguments")
		}
		a := p[0]
		var b any
		if len(p) > 1 {
			b = p[1]
		}
		if bs, ok := b.(string); ok {
			as, ok := a.(string)
			if !ok {
				return nil, failf("in: needle must be a string")
			}
			return strings.Contains(bs, as), nil
		}
		bl, ok := b.([]any)
		if !ok {
			return false, nil
		}
		for _, el := range bl {
			if r, isList := el.([]any); isList {
				if len(r) < 2 {
					return nil, failf("in: range needs two bounds")
				}
				x, err := typingNumber(a)
				if err != nil {
					return nil, err
				}
				lo, err := typingNumber(r[0])
				if err != nil {
					return nil, err
				}
				if !(x >= lo) {
					continue
				}
				hi, err := typingNumber(r[1])
				if err != nil {
					return nil, err
				}
				if hi >= x {
					return true, nil
				}
				continue
			}
			if isNumber(a) {
				n, err := typingNumber(el)
				if err != nil {
					return nil, err
				}
				if any(n) == a {
					return true, nil
				}
				continue
			}
			_, am := a.(map[string]any)
			_, em := el.(map[string]any)
			if am && em {
				return nil, failf("in: cannot compare objects")
			}
			if el == a {
				return true, nil
			}
		}
		return false, nil
	}
}

// --- strings ---

func compileCat(args any) node {
	a := compile(args)
	return func(s *scope) (any, error) {
		v, err := a(s)
		if err != nil {
			return nil, err
		}
		if str, ok := v.(string); ok {
			return str, nil
		}
		l, ok := v.([]any)
		if !ok {
			return nil, failf("cat: arguments must be an array")
		}
		switch len(l) {
		case 0:
			return "", nil
		case 1:
			return toString(l[0])
		}
		var b strings.Builder
		for _, x := range l {
			str, err := toString(x)
			if err != nil {
				return nil, err
			}
			b.WriteString(str)
		}
		return strings.TrimSpace(b.String()), nil
	}
}

func substr(p []any) (any, error) {
	if len(p) < 2 {
		return nil, failf("substr: needs a string and a start")
	}
	str, err := toString(p[0])
	if err != nil {
		return nil, err
	}
	runes := []rune(str)
	f, err := typingNumber(p[1])
	if err != nil {
		return nil, err
	}
	from := int(f)
	length := len(runes)
	if from < 0 {
		from = length + from
	}
	if from < 0 || from > length {
		return string(runes), nil
	}
	if len(p) == 3 {
		n, err := typingNumber(p[2])
		if err != nil {
			return nil, err
		}
		length = int(n)
	}
	var to int
	if length < 0 {
		length = len(runes) + length
		to = length
	} else {
		to = from + length
	}
	if to > len(runes) {
		to = len(runes)
	}
	if to < from {
		return nil, failf("substr: slice bounds out of range")
	}
	return string(runes[from:to]), nil
}

func stringCompare(v any, prefix bool) any {
	p, ok := v.([]any)
	if !ok || len(p) != 2 {
		return nil
	}
	a, ok := p[0].(string)
	if !ok {
		return nil
	}
	b, ok := p[1].(string)
	if !ok {
		return nil
	}
	if prefix {
		return strings.HasPrefix(a, b)
	}
	return strings.HasSuffix(a, b)
}

// --- arrays ---

func merge(v any) (any, error) {
	if isPrimitive(v) {
		return []any{v}, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, failf("merge: arguments must be an array")
	}
	if len(l) == 0 {
		return l, nil
	}
	out := make([]any, 0, len(l))
	for _, x := range l {
		if xl, ok := x.([]any); ok {
			out = append(out, xl...)
		} else {
			out = append(out, x)
		}
	}
	return out, nil
}

func missing(v any, s *scope) (any, error) {
	if str, ok := v.(string); ok {
		v = []any{str}
	}
	l, ok := v.([]any)
	if !ok {
		return nil, failf("missing: arguments must be an array")
	}
	out := make([]any, 0)
	for _, name := range l {
		got, err := getVar(name, s)
		if err != nil {
			return nil, err
		}
		if got == nil {
			out = append(out, name)
		}
	}
	return out, nil
}

func missingSome(p []any, s *scope) (any, error) {
	if len(p) < 2 {
		return nil, failf("missing_some: needs a count and names")
	}
	n, err := typingNumber(p[0])
	if err != nil {
		return nil, err
	}
	names, ok := p[1].([]any)
	if !ok {
		return nil, failf("missing_some: names must be an array")
	}
	miss, found := make([]any, 0), 0
	for _, name := range names {
		got, err := getVar(name, s)
		if err != nil {
			return nil, err
		}
		if got == nil {
			miss = append(miss, name)
		} else {
			found++
		}
	}
	if int(n) > found {
		return miss, nil
	}
	return make([]any, 0), nil
}

func containsOp(op string, v any) (any, error) {
	none := op == "contains_none"
	p, ok := v.([]any)
	if !ok || len(p) != 2 {
		return none, nil
	}
	search, ok1 := p[0].([]any)
	check, ok2 := p[1].([]any)
	if !ok1 || !ok2 {
		return none, nil
	}
	contains := func(x any) (bool, error) {
		for _, item := range search {
			eq, err := looseEqual(item, x)
			if err != nil || eq {
				return eq, err
			}
		}
		return false, nil
	}
	for _, x := range check {
		found, err := contains(x)
		if err != nil {
			return nil, err
		}
		switch {
		case op == "contains_all" && !found:
			return false, nil
		case op == "contains_any" && found:
			return true, nil
		case none && found:
			return false, nil
		}
	}
	return op != "contains_any", nil
}

// looseEqual is the library's isEqualValue, including Go's panic when comparing two objects or two arrays.
func looseEqual(a, b any) (bool, error) {
	_, am := a.(map[string]any)
	_, bm := b.(map[string]any)
	_, al := a.([]any)
	_, bl := b.([]any)
	if (am && bm) || (al && bl) {
		return false, failf("cannot compare objects or arrays")
	}
	if a == b {
		return true, nil
	}
	if isNumber(a) && isNumber(b) {
		x, _ := typingNumber(a)
		y, _ := typingNumber(b)
		return x == y, nil
	}
	return false, nil
}

// --- math ---

func compileMath(op string, args any) node {
	a := compile(args)
	return func(s *scope) (any, error) {
		v, err := a(s)
		if err != nil {
			return nil, err
		}
		l, isList := v.([]any)
		switch op {
		case "+":
			if !isList {
				return typingNumber(v)
			}
			sum := float64(0)
			for _, x := range l {
				n, err := typingNumber(x)
				if err != nil {
					return nil, err
				}
				sum += n
			}
			return sum, nil
		case "abs":
			if isList {
				if len(l) == 0 {
					return nil, failf("abs: needs an argument")
				}
				v = l[0]
			}
			n, err := typingNumber(v)
			if err != nil {
				return nil, err
			}
			return math.Abs(n), nil
		}
		if !isList {
			return nil, failf("%s: arguments must be an array", op)
		}
		nums := make([]float64, len(l))
		for i, x := range l {
			if nums[i], err = typingNumber(x); err != nil {
				if op == "%" && i >= 2 {
					nums[i] = 0
					continue
				}
				return nil, err
			}
		}
		switch op {
		case "-":
			switch len(nums) {
			case 0:
				return 0, nil
			case 1:
				return -1 * nums[0], nil
			}
			r := nums[0]
			for _, n := range nums[1:] {
				r -= n
			}
			return r, nil
		case "*":
			r := float64(1)
			for _, n := range nums {
				r *= n
			}
			return r, nil
		case "/":
			if len(nums) == 0 {
				return 0, nil
			}
			r := nums[0]
			for _, n := range nums[1:] {
				r /= n
			}
			return r, nil
		case "%":
			if len(nums) < 2 {
				return nil, failf("%%: needs two arguments")
			}
			return math.Mod(nums[0], nums[1]), nil
		case "max", "min":
			if len(nums) == 0 {
				return nil, nil
			}
			r := nums[0]
			for _, n := range nums[1:] {
				if (op == "max" && n > r) || (op == "min" && r > n) {
					r = n
				}
			}
			return r, nil
		}
		return nil, failf("unknown operator %q", op)
	}
}

// --- flagd operations ---

const maxWeightSum = math.MaxInt32

// fractional is flagd's v2 bucketing: murmur3 x86_32 of the bucketing value, scaled into the total weight with
// (h*total)>>32, then the first variant whose cumulative weight exceeds the bucket. Any malformed input gives null,
// so the flag falls back to its default variant.
func fractional(v any, s *scope) any {
	args, ok := v.([]any)
	if !ok || len(args) < 1 {
		return nil
	}
	data, flagKey := s.ctx, s.flagKey
	if s.bound {
		// Inside an array operator flagd reads the element, which must be an object, and its "$flagd".
		m, isMap := s.data.(map[string]any)
		if !isMap {
			return nil
		}
		data, flagKey = m, ""
	}
	bucketBy, ok := args[0].(string)
	if ok {
		args = args[1:]
	} else {
		if args[0] == nil {
			args = args[1:]
		}
		tk := data["targetingKey"]
		if tk == nil {
			return nil
		}
		key, ok := tk.(string)
		if !ok || key == "" {
			return nil
		}
		if s.bound {
			flagKey = flagdKeyOf(data)
		}
		bucketBy = flagKey + key
	}
	type weighted struct {
		variant any
		weight  int64
	}
	dist := make([]weighted, len(args))
	var total int64
	for i, d := range args {
		dl, ok := d.([]any)
		if !ok || len(dl) == 0 {
			return nil
		}
		switch dl[0].(type) {
		case string, bool, float64, nil:
		default:
			return nil
		}
		weight := int64(1)
		if len(dl) >= 2 {
			w, ok := dl[1].(float64)
			if !ok && dl[1] != nil {
				return nil
			}
			if ok {
				weight = int64(w)
				if w != float64(int64(w)) {
					return nil
				}
			}
		}
		if weight > math.MaxInt32 {
			return nil
		}
		if weight < 0 {
			weight = 0
		}
		total += weight
		dist[i] = weighted{variant: dl[0], weight: weight}
	}
	if total > maxWeightSum || total == 0 {
		return nil
	}
	h := murmur3.StringSum32(bucketBy)
	bucket := (uint64(h) * uint64(total)) >> 32
	var end uint64
	for _, d := range dist {
		end += uint64(d.weight)
		if bucket < end {
			return d.variant
		}
	}
	return nil
}

// flagdKeyOf is flagd's getFlagdProperties(data).FlagKey: "$flagd" round-tripped through JSON into its struct.
func flagdKeyOf(data map[string]any) string {
	p, ok := data["$flagd"]
	if !ok {
		return ""
	}
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	var props struct {
		FlagKey   string `json:"flagKey"`
		Timestamp int64  `json:"timestamp"`
	}
	if json.Unmarshal(b, &props) != nil {
		return ""
	}
	return props.FlagKey
}

func semVer(v any) any {
	p, ok := v.([]any)
	if !ok || len(p) != 3 {
		return nil
	}
	a, ok := normalizeVersion(p[0])
	if !ok {
		return nil
	}
	op, ok := p[1].(string)
	if !ok {
		return nil
	}
	b, ok := normalizeVersion(p[2])
	if !ok {
		return nil
	}
	c := semver.Compare(a, b)
	switch op {
	case "<":
		return c == -1
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	case ">":
		return c == 1
	case "~":
		return semver.Compare(semver.MajorMinor(a), semver.MajorMinor(b)) == 0
	case "^":
		return semver.Compare(semver.Major(a), semver.Major(b)) == 0
	}
	return nil
}

func normalizeVersion(v any) (string, bool) {
	version, ok := v.(string)
	if !ok {
		version = fmt.Sprintf("%v", v)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + strings.TrimPrefix(version, "V")
	}
	return version, semver.IsValid(version)
}

// --- coercions, as the library does them ---

func isNumber(x any) bool {
	switch x.(type) {
	case int, float64:
		return true
	}
	return false
}

func isPrimitive(x any) bool {
	switch x.(type) {
	case bool, string, int, float64:
		return true
	}
	return false
}

func isTrue(x any) bool {
	switch t := x.(type) {
	case bool:
		return t
	case float64:
		return t != 0
	case int:
		return t != 0
	case string:
		return len(t) > 0
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return false
}

var errNotNumber = &ruleError{msg: "value is not a number"}

// typingNumber is the library's typing.ToNumber: strings parse leniently, anything but a number panics there.
func typingNumber(x any) (float64, error) {
	switch t := x.(type) {
	case string:
		f, _ := strconv.ParseFloat(t, 64)
		return f, nil
	case int:
		return float64(t), nil
	case float64:
		return t, nil
	}
	return 0, errNotNumber
}

// jsNumber is the library's javascript.ToNumber, used by comparisons.
func jsNumber(x any) float64 {
	switch t := x.(type) {
	case nil:
		return 0
	case float64:
		return t
	case int:
		return float64(t)
	case bool:
		if t {
			return 1
		}
		return 0
	case string:
		if strings.TrimSpace(t) == "" {
			return 0
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	}
	return math.NaN()
}

var errNotString = errors.New("value is not a string")

func toString(x any) (string, error) {
	switch t := x.(type) {
	case int:
		return strconv.FormatInt(int64(t), 10), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case nil:
		return "", nil
	case string:
		return t, nil
	}
	return "", &ruleError{msg: errNotString.Error()}
}
