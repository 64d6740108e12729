package nunjucks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// RenderError is a template that parsed but failed while rendering, or ran out of its limits.
type RenderError struct{ Msg string }

func (e *RenderError) Error() string { return e.Msg }

// ErrLimit is wrapped by errors that stop a render for exceeding its Limits.
var ErrLimit = errors.New("template limit exceeded")

type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return ErrLimit }

func rerr(format string, args ...any) error { return &RenderError{Msg: fmt.Sprintf(format, args...)} }

// frame is a variable scope, as nunjucks' runtime.Frame.
type frame struct {
	vars          map[string]any
	parent        *frame
	isolateWrites bool
}

func (f *frame) lookup(name string) (any, bool) {
	for fr := f; fr != nil; fr = fr.parent {
		if v, ok := fr.vars[name]; ok && !IsUndefined(v) {
			return v, true
		}
	}
	return nil, false
}

// resolve finds the frame that holds name for a write; as in nunjucks, only the starting frame's
// isolateWrites stops the search.
func (f *frame) resolve(name string) *frame {
	if v, ok := f.vars[name]; ok && !IsUndefined(v) {
		return f
	}
	if f.isolateWrites {
		return nil
	}
	for fr := f.parent; fr != nil; fr = fr.parent {
		if v, ok := fr.vars[name]; ok && !IsUndefined(v) {
			return fr
		}
	}
	return nil
}

func (f *frame) set(name string, v any, resolveUp bool) {
	if resolveUp {
		if fr := f.resolve(name); fr != nil {
			fr.vars[name] = v
			return
		}
	}
	f.vars[name] = v
}

func (f *frame) push(isolate bool) *frame {
	return &frame{vars: map[string]any{}, parent: f, isolateWrites: isolate}
}

// output collects rendered text up to a size limit.
type output struct {
	b     strings.Builder
	limit int
}

func (o *output) WriteString(s string) (int, error) {
	if o.b.Len()+len(s) > o.limit {
		return 0, &limitError{fmt.Sprintf("template output exceeds %d bytes", o.limit)}
	}
	return o.b.WriteString(s)
}

func (o *output) Len() int { return o.b.Len() }

type evaluator struct {
	env      *Env
	ctx      context.Context
	deadline time.Time
	steps    int
	depth    int
	vars     *Object
	py       bool
}

func (ev *evaluator) step() error {
	ev.steps++
	if ev.steps > ev.env.limits.MaxSteps {
		return &limitError{fmt.Sprintf("template evaluation exceeds %d steps", ev.env.limits.MaxSteps)}
	}
	if ev.steps&255 == 0 {
		if err := ev.ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(ev.deadline) {
			return &limitError{fmt.Sprintf("template evaluation exceeds %s", ev.env.limits.Timeout)}
		}
	}
	return nil
}

// checkSize refuses values that would let a template build unbounded data in a few steps.
func (ev *evaluator) checkSize(v any) error {
	switch x := v.(type) {
	case string:
		if len(x) > ev.env.limits.MaxOutput {
			return &limitError{fmt.Sprintf("template value exceeds %d bytes", ev.env.limits.MaxOutput)}
		}
	case []any:
		if len(x) > ev.env.limits.MaxItems {
			return &limitError{fmt.Sprintf("template value exceeds %d items", ev.env.limits.MaxItems)}
		}
	case *Object:
		if x.Len() > ev.env.limits.MaxItems {
			return &limitError{fmt.Sprintf("template value exceeds %d items", ev.env.limits.MaxItems)}
		}
	}
	return nil
}

// wantSize refuses in advance to build a string or list of n units.
func (ev *evaluator) wantSize(n float64) error {
	if n > float64(ev.env.limits.MaxOutput) || math.IsNaN(n) {
		return &limitError{fmt.Sprintf("template value exceeds %d bytes", ev.env.limits.MaxOutput)}
	}
	return nil
}

func (ev *evaluator) wantItems(n float64) error {
	if n > float64(ev.env.limits.MaxItems) || math.IsNaN(n) {
		return &limitError{fmt.Sprintf("template value exceeds %d items", ev.env.limits.MaxItems)}
	}
	return nil
}

func (ev *evaluator) str(v any) string {
	if ev.py {
		return toStringPy(v)
	}
	return toStringJS(v)
}

