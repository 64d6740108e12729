package flags

import "strings"

// The library's array operators (map, filter, reduce, all, none, some) and set, reproduced from
// github.com/diegoholiveira/jsonlogic/v3 v3.9.1 (lists.go, vars.go):
//
//   - The array ("subject") is the first argument taken raw: a literal array is used as it is (objects in it are
//     not evaluated), an object is applied, anything else gives no subject.
//   - The inner rule reads the current element as its whole data (reduce: {"current", "accumulator",
//     "valueType"}); the outer context is not visible through var, with one exception:
//   - filter, none and some first run solveVars on the inner rule against the outer data, all and some run it
//     against each element: every {"var": path} whose path is not "" or ".…" and that resolves to non-null is
//     replaced by its value, which is then interpreted as a rule itself. Most of the time nothing is replaced
//     and the rule compiled ahead of time runs; when something is, the substituted rule is built and compiled
//     on the spot, exactly as the library would interpret it.
//   - Go panics in the library (a non-array subject, a non-object rule for all/none/some/reduce, a reduce
//     initial value that is not a boolean, number or string, …) are errors here, which become PARSE_ERROR.

func failNode(format string, args ...any) node {
	err := failf(format, args...)
	return func(*scope) (any, error) { return nil, err }
}

// compileSubject is the library's extractSubject.
func compileSubject(raw any) node {
	switch t := raw.(type) {
	case []any:
		return constant(t)
	case map[string]any:
		return compile(t)
	}
	return constant(nil)
}

// solvePoint is one {"var": …} that solveVars would try to replace: get evaluates it against the data solveVars
// runs on. plain means the var sits where the rule evaluates it against that same data and a primitive value in
// its place would evaluate identically, so such a replacement needs no recompilation.
type solvePoint struct {
	get   node
	plain bool
}

// solvable is an inner rule together with what solveVars could replace in it.
type solvable struct {
	raw    any
	isMap  bool
	n      node
	points []solvePoint
}

func newSolvable(raw any) *solvable {
	sv := &solvable{raw: raw, n: compile(raw)}
	_, sv.isMap = raw.(map[string]any)
	collectPoints(raw, true, &sv.points)
	if m, ok := raw.(map[string]any); ok {
		if _, isVar := m["var"]; isVar && len(sv.points) > 0 {
			// A var as the whole rule is replaced by its value, which all/none/some then apply as an object.
			sv.points[0].plain = false
		}
	}
	return sv
}

func keptVar(v any) bool {
	str, ok := v.(string)
	return ok && (str == "" || strings.HasPrefix(str, "."))
}

// collectPoints walks x the way solveVars does, in the order it does.
func collectPoints(x any, plain bool, out *[]solvePoint) {
	switch t := x.(type) {
	case map[string]any:
		if v, ok := t["var"]; ok {
			if !keptVar(v) {
				*out = append(*out, solvePoint{get: compileVar(v), plain: plain && len(t) == 1})
			}
			if len(t) == 1 {
				return
			}
		}
		if len(t) != 1 {
			for _, k := range sortedKeys(t) {
				if k != "var" {
					collectPoints(t[k], false, out)
				}
			}
			return
		}
		for op, args := range t {
			switch {
			case arrayOps[op]:
				collectPoints(args, false, out)
			case op == "and" || op == "or" || op == "if" || op == "?:":
				// These take their argument array raw, so only its elements are evaluated as rules.
				l, ok := args.([]any)
				if !ok {
					collectPoints(args, false, out)
					return
				}
				for _, e := range l {
					collectPoints(e, plain, out)
				}
			default:
				collectPoints(args, plain, out)
			}
		}
	case []any:
		for _, e := range t {
			collectPoints(e, plain, out)
		}
	}
}

// unchanged reports whether solveVars on the scope's data would leave the rule as it is (or, with sameData, change
// it only in ways that evaluate identically); false means the substituted rule has to be built. Lookup errors are
// the library's panics inside solveVars.
func (sv *solvable) unchanged(s *scope, sameData bool) (bool, error) {
	for _, p := range sv.points {
		v, err := p.get(s)
		if err != nil {
			return false, err
		}
		if v == nil || (sameData && p.plain && isPrimitive(v)) {
			continue
		}
		return false, nil
	}
	return true, nil
}

