package nunjucks

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Templates may call a short, fixed list of methods on strings, arrays, numbers and objects: the
// JavaScript ones Backstage templates use (name.split('/'), str.toUpperCase()), and under Jinja2 rules
// the Python ones cookiecutter skeletons use (name.lower().replace(' ', '_')). Nothing else is
// reachable, and no method mutates a value.

func method(name string, f func(ev *evaluator, args []any, kw *Object) (any, error)) *Func {
	return &Func{Name: name, Call: f}
}

func (ev *evaluator) stringMethod(s string, name string) *Func {
	if ev.py {
		return ev.pyStringMethod(s, name)
	}
	num := func(args []any, i int, def int) int {
		v := arg(args, i)
		if IsUndefined(v) {
			return def
		}
		f := toNumber(toPrimitive(v))
		if math.IsNaN(f) {
			return 0
		}
		if math.IsInf(f, 1) || f > 1e15 {
			return math.MaxInt32
		}
		if math.IsInf(f, -1) || f < -1e15 {
			return math.MinInt32
		}
		return int(f)
	}
	rs := func() []rune { return []rune(s) }
	clampRel := func(i, n int) int {
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	switch name {
	case "toUpperCase", "toLocaleUpperCase":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return strings.ToUpper(s), nil })
	case "toLowerCase", "toLocaleLowerCase":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return strings.ToLower(s), nil })
	case "trim":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return strings.TrimFunc(s, isJSSpace), nil })
	case "trimStart", "trimLeft":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return strings.TrimLeftFunc(s, isJSSpace), nil })
	case "trimEnd", "trimRight":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) {
			return strings.TrimRightFunc(s, isJSSpace), nil
		})
	case "toString", "valueOf":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return s, nil })
	case "split":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			sep := arg(args, 0)
			limit := num(args, 1, -1)
			var parts []string
			switch x := sep.(type) {
			case undefinedType:
				return []any{s}, nil
			case *Regexp:
				parts = x.re.Split(s, -1)
			default:
				p := toStringJS(x)
				if p == "" {
					for _, r := range s {
						parts = append(parts, string(r))
					}
				} else {
					parts = strings.Split(s, p)
				}
			}
			if limit >= 0 && len(parts) > limit {
				parts = parts[:limit]
			}
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		})
	case "replace", "replaceAll":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			pat, repl := arg(args, 0), arg(args, 1)
			if re, ok := pat.(*Regexp); ok {
				return re.replace(ev, s, repl)
			}
			p := toStringJS(pat)
			r := toStringJS(repl)
			n := 1
			if name == "replaceAll" {
				n = -1
			}
			if err := ev.wantSize(float64(len(s) + max(strings.Count(s, p), 1)*len(r))); err != nil {
				return nil, err
			}
			return strings.Replace(s, p, expandDollar(r, []string{p}, nil), n), nil
		})
	case "includes":
		if ev.py {
			return nil
		}
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			return strings.Contains(s, toStringJS(arg(args, 0))), nil
		})
	case "startsWith":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			r := rs()
			from := clampRel(max(num(args, 1, 0), 0), len(r))
			return strings.HasPrefix(string(r[from:]), toStringJS(arg(args, 0))), nil
		})
	case "endsWith":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			r := rs()
			end := max(0, min(num(args, 1, len(r)), len(r)))
			return strings.HasSuffix(string(r[:end]), toStringJS(arg(args, 0))), nil
		})
	case "indexOf", "lastIndexOf", "search":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			var i int
			if re, ok := arg(args, 0).(*Regexp); ok && name == "search" {
				loc := re.re.FindStringIndex(s)
				if loc == nil {
					return -1.0, nil
				}
				i = loc[0]
			} else if name == "lastIndexOf" {
				i = strings.LastIndex(s, toStringJS(arg(args, 0)))
			} else {
				i = strings.Index(s, toStringJS(arg(args, 0)))
			}
			if i < 0 {
				return -1.0, nil
			}
			return float64(len([]rune(s[:i]))), nil
		})
	case "slice":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			r := rs()
			a, b := clampRel(num(args, 0, 0), len(r)), clampRel(num(args, 1, len(r)), len(r))
			if a >= b {
				return "", nil
			}
			return string(r[a:b]), nil
		})
	case "substring":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			r := rs()
			a, b := max(0, min(num(args, 0, 0), len(r))), max(0, min(num(args, 1, len(r)), len(r)))
			if a > b {
				a, b = b, a
			}
			return string(r[a:b]), nil
		})
	case "substr":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			r := rs()
			a := clampRel(num(args, 0, 0), len(r))
			n := max(0, min(num(args, 1, len(r)-a), len(r)-a))
			return string(r[a : a+n]), nil
		})
	case "charAt", "at":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			r := rs()
			i := num(args, 0, 0)
			if name == "at" && i < 0 {
				i += len(r)
			}
			if i < 0 || i >= len(r) {
				if name == "at" {
					return Undefined, nil
				}
				return "", nil
			}
			return string(r[i]), nil
		})
	case "padStart", "padEnd":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			target := num(args, 0, 0)
			if err := ev.wantSize(float64(target)); err != nil {
				return nil, err
			}
			pad := " "
			if v := arg(args, 1); !IsUndefined(v) {
				pad = toStringJS(v)
			}
			n := target - runeLen(s)
			if n <= 0 || pad == "" {
				return s, nil
			}
			fill := []rune(strings.Repeat(pad, n/len([]rune(pad))+1))[:n]
			if name == "padStart" {
				return string(fill) + s, nil
			}
			return s + string(fill), nil
		})
	case "repeat":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			n := num(args, 0, 0)
			if n < 0 {
				return nil, fmt.Errorf("invalid count value: %d", n)
			}
			if err := ev.wantSize(float64(len(s)) * float64(n)); err != nil {
				return nil, err
			}
			return strings.Repeat(s, n), nil
		})
	case "concat":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			var b strings.Builder
			b.WriteString(s)
			for _, a := range args {
				b.WriteString(toStringJS(a))
			}
			return b.String(), nil
		})
	case "match":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			re, ok := arg(args, 0).(*Regexp)
			if !ok {
				var err error
				if re, err = compileJSRegexp(regexp.QuoteMeta(toStringJS(arg(args, 0))), ""); err != nil {
					return nil, err
				}
			}
			if re.global {
				all := re.re.FindAllString(s, -1)
				if all == nil {
					return nil, nil
				}
				out := make([]any, len(all))
				for i, m := range all {
					out[i] = m
				}
				return out, nil
			}
			m := re.re.FindStringSubmatch(s)
			if m == nil {
				return nil, nil
			}
			out := make([]any, len(m))
			for i, g := range m {
				out[i] = g
			}
			return out, nil
		})
	}
	return nil
}