// ---- statements ----

func (ev *evaluator) renderNodes(nodes []node, fr *frame, out *output) error {
	for _, n := range nodes {
		if err := ev.renderNode(n, fr, out); err != nil {
			return err
		}
	}
	return nil
}

func (ev *evaluator) renderNode(n node, fr *frame, out *output) error {
	if err := ev.step(); err != nil {
		return err
	}
	switch x := n.(type) {
	case *outputNode:
		for _, e := range x.exprs {
			if d, ok := e.(*dataExpr); ok {
				if _, err := out.WriteString(d.text); err != nil {
					return err
				}
				continue
			}
			v, err := ev.eval(e, fr)
			if err != nil {
				return err
			}
			if err := ev.writeValue(out, v); err != nil {
				return err
			}
		}
		return nil
	case *ifNode:
		c, err := ev.eval(x.cond, fr)
		if err != nil {
			return err
		}
		if err := ev.strictCheck(c); err != nil {
			return err
		}
		if truthy(c, ev.py) {
			return ev.renderNodes(x.body, fr, out)
		}
		return ev.renderNodes(x.else_, fr, out)
	case *forNode:
		return ev.renderFor(x, fr, out)
	case *setNode:
		var v any
		if x.value != nil {
			var err error
			if v, err = ev.eval(x.value, fr); err != nil {
				return err
			}
		} else {
			inner := &output{limit: ev.env.limits.MaxOutput}
			if err := ev.renderNodes(x.body, fr, inner); err != nil {
				return err
			}
			v = inner.b.String()
		}
		for _, t := range x.targets {
			fr.set(t, v, true)
		}
		return nil
	case *macroNode:
		fr.set(x.name, ev.makeMacro(x, fr), false)
		return nil
	case *switchNode:
		v, err := ev.eval(x.expr, fr)
		if err != nil {
			return err
		}
		matched := false
		for _, c := range x.cases {
			if !matched {
				cv, err := ev.eval(c.cond, fr)
				if err != nil {
					return err
				}
				matched = strictEqual(v, cv)
			}
			if matched && len(c.body) > 0 {
				return ev.renderNodes(c.body, fr, out)
			}
		}
		if x.hasDef {
			return ev.renderNodes(x.default_, fr, out)
		}
		return nil
	}
	return rerr("internal error: unknown node %T", n)
}

func (ev *evaluator) writeValue(out *output, v any) error {
	switch x := v.(type) {
	case undefinedType:
		if ev.env.opts.StrictUndefined {
			return ev.undefinedErr(v)
		}
		return nil
	case nil:
		if !ev.py {
			return nil
		}
	case string:
		_, err := out.WriteString(x)
		return err
	}
	if ev.py {
		return writeRepr(out, v, 0)
	}
	return writeStringJS(out, v, 0)
}

func (ev *evaluator) undefinedErr(v any) error {
	u, _ := v.(undefinedType)
	if u.hint != "" {
		return rerr("%s is undefined", u.hint)
	}
	return rerr("a value is undefined")
}

// strictCheck fails on Undefined under StrictUndefined, as Jinja2's StrictUndefined does when the
// value is printed, tested or iterated.
func (ev *evaluator) strictCheck(v any) error {
	if ev.env.opts.StrictUndefined && IsUndefined(v) {
		return ev.undefinedErr(v)
	}
	return nil
}