// solveVars is the library's solveVars; an object with "var" and other keys is resolved "var" first (Parse refuses
// those, because the library's order is random).
func solveVars(x any, s *scope) (any, error) {
	switch t := x.(type) {
	case map[string]any:
		logic := make(map[string]any, len(t))
		if v, ok := t["var"]; ok {
			if !keptVar(v) {
				val, err := compileVar(v)(s)
				if err != nil {
					return nil, err
				}
				if val != nil {
					return val, nil
				}
			}
			logic["var"] = v
		}
		for k, v := range t {
			if k == "var" {
				continue
			}
			r, err := solveVars(v, s)
			if err != nil {
				return nil, err
			}
			logic[k] = r
		}
		return logic, nil
	case []any:
		logic := make([]any, 0, len(t))
		for _, e := range t {
			r, err := solveVars(e, s)
			if err != nil {
				return nil, err
			}
			logic = append(logic, r)
		}
		return logic, nil
	}
	return x, nil
}

// solvedRule returns the node for the rule after solveVars on the scope's data. asObject is for all, none and
// some, which apply the result and so need an object.
func (sv *solvable) solvedRule(s *scope, sameData, asObject bool) (node, error) {
	same, err := sv.unchanged(s, sameData)
	if err != nil {
		return nil, err
	}
	if same {
		if asObject && !sv.isMap {
			return nil, failf("the rule must be an object")
		}
		return sv.n, nil
	}
	solved, err := solveVars(sv.raw, s)
	if err != nil {
		return nil, err
	}
	return compileSolved(solved, asObject)
}

func compileSolved(solved any, asObject bool) (node, error) {
	if _, isMap := solved.(map[string]any); asObject && !isMap {
		return nil, failf("the rule must be an object")
	}
	return compile(solved), nil
}

func compileMapFilter(isFilter bool, args any) node {
	parsed, ok := args.([]any)
	if !ok {
		return failNode("map/filter: arguments must be an array")
	}
	if len(parsed) < 2 {
		return func(*scope) (any, error) { return []any{}, nil }
	}
	subject := compileSubject(parsed[0])
	logic := newSolvable(parsed[1])
	return func(s *scope) (any, error) {
		sv, err := subject(s)
		if err != nil {
			return nil, err
		}
		if sv == nil {
			return []any{}, nil
		}
		list, ok := sv.([]any)
		if !ok {
			return nil, failf("map/filter: the subject is not an array")
		}
		inner := logic.n
		var out []any
		if isFilter {
			if inner, err = logic.solvedRule(s, false, false); err != nil {
				return nil, err
			}
			out = make([]any, 0, len(list)/2)
		} else {
			out = make([]any, 0, len(list))
		}
		prev, wasBound := s.bind(nil)
		defer s.restore(prev, wasBound)
		for _, el := range list {
			s.data = el
			v, err := inner(s)
			if err != nil {
				return nil, err
			}
			if !isFilter {
				out = append(out, v)
			} else if isTrue(v) {
				out = append(out, el)
			}
		}
		return out, nil
	}
}

func compileReduce(args any) node {
	parsed, ok := args.([]any)
	if !ok {
		return failNode("reduce: arguments must be an array")
	}
	if len(parsed) < 3 {
		return func(*scope) (any, error) { return float64(0), nil }
	}
	initial := constant(parsed[2])
	if m, isMap := parsed[2].(map[string]any); isMap {
		initial = compile(m)
	}
	subject := compileSubject(parsed[0])
	body := failNode("reduce: the rule must be an object")
	if m, isMap := parsed[1].(map[string]any); isMap {
		body = compile(m)
	}
	return func(s *scope) (any, error) {
		init, err := initial(s)
		if err != nil {
			return nil, err
		}
		var acc any
		var valueType string
		switch init.(type) {
		case bool:
			acc, valueType = isTrue(init), "bool"
		case float64, int:
			n, _ := typingNumber(init)
			acc, valueType = n, "number"
		case string:
			acc, valueType = init, "string"
		default:
			return nil, failf("reduce: the type %q is not supported", jsonType(parsed[2]))
		}
		sv, err := subject(s)
		if err != nil {
			return nil, err
		}
		if sv == nil {
			return float64(0), nil
		}
		list, ok := sv.([]any)
		if !ok {
			return nil, failf("reduce: the subject is not an array")
		}
		data := map[string]any{"current": float64(0), "accumulator": acc, "valueType": valueType}
		prev, wasBound := s.bind(data)
		defer s.restore(prev, wasBound)
		for _, el := range list {
			if el == nil {
				continue
			}
			data["current"] = el
			v, err := body(s)
			if err != nil {
				return nil, err
			}
			switch valueType {
			case "bool":
				acc = isTrue(v)
			case "number":
				if acc, err = typingNumber(v); err != nil {
					return nil, err
				}
			default:
				if acc, err = toString(v); err != nil {
					return nil, err
				}
			}
			data["accumulator"] = acc
		}
		return acc, nil
	}
}

