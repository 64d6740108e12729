package nunjucks

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Values inside the engine are JSON-shaped, as they are in Backstage's isolated VM, where every value
// crosses the boundary as JSON:
//
//	Undefined        JavaScript's undefined (a missing key, an unset variable)
//	nil              null / None
//	bool, float64, string
//	[]any            arrays; never mutated in place, so values shared with the caller stay intact
//	*Object          objects, keeping insertion order like JavaScript objects
//	*Regexp          a nunjucks regex literal r/.../flags
//	*Func            a callable: a global, a macro or a bound method of a built-in type
//
// There are no prototypes: a lookup of "constructor", "__proto__" or any name that is not an own key
// or a whitelisted method is Undefined, which is what keeps templates from reaching the host.

// undefinedType carries a hint naming what was looked up, for StrictUndefined's error message.
type undefinedType struct{ hint string }

// Undefined is the value of a missing variable or key.
var Undefined any = undefinedType{}

// IsUndefined reports whether v is Undefined.
func IsUndefined(v any) bool { _, ok := v.(undefinedType); return ok }

// Object is a string-keyed map that remembers insertion order, as JavaScript objects and Python dicts do.
// The zero value is not usable; call NewObject.
type Object struct {
	keys []string
	m    map[string]any
}

// NewObject returns an empty object with room for n keys.
func NewObject(n int) *Object {
	return &Object{keys: make([]string, 0, n), m: make(map[string]any, n)}
}

// ObjectOf builds an object from alternating keys and values, in that order.
func ObjectOf(kv ...any) *Object {
	o := NewObject(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// Get returns the value of key and whether it is set.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.m[key]
	return v, ok
}

// Set sets key, appending it to the key order when it is new.
func (o *Object) Set(key string, v any) {
	if _, ok := o.m[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.m[key] = v
}

// Delete removes key.
func (o *Object) Delete(key string) {
	if _, ok := o.m[key]; !ok {
		return
	}
	delete(o.m, key)
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
			break
		}
	}
}

// Keys returns the keys in insertion order. The caller must not modify the slice.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

// Len is the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Clone returns a shallow copy.
func (o *Object) Clone() *Object {
	c := NewObject(o.Len())
	for _, k := range o.Keys() {
		c.Set(k, o.m[k])
	}
	return c
}

// MarshalJSON writes the object with its keys in order and JavaScript's JSON.stringify rules.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	if err := writeJSON(&b, o, "", "", -1); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// UnmarshalJSON reads a JSON object, keeping its keys in the order written.
func (o *Object) UnmarshalJSON(data []byte) error {
	v, err := ParseJSONBytes(data)
	if err != nil {
		return err
	}
	parsed, ok := v.(*Object)
	if !ok {
		return fmt.Errorf("expected a JSON object, got %s", strings.TrimSpace(string(data[:min(len(data), 20)])))
	}
	*o = *parsed
	return nil
}

// Regexp is a regex literal (r/pattern/flags). Go's RE2 syntax accepts most JavaScript patterns used in
// templates; back-references and look-around are refused when the literal is parsed.
type Regexp struct {
	Source string
	Flags  string
	re     *regexp.Regexp
	global bool
}

// Func is a callable value. Name appears in error messages.
type Func struct {
	Name string
	Call func(ev *evaluator, args []any, kw *Object) (any, error)
}

// FromGo converts Go values as produced by encoding/json or yaml.v3 (maps, slices, ints, floats) into
// engine values. Maps become Objects with sorted keys, since Go maps have no order of their own.
func FromGo(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case undefinedType, bool, string, float64, *Regexp, *Func:
		return x
	case *Object:
		return x
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = FromGo(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject(len(keys))
		for _, k := range keys {
			o.Set(k, FromGo(x[k]))
		}
		return o
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject(len(keys))
		for _, k := range keys {
			o.Set(k, x[k])
		}
		return o
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[toStringJS(k)] = e
		}
		return FromGo(m)
	default:
		return Undefined
	}
}