func (ev *evaluator) renderFor(x *forNode, fr *frame, out *output) error {
	arr, err := ev.eval(x.arr, fr)
	if err != nil {
		return err
	}
	if err := ev.strictCheck(arr); err != nil {
		return err
	}
	loopFrame := fr.push(ev.py)
	n := 0
	bind := func(i, length int) {
		loopFrame.vars["loop"] = ObjectOf(
			"index", float64(i+1), "index0", float64(i),
			"revindex", float64(length-i), "revindex0", float64(length-i-1),
			"first", i == 0, "last", i == length-1, "length", float64(length))
	}
	run := func() error { return ev.renderNodes(x.body, loopFrame, out) }
	if truthy(arr, false) {
		var items []any
		var obj *Object
		switch a := arr.(type) {
		case []any:
			items = a
		case string:
			for _, r := range a {
				items = append(items, string(r))
			}
		case *Object:
			obj = a
		default:
			if ev.py {
				return rerr("'%s' object is not iterable", typeName(arr))
			}
		}
		switch {
		case items != nil:
			n = len(items)
			for i, it := range items {
				if err := ev.step(); err != nil {
					return err
				}
				if len(x.names) == 1 {
					loopFrame.vars[x.names[0]] = it
				} else {
					for u, name := range x.names {
						v, err := ev.member(it, float64(u), false)
						if err != nil {
							return err
						}
						loopFrame.vars[name] = v
					}
				}
				bind(i, n)
				if err := run(); err != nil {
					return err
				}
			}
		case obj != nil && (len(x.names) > 1 || ev.py):
			keys := append([]string(nil), obj.Keys()...)
			n = len(keys)
			for i, k := range keys {
				if err := ev.step(); err != nil {
					return err
				}
				v, _ := obj.Get(k)
				if len(x.names) == 1 {
					loopFrame.vars[x.names[0]] = k // Python iterates a dict's keys
				} else {
					loopFrame.vars[x.names[0]] = k
					loopFrame.vars[x.names[1]] = v
				}
				bind(i, n)
				if err := run(); err != nil {
					return err
				}
			}
		}
	}
	if n == 0 && x.else_ != nil {
		return ev.renderNodes(x.else_, loopFrame, out)
	}
	return nil
}

func (ev *evaluator) makeMacro(m *macroNode, defFrame *frame) *Func {
	return &Func{Name: m.name, Call: func(ev *evaluator, args []any, kw *Object) (any, error) {
		ev.depth++
		defer func() { ev.depth-- }()
		if ev.depth > ev.env.limits.MaxDepth {
			return nil, &limitError{fmt.Sprintf("macro calls nested more than %d deep", ev.env.limits.MaxDepth)}
		}
		fr := defFrame.push(true)
		for i, name := range m.args {
			switch {
			case i < len(args):
				fr.vars[name] = args[i]
			case kw != nil && hasKey(kw, name):
				fr.vars[name], _ = kw.Get(name)
			case m.defaults[name] != nil:
				v, err := ev.eval(m.defaults[name], fr)
				if err != nil {
					return nil, err
				}
				fr.vars[name] = v
			default:
				fr.vars[name] = Undefined
			}
		}
		out := &output{limit: ev.env.limits.MaxOutput}
		if err := ev.renderNodes(m.body, fr, out); err != nil {
			return nil, err
		}
		return out.b.String(), nil
	}}
}

func hasKey(o *Object, k string) bool { _, ok := o.Get(k); return ok }

// ---- expressions ----