func (ev *evaluator) pyStringMethod(s string, name string) *Func {
	str := func(args []any, i int) (string, bool) {
		v := arg(args, i)
		if IsUndefined(v) || v == nil {
			return "", false
		}
		return ev.str(v), true
	}
	switch name {
	case "lower":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return strings.ToLower(s), nil })
	case "upper":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return strings.ToUpper(s), nil })
	case "title":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return pyTitle(s), nil })
	case "capitalize":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) { return capitalizeWord(s), nil })
	case "swapcase":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) {
			return strings.Map(func(r rune) rune {
				if unicode.IsUpper(r) {
					return unicode.ToLower(r)
				}
				return unicode.ToUpper(r)
			}, s), nil
		})
	case "strip", "lstrip", "rstrip":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			chars, ok := str(args, 0)
			trim := map[string]func(string, string) string{"strip": strings.Trim, "lstrip": strings.TrimLeft, "rstrip": strings.TrimRight}[name]
			if !ok {
				f := map[string]func(string, func(rune) bool) string{"strip": strings.TrimFunc, "lstrip": strings.TrimLeftFunc, "rstrip": strings.TrimRightFunc}[name]
				return f(s, unicode.IsSpace), nil
			}
			return trim(s, chars), nil
		})
	case "split", "rsplit":
		return method(name, func(ev *evaluator, args []any, kw *Object) (any, error) {
			p := params(args, kw, "sep", "maxsplit")
			n := -1
			if isSet(p[1]) {
				n = int(toNumber(p[1]))
			}
			var parts []string
			if !isSet(p[0]) || p[0] == nil {
				parts = strings.Fields(s)
				if n >= 0 && len(parts) > n+1 {
					if name == "split" {
						parts = append(parts[:n:n], strings.Join(parts[n:], " "))
					} else {
						k := len(parts) - n
						parts = append([]string{strings.Join(parts[:k], " ")}, parts[k:]...)
					}
				}
			} else {
				sep := ev.str(p[0])
				if sep == "" {
					return nil, fmt.Errorf("empty separator")
				}
				if n >= 0 && name == "rsplit" {
					all := strings.Split(s, sep)
					if len(all) > n+1 {
						k := len(all) - n
						parts = append([]string{strings.Join(all[:k], sep)}, all[k:]...)
					} else {
						parts = all
					}
				} else if n >= 0 {
					parts = strings.SplitN(s, sep, n+1)
				} else {
					parts = strings.Split(s, sep)
				}
			}
			out := make([]any, len(parts))
			for i, v := range parts {
				out[i] = v
			}
			return out, nil
		})
	case "splitlines":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) {
			lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
			if len(lines) > 0 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			out := make([]any, len(lines))
			for i, v := range lines {
				out[i] = v
			}
			return out, nil
		})
	case "replace":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			old, _ := str(args, 0)
			nw, _ := str(args, 1)
			n := -1
			if v := arg(args, 2); isSet(v) {
				n = int(toNumber(v))
			}
			if err := ev.wantSize(float64(len(s) + (strings.Count(s, old)+1)*len(nw))); err != nil {
				return nil, err
			}
			return strings.Replace(s, old, nw, n), nil
		})
	case "startswith", "endswith":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			var cands []string
			switch x := arg(args, 0).(type) {
			case []any:
				for _, c := range x {
					cands = append(cands, ev.str(c))
				}
			default:
				cands = []string{ev.str(x)}
			}
			for _, c := range cands {
				if (name == "startswith" && strings.HasPrefix(s, c)) || (name == "endswith" && strings.HasSuffix(s, c)) {
					return true, nil
				}
			}
			return false, nil
		})
	case "find", "index", "rfind", "rindex", "count":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			sub, _ := str(args, 0)
			if name == "count" {
				return float64(strings.Count(s, sub)), nil
			}
			var i int
			if name[0] == 'r' {
				i = strings.LastIndex(s, sub)
			} else {
				i = strings.Index(s, sub)
			}
			if i < 0 {
				if strings.HasSuffix(name, "index") {
					return nil, fmt.Errorf("substring not found")
				}
				return -1.0, nil
			}
			return float64(len([]rune(s[:i]))), nil
		})
	case "join":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			list, err := ev.asList(arg(args, 0))
			if err != nil {
				return nil, err
			}
			parts := make([]string, len(list))
			for i, v := range list {
				parts[i] = ev.str(v)
			}
			out := strings.Join(parts, s)
			return out, ev.wantSize(float64(len(out)))
		})
	case "zfill", "ljust", "rjust", "center":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			w := int(toNumber(arg(args, 0)))
			if err := ev.wantSize(float64(w)); err != nil {
				return nil, err
			}
			fill := " "
			if f, ok := str(args, 1); ok && f != "" {
				fill = f
			}
			n := w - len([]rune(s))
			if n <= 0 {
				return s, nil
			}
			switch name {
			case "zfill":
				if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
					return s[:1] + strings.Repeat("0", n) + s[1:], nil
				}
				return strings.Repeat("0", n) + s, nil
			case "ljust":
				return s + strings.Repeat(fill, n), nil
			case "rjust":
				return strings.Repeat(fill, n) + s, nil
			}
			left := n / 2
			if n%2 == 1 && w%2 == 1 {
				left++
			}
			return strings.Repeat(fill, left) + s + strings.Repeat(fill, n-left), nil
		})
	case "isdigit", "isalpha", "isalnum", "islower", "isupper", "isspace":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) {
			if s == "" {
				return false, nil
			}
			switch name {
			case "islower":
				return strings.ToLower(s) == s && strings.ToUpper(s) != s, nil
			case "isupper":
				return strings.ToUpper(s) == s && strings.ToLower(s) != s, nil
			}
			for _, r := range s {
				ok := map[string]bool{
					"isdigit": unicode.IsDigit(r), "isalpha": unicode.IsLetter(r),
					"isalnum": unicode.IsLetter(r) || unicode.IsDigit(r), "isspace": unicode.IsSpace(r),
				}[name]
				if !ok {
					return false, nil
				}
			}
			return true, nil
		})
	case "format":
		return method(name, func(ev *evaluator, args []any, kw *Object) (any, error) {
			return pyFormat(ev, s, args, kw)
		})
	}
	return nil
}