func compileQuantifier(op string, args any) node {
	parsed, ok := args.([]any)
	if !ok {
		return failNode("%s: arguments must be an array", op)
	}
	if len(parsed) == 0 {
		return failNode("%s: needs an array and a rule", op)
	}
	subject := compileSubject(parsed[0])
	var logic *solvable
	if len(parsed) >= 2 {
		logic = newSolvable(parsed[1])
	}
	return func(s *scope) (any, error) {
		sv, err := subject(s)
		if err != nil {
			return nil, err
		}
		if !isTrue(sv) {
			return op == "none", nil
		}
		if logic == nil {
			return nil, failf("%s: needs an array and a rule", op)
		}
		list, ok := sv.([]any)
		if !ok {
			return nil, failf("%s: the subject is not an array", op)
		}
		switch op {
		case "all":
			return all(list, logic, s)
		case "none":
			return noneOf(list, logic, s)
		}
		return some(list, logic, s)
	}
}

// all solves the rule against each element, then applies it to that element.
func all(list []any, logic *solvable, s *scope) (any, error) {
	prev, wasBound := s.bind(nil)
	defer s.restore(prev, wasBound)
	for _, el := range list {
		s.data = el
		rule, err := logic.solvedRule(s, true, true)
		if err != nil {
			return nil, err
		}
		v, err := rule(s)
		if err != nil {
			return nil, err
		}
		if !isTrue(v) {
			return false, nil
		}
	}
	return true, nil
}

// noneOf solves the rule once against the outer data, then applies it to each element.
func noneOf(list []any, logic *solvable, s *scope) (any, error) {
	rule, err := logic.solvedRule(s, false, true)
	if err != nil {
		return nil, err
	}
	prev, wasBound := s.bind(nil)
	defer s.restore(prev, wasBound)
	for _, el := range list {
		s.data = el
		v, err := rule(s)
		if err != nil {
			return nil, err
		}
		if isTrue(v) {
			return false, nil
		}
	}
	return true, nil
}

// some solves the rule against the outer data, then again against each element, and applies it to that element.
func some(list []any, logic *solvable, s *scope) (any, error) {
	same, err := logic.unchanged(s, false)
	if err != nil {
		return nil, err
	}
	var solved any
	if !same {
		if solved, err = solveVars(logic.raw, s); err != nil {
			return nil, err
		}
	}
	prev, wasBound := s.bind(nil)
	defer s.restore(prev, wasBound)
	for _, el := range list {
		s.data = el
		var rule node
		if same {
			rule, err = logic.solvedRule(s, true, true)
		} else {
			var again any
			if again, err = solveVars(solved, s); err == nil {
				rule, err = compileSolved(again, true)
			}
		}
		if err != nil {
			return nil, err
		}
		v, err := rule(s)
		if err != nil {
			return nil, err
		}
		if isTrue(v) {
			return true, nil
		}
	}
	return false, nil
}

// compileSet is the library's setProperty: a copy of the object with one property set to the third argument,
// which is interpreted as a rule a second time.
func compileSet(args any) node {
	a := compile(args)
	return func(s *scope) (any, error) {
		v, err := a(s)
		if err != nil {
			return nil, err
		}
		l, ok := v.([]any)
		if !ok {
			return nil, failf("set: arguments must be an array")
		}
		if len(l) < 3 {
			if len(l) == 0 {
				return nil, nil
			}
			return l[0], nil
		}
		obj, ok := l[0].(map[string]any)
		if !ok {
			return l[0], nil
		}
		prop, ok := l[1].(string)
		if !ok {
			return nil, failf("set: the property must be a string")
		}
		val := l[2]
		if !isPrimitive(val) && val != nil {
			if val, err = compile(val)(s); err != nil {
				return nil, err
			}
		}
		out := deepCopy(obj).(map[string]any)
		out[prop] = val
		return out, nil
	}
}