func (ev *evaluator) eval(e expr, fr *frame) (any, error) {
	if err := ev.step(); err != nil {
		return nil, err
	}
	switch x := e.(type) {
	case *literalExpr:
		return x.v, nil
	case *dataExpr:
		return x.text, nil
	case *symbolExpr:
		return ev.lookupName(x.name, fr), nil
	case *arrayExpr:
		out := make([]any, 0, len(x.items))
		for _, it := range x.items {
			v, err := ev.eval(it, fr)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *dictExpr:
		o := NewObject(len(x.pairs))
		for _, p := range x.pairs {
			v, err := ev.eval(p.value, fr)
			if err != nil {
				return nil, err
			}
			o.Set(p.key, v)
		}
		return o, nil
	case *lookupExpr:
		target, err := ev.eval(x.target, fr)
		if err != nil {
			return nil, err
		}
		if s, ok := x.key.(*sliceExpr); ok {
			return ev.slice(target, s, fr)
		}
		key, err := ev.eval(x.key, fr)
		if err != nil {
			return nil, err
		}
		_, dot := x.key.(*literalExpr)
		return ev.member(target, key, dot)
	case *callExpr:
		return ev.call(x, fr)
	case *filterExpr:
		return ev.filter(x, fr)
	case *inlineIfExpr:
		c, err := ev.eval(x.cond, fr)
		if err != nil {
			return nil, err
		}
		if truthy(c, ev.py) {
			return ev.eval(x.body, fr)
		}
		if x.else_ == nil {
			if ev.py {
				return Undefined, nil
			}
			return "", nil
		}
		return ev.eval(x.else_, fr)
	case *notExpr:
		v, err := ev.eval(x.target, fr)
		if err != nil {
			return nil, err
		}
		return !truthy(v, ev.py), nil
	case *unaryExpr:
		v, err := ev.eval(x.target, fr)
		if err != nil {
			return nil, err
		}
		if err := ev.strictCheck(v); err != nil {
			return nil, err
		}
		n := toNumber(toPrimitive(v))
		if ev.py {
			if _, ok := v.(float64); !ok {
				if _, ok := v.(bool); !ok {
					return nil, rerr("bad operand type for unary %s: '%s'", x.op, typeName(v))
				}
			}
		}
		if x.op == "-" {
			return -n, nil
		}
		return n, nil
	case *binaryExpr:
		return ev.binary(x, fr)
	case *compareExpr:
		return ev.compare(x, fr)
	case *isExpr:
		return ev.test(x, fr)
	case *sliceExpr:
		return nil, rerr("a slice is only valid inside [ ]")
	}
	return nil, rerr("internal error: unknown expression %T", e)
}

func (ev *evaluator) lookupName(name string, fr *frame) any {
	if v, ok := fr.lookup(name); ok {
		return v
	}
	if v, ok := ev.vars.Get(name); ok && !IsUndefined(v) {
		return v
	}
	if v, ok := ev.env.globals[name]; ok {
		return v
	}
	if ev.env.opts.JinjaCompat || ev.py {
		switch name {
		case "True":
			return true
		case "False":
			return false
		case "None":
			return nil
		}
	}
	return undefinedType{hint: "'" + name + "'"}
}

// forbiddenMember names lookups that reach an object's machinery in JavaScript or Python. Templates
// see only own data and whitelisted methods anyway; these are refused even as data keys of strings
// and arrays so that no future method table can expose them.
var forbiddenMember = map[string]bool{
	"constructor": true, "__proto__": true, "prototype": true, "__defineGetter__": true,
	"__defineSetter__": true, "__lookupGetter__": true, "__lookupSetter__": true,
	"__class__": true, "__globals__": true, "__builtins__": true, "__subclasses__": true,
	"__init__": true, "__dict__": true, "__mro__": true, "mro": true, "__base__": true, "__bases__": true,
	"__getattribute__": true, "__reduce__": true, "__reduce_ex__": true, "func_globals": true,
}

// member is nunjucks' memberLookup (with the Jinja-compat and Python method tables where enabled).
// dot marks obj.name as opposed to obj[expr]; Python resolves the two in different orders.
func (ev *evaluator) member(obj any, key any, dot bool) (any, error) {
	if err := ev.strictCheck(obj); err != nil {
		return nil, err
	}
	name, isName := key.(string)
	if isName && name == "__proto__" {
		return Undefined, nil
	}
	switch o := obj.(type) {
	case nil, undefinedType:
		if ev.py && o == nil {
			return undefinedType{hint: "'None' has no attribute '" + ev.str(key) + "' and it"}, nil
		}
		return Undefined, nil
	case *Object:
		if ev.env.opts.JinjaCompat || (ev.py && dot) {
			if isName {
				if m := ev.objectMethod(o, name); m != nil {
					return m, nil
				}
			}
		}
		k := ev.str(key)
		if v, ok := o.Get(k); ok {
			return v, nil
		}
		if ev.py && !dot && isName {
			if m := ev.objectMethod(o, name); m != nil {
				return m, nil
			}
		}
		return undefinedType{hint: "'" + k + "'"}, nil
	case []any:
		if f, ok := key.(float64); ok {
			i := int(f)
			if float64(i) != f {
				return Undefined, nil
			}
			if i < 0 && ev.py {
				i += len(o)
			}
			if i < 0 || i >= len(o) {
				return undefinedType{hint: "index " + ev.str(key)}, nil
			}
			return o[i], nil
		}
		if isName {
			if name == "length" && !ev.py {
				return float64(len(o)), nil
			}
			if n, err := strconv.Atoi(name); err == nil && !ev.py && n >= 0 && n < len(o) && strconv.Itoa(n) == name {
				return o[n], nil
			}
			if !forbiddenMember[name] {
				if m := ev.arrayMethod(o, name); m != nil {
					return m, nil
				}
			}
		}
		return Undefined, nil
	case string:
		if f, ok := key.(float64); ok {
			rs := []rune(o)
			i := int(f)
			if float64(i) != f {
				return Undefined, nil
			}
			if i < 0 && ev.py {
				i += len(rs)
			}
			if i < 0 || i >= len(rs) {
				return Undefined, nil
			}
			return string(rs[i]), nil
		}
		if isName {
			if name == "length" && !ev.py {
				return float64(runeLen(o)), nil
			}
			if !forbiddenMember[name] {
				if m := ev.stringMethod(o, name); m != nil {
					return m, nil
				}
			}
		}
		return Undefined, nil
	case float64:
		if isName && !ev.py && !forbiddenMember[name] {
			if m := ev.numberMethod(o, name); m != nil {
				return m, nil
			}
		}
		return Undefined, nil
	case *Regexp:
		if isName {
			switch name {
			case "source":
				return o.Source, nil
			case "flags":
				return o.Flags, nil
			case "global":
				return o.global, nil
			case "test":
				return &Func{Name: "test", Call: func(ev *evaluator, args []any, _ *Object) (any, error) {
					return o.re.MatchString(ev.str(arg(args, 0))), nil
				}}, nil
			}
		}
		return Undefined, nil
	}
	return Undefined, nil
}

func (ev *evaluator) slice(target any, s *sliceExpr, fr *frame) (any, error) {
	get := func(e expr, def any) (any, error) {
		if e == nil {
			return def, nil
		}
		return ev.eval(e, fr)
	}
	start, err := get(s.start, nil)
	if err != nil {
		return nil, err
	}
	stop, err := get(s.stop, nil)
	if err != nil {
		return nil, err
	}
	step, err := get(s.step, 1.0)
	if err != nil {
		return nil, err
	}
	var items []any
	_, isStr := target.(string)
	switch t := target.(type) {
	case []any:
		items = t
	case string:
		for _, r := range t {
			items = append(items, string(r))
		}
	case nil, undefinedType:
		items = nil
	default:
		return nil, rerr("cannot slice a %s", typeName(target))
	}
	st := int(toNumber(step))
	if st == 0 {
		return nil, rerr("slice step cannot be zero")
	}
	n := len(items)
	norm := func(v any, def int) int {
		if v == nil || IsUndefined(v) {
			return def
		}
		i := int(toNumber(v))
		if i < 0 {
			i += n
		}
		return i
	}
	var out []any
	if st > 0 {
		a, b := max(norm(start, 0), 0), min(norm(stop, n), n)
		for i := a; i < b; i += st {
			out = append(out, items[i])
		}
	} else {
		a, b := min(norm(start, n-1), n-1), norm(stop, -1)
		if stop != nil && !IsUndefined(stop) && b < -1 {
			b = -1
		}
		for i := a; i > b && i >= 0; i += st {
			out = append(out, items[i])
		}
	}
	if isStr && ev.py {
		var b strings.Builder
		for _, c := range out {
			b.WriteString(c.(string))
		}
		return b.String(), nil
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func (ev *evaluator) evalArgs(args []expr, kwargs []pairExpr, fr *frame) ([]any, *Object, error) {
	vals := make([]any, 0, len(args))
	for _, a := range args {
		v, err := ev.eval(a, fr)
		if err != nil {
			return nil, nil, err
		}
		vals = append(vals, v)
	}
	var kw *Object
	if len(kwargs) > 0 {
		kw = NewObject(len(kwargs))
		for _, p := range kwargs {
			v, err := ev.eval(p.value, fr)
			if err != nil {
				return nil, nil, err
			}
			kw.Set(p.key, v)
		}
	}
	return vals, kw, nil
}

func (ev *evaluator) call(x *callExpr, fr *frame) (any, error) {
	fn, err := ev.eval(x.fn, fr)
	if err != nil {
		return nil, err
	}
	f, ok := fn.(*Func)
	if !ok {
		if !truthy(fn, false) {
			return nil, rerr("Unable to call `%s`, which is undefined or falsey", x.name)
		}
		return nil, rerr("Unable to call `%s`, which is not a function", x.name)
	}
	args, kw, err := ev.evalArgs(x.args, x.kwargs, fr)
	if err != nil {
		return nil, err
	}
	v, err := f.Call(ev, args, kw)
	if err != nil {
		return nil, err
	}
	return v, ev.checkSize(v)
}

func (ev *evaluator) filter(x *filterExpr, fr *frame) (any, error) {
	var in any
	if x.body != nil {
		inner := &output{limit: ev.env.limits.MaxOutput}
		if err := ev.renderNodes(x.body, fr, inner); err != nil {
			return nil, err
		}
		in = inner.b.String()
	} else {
		var err error
		if in, err = ev.eval(x.target, fr); err != nil {
			return nil, err
		}
	}
	args, kw, err := ev.evalArgs(x.args, x.kwargs, fr)
	if err != nil {
		return nil, err
	}
	f, ok := ev.env.filters[x.name]
	if !ok {
		return nil, rerr("filter not found: %s", x.name)
	}
	if x.name != "default" && x.name != "d" {
		if err := ev.strictCheck(in); err != nil {
			return nil, err
		}
	}
	v, err := f(ev, in, args, kw)
	if err != nil {
		var le *limitError
		if errors.As(err, &le) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		var re *RenderError
		if errors.As(err, &re) {
			return nil, err
		}
		return nil, rerr("%s: %v", x.name, err)
	}
	return v, ev.checkSize(v)
}

func (ev *evaluator) binary(x *binaryExpr, fr *frame) (any, error) {
	l, err := ev.eval(x.left, fr)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "or":
		if truthy(l, ev.py) {
			return l, nil
		}
		return ev.eval(x.right, fr)
	case "and":
		if !truthy(l, ev.py) {
			return l, nil
		}
		return ev.eval(x.right, fr)
	}
	r, err := ev.eval(x.right, fr)
	if err != nil {
		return nil, err
	}
	if x.op == "in" {
		return ev.in(l, r)
	}
	if x.op == "~" {
		var s string
		if ev.py {
			s = toStringPy(l) + toStringPy(r)
		} else {
			s = toStringJS(l) + toStringJS(r)
		}
		return s, ev.checkSize(s)
	}
	if err := ev.strictCheck(l); err != nil {
		return nil, err
	}
	if err := ev.strictCheck(r); err != nil {
		return nil, err
	}
	if ev.py {
		return ev.binaryPy(x.op, l, r)
	}
	if x.op == "+" {
		lp, rp := toPrimitive(l), toPrimitive(r)
		_, ls := lp.(string)
		_, rs := rp.(string)
		if ls || rs {
			if err := ev.wantSize(float64(len(toStringJS(lp)) + len(toStringJS(rp)))); err != nil {
				return nil, err
			}
			return toStringJS(lp) + toStringJS(rp), nil
		}
		return toNumber(lp) + toNumber(rp), nil
	}
	a, b := toNumber(toPrimitive(l)), toNumber(toPrimitive(r))
	switch x.op {
	case "-":
		return a - b, nil
	case "*":
		return a * b, nil
	case "/":
		return a / b, nil
	case "%":
		return math.Mod(a, b), nil
	case "//":
		return math.Floor(a / b), nil
	case "**":
		return math.Pow(a, b), nil
	}
	return nil, rerr("unknown operator %s", x.op)
}

func (ev *evaluator) binaryPy(op string, l, r any) (any, error) {
	ln, lnum := l.(float64)
	rn, rnum := r.(float64)
	if b, ok := l.(bool); ok {
		ln, lnum = toNumber(b), true
	}
	if b, ok := r.(bool); ok {
		rn, rnum = toNumber(b), true
	}
	if lnum && rnum {
		switch op {
		case "+":
			return ln + rn, nil
		case "-":
			return ln - rn, nil
		case "*":
			return ln * rn, nil
		case "/":
			if rn == 0 {
				return nil, rerr("division by zero")
			}
			return ln / rn, nil
		case "//":
			if rn == 0 {
				return nil, rerr("integer division or modulo by zero")
			}
			return math.Floor(ln / rn), nil
		case "%":
			if rn == 0 {
				return nil, rerr("integer division or modulo by zero")
			}
			m := math.Mod(ln, rn)
			if m != 0 && (m < 0) != (rn < 0) {
				m += rn
			}
			return m, nil
		case "**":
			return math.Pow(ln, rn), nil
		}
	}
	switch op {
	case "+":
		if ls, ok := l.(string); ok {
			if rs, ok := r.(string); ok {
				if err := ev.wantSize(float64(len(ls) + len(rs))); err != nil {
					return nil, err
				}
				return ls + rs, nil
			}
		}
		if la, ok := l.([]any); ok {
			if ra, ok := r.([]any); ok {
				if err := ev.wantItems(float64(len(la) + len(ra))); err != nil {
					return nil, err
				}
				return append(append([]any{}, la...), ra...), nil
			}
		}
	case "*":
		if ls, ok := l.(string); ok && rnum {
			if err := ev.wantSize(float64(len(ls)) * math.Max(rn, 0)); err != nil {
				return nil, err
			}
			return strings.Repeat(ls, int(math.Max(rn, 0))), nil
		}
	}
	return nil, rerr("unsupported operand type(s) for %s: '%s' and '%s'", op, pyType(l), pyType(r))
}

func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case float64:
		return "int"
	case string:
		return "str"
	case []any:
		return "list"
	case *Object:
		return "dict"
	}
	return typeName(v)
}