func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			prevLetter = true
		} else {
			b.WriteRune(r)
			prevLetter = false
		}
	}
	return b.String()
}

// pyFormat is str.format for {} {0} {name} fields without format specs.
func pyFormat(ev *evaluator, f string, args []any, kw *Object) (any, error) {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '{' && i+1 < len(f) && f[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		if c == '}' && i+1 < len(f) && f[i+1] == '}' {
			b.WriteByte('}')
			i++
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(f[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("single '{' encountered in format string")
		}
		field := f[i+1 : i+end]
		field, _, _ = strings.Cut(field, ":")
		var v any
		switch n, err := strconv.Atoi(field); {
		case field == "":
			v = arg(args, auto)
			auto++
		case err == nil:
			v = arg(args, n)
		default:
			v, _ = kw.Get(field)
		}
		b.WriteString(ev.str(v))
		i += end
	}
	return b.String(), nil
}

func (ev *evaluator) arrayMethod(a []any, name string) *Func {
	switch name {
	case "join":
		if ev.py {
			return nil
		}
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			return builtinFilters["join"](ev, a, []any{normalizeSep(arg(args, 0))}, nil)
		})
	case "includes":
		if ev.py {
			return nil
		}
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			for _, e := range a {
				if strictEqual(e, arg(args, 0)) {
					return true, nil
				}
			}
			return false, nil
		})
	case "indexOf", "find", "index", "count":
		allowed := (!ev.py && (name == "indexOf" || ev.env.opts.JinjaCompat)) || (ev.py && (name == "index" || name == "count"))
		if !allowed {
			return nil
		}
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			budget := 100000
			n := 0
			for i, e := range a {
				eq := strictEqual(e, arg(args, 0))
				if ev.py {
					eq = pyEqual(e, arg(args, 0), &budget)
				}
				if eq {
					if name == "count" {
						n++
						continue
					}
					return float64(i), nil
				}
			}
			switch name {
			case "count":
				return float64(n), nil
			case "index":
				return nil, fmt.Errorf("ValueError")
			}
			return -1.0, nil
		})
	case "slice", "concat", "at", "toString":
		if ev.py {
			return nil
		}
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			switch name {
			case "toString":
				return toStringJS(a), nil
			case "at":
				i := int(toNumber(arg(args, 0)))
				if i < 0 {
					i += len(a)
				}
				if i < 0 || i >= len(a) {
					return Undefined, nil
				}
				return a[i], nil
			case "concat":
				out := append([]any{}, a...)
				for _, x := range args {
					if xs, ok := x.([]any); ok {
						out = append(out, xs...)
					} else {
						out = append(out, x)
					}
				}
				return out, ev.wantItems(float64(len(out)))
			}
			n := len(a)
			rel := func(v any, def int) int {
				if IsUndefined(v) {
					return def
				}
				i := int(toNumber(v))
				if i < 0 {
					i += n
				}
				return max(0, min(i, n))
			}
			s, e := rel(arg(args, 0), 0), rel(arg(args, 1), n)
			if s >= e {
				return []any{}, nil
			}
			return append([]any{}, a[s:e]...), nil
		})
	}
	return nil
}