// ToGo converts an engine value to plain Go values (map[string]any, []any, float64, ...), dropping
// Undefined object members as JSON.stringify does. Callables and regexes become nil.
func ToGo(v any) any {
	switch x := v.(type) {
	case *Object:
		m := make(map[string]any, x.Len())
		for _, k := range x.Keys() {
			e := x.m[k]
			if IsUndefined(e) || isFunc(e) {
				continue
			}
			m[k] = ToGo(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToGo(e)
		}
		return out
	case undefinedType, *Func, *Regexp:
		return nil
	default:
		return x
	}
}

func isFunc(v any) bool { _, ok := v.(*Func); return ok }

// truthy is JavaScript's truthiness, or Python's when py is set (empty collections are false there).
func truthy(v any, py bool) bool {
	switch x := v.(type) {
	case nil, undefinedType:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	case []any:
		return !py || len(x) > 0
	case *Object:
		return !py || x.Len() > 0
	default:
		return true
	}
}

// Truthy reports whether v counts as true in a Backstage `if:`: JavaScript truthiness, except that an
// empty array is false too (Backstage's isTruthy).
func Truthy(v any) bool {
	if a, ok := v.([]any); ok {
		return len(a) > 0
	}
	return truthy(v, false)
}

// jsNumber formats f as JavaScript's Number.prototype.toString does.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	abs := math.Abs(f)
	if abs >= 1e21 || abs < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Go writes e+07 and e-07 where JavaScript writes e+7 and e-7.
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		exp = strings.TrimLeft(exp[1:], "0")
		return mant + "e" + string(sign) + exp
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// pyNumber formats f as Python would print the int or float it most likely was: integral values print
// as ints, since JSON and YAML numbers without a fraction are ints in Python.
func pyNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return strconv.FormatInt(int64(f), 10)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// toStringJS is JavaScript's String(v) for engine values.
func toStringJS(v any) string {
	var b strings.Builder
	_ = writeStringJS(&b, v, 0)
	return b.String()
}

type limitedWriter interface {
	WriteString(string) (int, error)
	Len() int
}

func writeStringJS(b limitedWriter, v any, depth int) error {
	if depth > 64 {
		return errTooDeep
	}
	switch x := v.(type) {
	case nil:
		_, err := b.WriteString("null")
		return err
	case undefinedType:
		_, err := b.WriteString("undefined")
		return err
	case bool:
		_, err := b.WriteString(strconv.FormatBool(x))
		return err
	case float64:
		_, err := b.WriteString(jsNumber(x))
		return err
	case string:
		_, err := b.WriteString(x)
		return err
	case []any:
		// Array.prototype.toString joins with commas and prints null and undefined as "".
		for i, e := range x {
			if i > 0 {
				if _, err := b.WriteString(","); err != nil {
					return err
				}
			}
			if e == nil || IsUndefined(e) {
				continue
			}
			if err := writeStringJS(b, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case *Object:
		_, err := b.WriteString("[object Object]")
		return err
	case *Regexp:
		_, err := b.WriteString("/" + x.Source + "/" + x.Flags)
		return err
	case *Func:
		_, err := b.WriteString("function " + x.Name + "() { [native code] }")
		return err
	}
	return nil
}

// toStringPy is Python's str(v) for engine values.
func toStringPy(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case undefinedType:
		return ""
	}
	var b strings.Builder
	_ = writeRepr(&b, v, 0)
	return b.String()
}

func writeRepr(b limitedWriter, v any, depth int) error {
	if depth > 64 {
		return errTooDeep
	}
	w := func(s string) error { _, err := b.WriteString(s); return err }
	switch x := v.(type) {
	case nil, undefinedType:
		return w("None")
	case bool:
		if x {
			return w("True")
		}
		return w("False")
	case float64:
		return w(pyNumber(x))
	case string:
		if depth == 0 {
			return w(x)
		}
		return w(pyQuote(x))
	case []any:
		if err := w("["); err != nil {
			return err
		}
		for i, e := range x {
			if i > 0 {
				if err := w(", "); err != nil {
					return err
				}
			}
			if err := writeRepr(b, e, depth+1); err != nil {
				return err
			}
		}
		return w("]")
	case *Object:
		if err := w("{"); err != nil {
			return err
		}
		for i, k := range x.Keys() {
			if i > 0 {
				if err := w(", "); err != nil {
					return err
				}
			}
			if err := w(pyQuote(k) + ": "); err != nil {
				return err
			}
			if err := writeRepr(b, x.m[k], depth+1); err != nil {
				return err
			}
		}
		return w("}")
	default:
		return writeStringJS(b, v, depth)
	}
}

func pyQuote(s string) string {
	q := "'"
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = `"`
	}
	var b strings.Builder
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case string(r) == q:
			b.WriteString(`\` + q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x` + strconv.FormatInt(int64(r)+0x100, 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}

// toNumber is JavaScript's Number(v).
func toNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return x
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0
		}
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			n, err := strconv.ParseUint(s[2:], 16, 64)
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		}
		switch s {
		case "Infinity", "+Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
		if strings.ContainsAny(s, "_xXpPnN") { // Go's parser accepts forms JavaScript does not
			return math.NaN()
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return math.NaN()
		}
		return f
	case []any:
		switch len(x) {
		case 0:
			return 0
		case 1:
			return toNumber(toStringJS(x[0]))
		}
		return math.NaN()
	default:
		return math.NaN()
	}
}