func (ev *evaluator) in(key, container any) (any, error) {
	switch c := container.(type) {
	case []any:
		budget := 100000
		for _, e := range c {
			if ev.py {
				if pyEqual(e, key, &budget) {
					return true, nil
				}
			} else if strictEqual(e, key) {
				return true, nil
			}
		}
		return false, nil
	case string:
		if ev.py {
			k, ok := key.(string)
			if !ok {
				return nil, rerr("'in <string>' requires string as left operand, not %s", pyType(key))
			}
			return strings.Contains(c, k), nil
		}
		return strings.Contains(c, toStringJS(key)), nil
	case *Object:
		return hasKey(c, ev.str(key)), nil
	}
	if ev.py {
		return nil, rerr("argument of type '%s' is not iterable", pyType(container))
	}
	return nil, rerr(`Cannot use "in" operator to search for "%s" in unexpected types.`, toStringJS(key))
}

func (ev *evaluator) compare(x *compareExpr, fr *frame) (any, error) {
	left, err := ev.eval(x.first, fr)
	if err != nil {
		return nil, err
	}
	var result any = true
	for _, op := range x.ops {
		right, err := ev.eval(op.expr, fr)
		if err != nil {
			return nil, err
		}
		r, err := ev.compareOne(op.op, left, right)
		if err != nil {
			return nil, err
		}
		if ev.py {
			// Python chains: a < b < c is (a < b) and (b < c).
			if !r {
				return false, nil
			}
			left = right
			continue
		}
		// JavaScript associates left: a < b < c is (a < b) < c.
		left = r
		result = r
	}
	if ev.py {
		return true, nil
	}
	return result, nil
}