func normalizeSep(v any) any {
	if IsUndefined(v) {
		return ","
	}
	return v
}

func (ev *evaluator) objectMethod(o *Object, name string) *Func {
	if !ev.py && !ev.env.opts.JinjaCompat {
		return nil
	}
	switch name {
	case "items", "iteritems":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) {
			return builtinFilters["items"](ev, o, nil, nil)
		})
	case "keys", "iterkeys":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) {
			out := make([]any, 0, o.Len())
			for _, k := range o.Keys() {
				out = append(out, k)
			}
			return out, nil
		})
	case "values", "itervalues":
		return method(name, func(ev *evaluator, _ []any, _ *Object) (any, error) {
			out := make([]any, 0, o.Len())
			for _, k := range o.Keys() {
				v, _ := o.Get(k)
				out = append(out, v)
			}
			return out, nil
		})
	case "get":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			if v, ok := o.Get(ev.str(arg(args, 0))); ok && !IsUndefined(v) {
				return v, nil
			}
			def := arg(args, 1)
			if ev.py && IsUndefined(def) {
				return nil, nil
			}
			return def, nil
		})
	case "has_key":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			return hasKey(o, ev.str(arg(args, 0))), nil
		})
	}
	return nil
}

func (ev *evaluator) numberMethod(f float64, name string) *Func {
	switch name {
	case "toString":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			if b := arg(args, 0); !IsUndefined(b) && toNumber(b) != 10 {
				base := int(toNumber(b))
				if base < 2 || base > 36 {
					return nil, fmt.Errorf("toString() radix must be between 2 and 36")
				}
				if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
					return strconv.FormatInt(int64(f), base), nil
				}
			}
			return jsNumber(f), nil
		})
	case "toFixed":
		return method(name, func(ev *evaluator, args []any, _ *Object) (any, error) {
			d := int(toNumber(normalize(arg(args, 0), 0.0)))
			if d < 0 || d > 100 {
				return nil, fmt.Errorf("toFixed() digits argument must be between 0 and 100")
			}
			return strconv.FormatFloat(f, 'f', d, 64), nil
		})
	}
	return nil
}