// toPrimitive is JavaScript's ToPrimitive with the default hint: objects become their string form.
func toPrimitive(v any) any {
	switch v.(type) {
	case []any, *Object, *Regexp, *Func:
		return toStringJS(v)
	}
	return v
}

// looseEqual is JavaScript's ==.
func looseEqual(a, b any) bool {
	an := a == nil || IsUndefined(a)
	bn := b == nil || IsUndefined(b)
	if an || bn {
		return an && bn
	}
	if isRef(a) && isRef(b) {
		return sameRef(a, b)
	}
	a, b = toPrimitive(a), toPrimitive(b)
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return as == bs
		}
	}
	return toNumber(a) == toNumber(b)
}

// strictEqual is JavaScript's ===.
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case undefinedType:
		return IsUndefined(b)
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	return isRef(b) && sameRef(a, b)
}

// pyEqual is Python's ==: deep for lists and dicts, with ints equal to floats.
func pyEqual(a, b any, budget *int) bool {
	*budget--
	if *budget < 0 {
		return false
	}
	switch x := a.(type) {
	case nil, undefinedType:
		return b == nil || IsUndefined(b)
	case bool:
		switch y := b.(type) {
		case bool:
			return x == y
		case float64:
			return toNumber(x) == y
		}
		return false
	case float64:
		switch y := b.(type) {
		case float64:
			return x == y
		case bool:
			return x == toNumber(y)
		}
		return false
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !pyEqual(x[i], y[i], budget) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.Keys() {
			yv, ok := y.Get(k)
			if !ok || !pyEqual(x.m[k], yv, budget) {
				return false
			}
		}
		return true
	}
	return sameRef(a, b)
}

func isRef(v any) bool {
	switch v.(type) {
	case []any, *Object, *Regexp, *Func:
		return true
	}
	return false
}

func sameRef(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok {
			return false
		}
		if len(x) == 0 || len(y) == 0 {
			return len(x) == 0 && len(y) == 0 && cap(x) == cap(y) && (cap(x) == 0 || &x[:1][0] == &y[:1][0])
		}
		return len(x) == len(y) && &x[0] == &y[0]
	case *Object:
		y, ok := b.(*Object)
		return ok && x == y
	case *Regexp:
		y, ok := b.(*Regexp)
		return ok && x == y
	case *Func:
		y, ok := b.(*Func)
		return ok && x == y
	}
	return false
}

// lessThan is JavaScript's < (after ToPrimitive: strings compare by code unit, others as numbers).
// ok is false when the comparison is undefined (NaN), which makes <, >, <= and >= all false.
func compareJS(a, b any) (cmp int, ok bool) {
	a, b = toPrimitive(a), toPrimitive(b)
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return strings.Compare(as, bs), true
	}
	x, y := toNumber(a), toNumber(b)
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// runeLen is the length of s as templates see it. JavaScript counts UTF-16 code units; counting
// those keeps `length` equal to Backstage's for text outside the Basic Multilingual Plane too.
func runeLen(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case undefinedType:
		return "undefined"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case *Object:
		return "object"
	case *Regexp:
		return "regexp"
	case *Func:
		return "function"
	}
	return "unknown"
}