func (ev *evaluator) compareOne(op string, a, b any) (bool, error) {
	if ev.py {
		switch op {
		case "==", "===":
			budget := 100000
			return pyEqual(a, b, &budget), nil
		case "!=", "!==":
			budget := 100000
			return !pyEqual(a, b, &budget), nil
		}
		_, an := a.(float64)
		_, bn := b.(float64)
		_, as := a.(string)
		_, bs := b.(string)
		if !(an && bn) && !(as && bs) {
			return false, rerr("'%s' not supported between instances of '%s' and '%s'", op, pyType(a), pyType(b))
		}
	}
	switch op {
	case "==":
		return looseEqual(a, b), nil
	case "===":
		return strictEqual(a, b), nil
	case "!=":
		return !looseEqual(a, b), nil
	case "!==":
		return !strictEqual(a, b), nil
	}
	c, ok := compareJS(a, b)
	if !ok {
		return false, nil
	}
	switch op {
	case "<":
		return c < 0, nil
	case ">":
		return c > 0, nil
	case "<=":
		return c <= 0, nil
	case ">=":
		return c >= 0, nil
	}
	return false, rerr("unknown comparison %s", op)
}

func (ev *evaluator) test(x *isExpr, fr *frame) (any, error) {
	v, err := ev.eval(x.left, fr)
	if err != nil {
		return nil, err
	}
	args, _, err := ev.evalArgs(x.args, nil, fr)
	if err != nil {
		return nil, err
	}
	t, ok := builtinTests[x.test]
	if !ok {
		return nil, rerr("test not found: %s", x.test)
	}
	r, err := t(ev, v, args)
	if err != nil {
		return nil, err
	}
	if x.negate {
		return !r, nil
	}
	return r, nil
}

func arg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return Undefined
}