// ---- regular expressions ----

// compileJSRegexp translates a JavaScript regex literal to Go's RE2. Patterns RE2 cannot run in
// linear time (back-references, look-around) are refused, which also rules out catastrophic
// backtracking inside a template.
func compileJSRegexp(source, flags string) (*Regexp, error) {
	var prefix string
	for _, f := range flags {
		switch f {
		case 'i':
			prefix += "i"
		case 'm':
			prefix += "m"
		case 'g', 'y':
		default:
			return nil, fmt.Errorf("invalid regular expression flag %q", f)
		}
	}
	pat := source
	if prefix != "" {
		pat = "(?" + prefix + ")" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression /%s/: %v", source, err)
	}
	return &Regexp{Source: source, Flags: flags, re: re, global: strings.ContainsRune(flags, 'g')}, nil
}

// replace is String.prototype.replace with a regex: every match when the regex is global, else the
// first, with $1, $& and $$ in the replacement.
func (re *Regexp) replace(ev *evaluator, s string, repl any) (any, error) {
	r := toStringJS(repl)
	n := 1
	if re.global {
		n = -1
	}
	var b strings.Builder
	last := 0
	for _, m := range re.re.FindAllStringSubmatchIndex(s, n) {
		b.WriteString(s[last:m[0]])
		groups := make([]string, 0, len(m)/2)
		for i := 0; i < len(m); i += 2 {
			if m[i] < 0 {
				groups = append(groups, "")
			} else {
				groups = append(groups, s[m[i]:m[i+1]])
			}
		}
		b.WriteString(expandDollar(r, groups, nil))
		last = m[1]
		if b.Len() > ev.env.limits.MaxOutput {
			return nil, &limitError{fmt.Sprintf("template value exceeds %d bytes", ev.env.limits.MaxOutput)}
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// expandDollar expands JavaScript replacement patterns: $$, $& and $1..$99.
func expandDollar(r string, groups []string, _ []string) string {
	if !strings.Contains(r, "$") {
		return r
	}
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		if r[i] != '$' || i+1 >= len(r) {
			b.WriteByte(r[i])
			continue
		}
		c := r[i+1]
		switch {
		case c == '$':
			b.WriteByte('$')
			i++
		case c == '&':
			b.WriteString(groups[0])
			i++
		case c >= '0' && c <= '9':
			n := int(c - '0')
			j := i + 2
			if j < len(r) && r[j] >= '0' && r[j] <= '9' && n*10+int(r[j]-'0') < len(groups) {
				n = n*10 + int(r[j]-'0')
				j++
			}
			if n >= 1 && n < len(groups) {
				b.WriteString(groups[n])
				i = j - 1
			} else {
				b.WriteByte('$')
			}
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// ---- globals ----

func builtinGlobals() map[string]any {
	return map[string]any{
		"range": &Func{Name: "range", Call: func(ev *evaluator, args []any, _ *Object) (any, error) {
			start, stop, step := 0.0, toNumber(arg(args, 0)), 1.0
			if len(args) > 1 && !IsUndefined(args[1]) {
				start, stop = toNumber(args[0]), toNumber(args[1])
				if len(args) > 2 && truthy(args[2], false) {
					step = toNumber(args[2])
				}
			}
			if step == 0 || math.IsNaN(start) || math.IsNaN(stop) || math.IsNaN(step) {
				return []any{}, nil
			}
			n := math.Ceil((stop - start) / step)
			if n <= 0 {
				return []any{}, nil
			}
			if err := ev.wantItems(n); err != nil {
				return nil, err
			}
			out := make([]any, 0, int(n))
			for i := 0; i < int(n); i++ {
				out = append(out, start+float64(i)*step)
			}
			return out, nil
		}},
		"cycler": &Func{Name: "cycler", Call: func(ev *evaluator, args []any, _ *Object) (any, error) {
			items := append([]any{}, args...)
			idx := -1
			c := NewObject(2)
			c.Set("current", nil)
			c.Set("next", &Func{Name: "next", Call: func(ev *evaluator, _ []any, _ *Object) (any, error) {
				if len(items) == 0 {
					return Undefined, nil
				}
				idx = (idx + 1) % len(items)
				c.Set("current", items[idx])
				return items[idx], nil
			}})
			c.Set("reset", &Func{Name: "reset", Call: func(ev *evaluator, _ []any, _ *Object) (any, error) {
				idx = -1
				c.Set("current", nil)
				return Undefined, nil
			}})
			return c, nil
		}},
		"joiner": &Func{Name: "joiner", Call: func(ev *evaluator, args []any, _ *Object) (any, error) {
			sep := ","
			if truthy(arg(args, 0), false) {
				sep = toStringJS(args[0])
			}
			first := true
			return &Func{Name: "joiner", Call: func(ev *evaluator, _ []any, _ *Object) (any, error) {
				if first {
					first = false
					return "", nil
				}
				return sep, nil
			}}, nil
		}},
	}
}
