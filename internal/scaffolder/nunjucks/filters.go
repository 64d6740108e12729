package nunjucks

import (
	"fmt"
	"html"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// filterFunc is a built-in filter. in is the filtered value; args and kw are the call's arguments.
type filterFunc func(ev *evaluator, in any, args []any, kw *Object) (any, error)

// params binds positional and keyword arguments to names, Undefined where neither gives a value.
func params(args []any, kw *Object, names ...string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		switch {
		case i < len(args):
			out[i] = args[i]
		case kw != nil && hasKey(kw, n):
			out[i], _ = kw.Get(n)
		default:
			out[i] = Undefined
		}
	}
	return out
}

func isSet(v any) bool { return !IsUndefined(v) }

// normalize is nunjucks' normalize(value, default): null, undefined and false become the default.
func normalize(v any, def any) any {
	if v == nil || IsUndefined(v) || v == false {
		return def
	}
	return v
}

// asString returns the string a string filter works on, failing like JavaScript's method call on a
// non-string (nunjucks filters call str.toLowerCase() and friends directly).
func (ev *evaluator) asString(filter string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	}
	if ev.py {
		return toStringPy(v), nil
	}
	return "", fmt.Errorf("expects a string, got %s", typeName(v))
}

func (ev *evaluator) asList(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case *Object:
		if ev.py {
			out := make([]any, 0, x.Len())
			for _, k := range x.Keys() {
				out = append(out, k)
			}
			return out, nil
		}
	case nil, undefinedType:
		if !ev.py {
			return nil, fmt.Errorf("cannot read properties of %s", typeName(v))
		}
		return nil, nil
	}
	return nil, fmt.Errorf("expects an array, got %s", typeName(v))
}

var builtinFilters map[string]filterFunc

func init() {
	builtinFilters = map[string]filterFunc{
		"abs": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			return math.Abs(toNumber(toPrimitive(in))), nil
		},
		"batch":      filterBatch,
		"capitalize": filterCapitalize,
		"center": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "width")
			s, err := ev.asString("center", normalize(in, ""))
			if err != nil {
				return nil, err
			}
			width := 80
			if w := toNumber(p[0]); isSet(p[0]) && w != 0 && !math.IsNaN(w) {
				if err := ev.wantSize(w); err != nil {
					return nil, err
				}
				width = int(w)
			}
			n := runeLen(s)
			if n >= width {
				return s, nil
			}
			spaces := width - n
			pre := spaces/2 - spaces%2
			if ev.py {
				pre = spaces / 2
				if spaces%2 == 1 && width%2 == 1 {
					pre++
				}
			}
			return strings.Repeat(" ", max(pre, 0)) + s + strings.Repeat(" ", spaces-max(pre, 0)), nil
		},
		"default": filterDefault,
		"d":       filterDefault,
		"dictsort": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "case_sensitive", "by")
			o, ok := in.(*Object)
			if !ok {
				return nil, fmt.Errorf("dictsort filter: val must be an object")
			}
			si := 0
			switch by := p[1]; {
			case !isSet(by) || by == "key":
			case by == "value":
				si = 1
			default:
				return nil, fmt.Errorf("dictsort filter: You can only sort by either key or value")
			}
			pairs := make([]any, 0, o.Len())
			for _, k := range o.Keys() {
				v, _ := o.Get(k)
				pairs = append(pairs, []any{k, v})
			}
			cs := truthy(p[0], false)
			sort.SliceStable(pairs, func(i, j int) bool {
				a, b := pairs[i].([]any)[si], pairs[j].([]any)[si]
				if !cs {
					if s, ok := a.(string); ok {
						a = strings.ToUpper(s)
					}
					if s, ok := b.(string); ok {
						b = strings.ToUpper(s)
					}
				}
				c, ok := compareJS(a, b)
				return ok && c < 0
			})
			return pairs, nil
		},
		"dump":    filterDump,
		"jsonify": filterDump,
		"tojson": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			if IsUndefined(in) {
				return nil, fmt.Errorf("undefined value")
			}
			// Jinja2's tojson is json.dumps with sorted keys and Python's separators, made safe for
			// HTML <script> tags.
			var b strings.Builder
			if err := writePyJSON(&b, in, 0); err != nil {
				return nil, err
			}
			return strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`, "'", `\u0027`).Replace(b.String()), nil
		},
		"escape": filterEscape,
		"e":      filterEscape,
		"forceescape": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			if in == nil || IsUndefined(in) {
				in = ""
			}
			return html.EscapeString(ev.str(in)), nil
		},
		"safe": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			if in == nil || IsUndefined(in) {
				return "", nil
			}
			if ev.py {
				return toStringPy(in), nil
			}
			return toStringJS(in), nil
		},
		"first": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			return ev.index(in, 0)
		},
		"last": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			n, err := ev.length(in)
			if err != nil {
				return nil, err
			}
			return ev.index(in, n-1)
		},
		"float": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "default")
			f := parseFloatPrefix(ev.str(in))
			if math.IsNaN(f) {
				if ev.py && !isSet(p[0]) {
					return 0.0, nil
				}
				return p[0], nil
			}
			return f, nil
		},
		"int": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "default", "base")
			base := 10
			if isSet(p[1]) {
				base = int(toNumber(p[1]))
			}
			f := parseIntPrefix(ev.str(in), base)
			if ev.py {
				if n, ok := in.(float64); ok {
					f = math.Trunc(n)
				}
			}
			if math.IsNaN(f) {
				if ev.py && !isSet(p[0]) {
					return 0.0, nil
				}
				return p[0], nil
			}
			return f, nil
		},
		"groupby": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "attribute")
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			out := NewObject(4)
			attr := ev.str(p[0])
			for _, item := range list {
				v, err := ev.path(item, attr)
				if err != nil {
					return nil, err
				}
				k := ev.str(v)
				cur, _ := out.Get(k)
				arr, _ := cur.([]any)
				out.Set(k, append(arr, item))
			}
			if ev.py {
				// Jinja2 returns (grouper, list) pairs sorted by the grouper.
				keys := append([]string(nil), out.Keys()...)
				sort.Strings(keys)
				res := make([]any, 0, len(keys))
				for _, k := range keys {
					v, _ := out.Get(k)
					res = append(res, ObjectOf("grouper", k, "list", v))
				}
				return res, nil
			}
			return out, nil
		},
		"indent": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "width", "first", "blank")
			if ev.py && !isSet(p[1]) && kw != nil && hasKey(kw, "indentfirst") {
				p[1], _ = kw.Get("indentfirst")
			}
			if !ev.py {
				p = params(args, kw, "width", "indentfirst")
			}
			s, err := ev.asString("indent", normalize(in, ""))
			if err != nil {
				return nil, err
			}
			if s == "" {
				return "", nil
			}
			pad := "    "
			if w, ok := p[0].(string); ok {
				pad = w
			} else if isSet(p[0]) && toNumber(p[0]) != 0 {
				if err := ev.wantSize(toNumber(p[0])); err != nil {
					return nil, err
				}
				pad = strings.Repeat(" ", max(int(toNumber(p[0])), 0))
			}
			lines := strings.Split(s, "\n")
			if err := ev.wantSize(float64(len(s) + len(lines)*len(pad))); err != nil {
				return nil, err
			}
			for i, l := range lines {
				if i == 0 && !truthy(p[1], false) {
					continue
				}
				if ev.py && l == "" && !truthy(p[2], false) {
					continue
				}
				lines[i] = pad + l
			}
			return strings.Join(lines, "\n"), nil
		},
		"join": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "d", "attribute")
			if !ev.py {
				p = params(args, kw, "del", "attr")
			}
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			sep := ""
			if truthy(p[0], false) {
				sep = ev.str(p[0])
			}
			var b strings.Builder
			for i, item := range list {
				if truthy(p[1], false) {
					if item, err = ev.member(item, p[1], true); err != nil {
						return nil, err
					}
				}
				if i > 0 {
					b.WriteString(sep)
				}
				if !ev.py && (item == nil || IsUndefined(item)) {
					continue
				}
				b.WriteString(ev.str(item))
				if err := ev.wantSize(float64(b.Len())); err != nil {
					return nil, err
				}
			}
			return b.String(), nil
		},
		"length": filterLength,
		"count":  filterLength,
		"list": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			switch x := in.(type) {
			case string:
				return ev.asList(x)
			case *Object:
				if ev.py {
					return ev.asList(x)
				}
				out := make([]any, 0, x.Len())
				for _, k := range x.Keys() {
					v, _ := x.Get(k)
					out = append(out, ObjectOf("key", k, "value", v))
				}
				return out, nil
			case []any:
				return x, nil
			}
			return nil, fmt.Errorf("list filter: type not iterable")
		},
		"lower": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			s, err := ev.asString("lower", normalize(in, ""))
			return strings.ToLower(s), err
		},
		"upper": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			s, err := ev.asString("upper", normalize(in, ""))
			return strings.ToUpper(s), err
		},
		"nl2br": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			if in == nil || IsUndefined(in) {
				return "", nil
			}
			s, err := ev.asString("nl2br", in)
			return strings.NewReplacer("\r\n", "<br />\n", "\n", "<br />\n").Replace(s), err
		},
		"reject":     selectOrReject(false),
		"select":     selectOrReject(true),
		"rejectattr": selectAttr(false),
		"selectattr": selectAttr(true),
		"replace":    filterReplace,
		"reverse": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			if s, ok := in.(string); ok {
				rs := []rune(s)
				for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
					rs[i], rs[j] = rs[j], rs[i]
				}
				return string(rs), nil
			}
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			out := make([]any, len(list))
			for i, v := range list {
				out[len(list)-1-i] = v
			}
			return out, nil
		},
		"round": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "precision", "method")
			prec := 0.0
			if isSet(p[0]) {
				prec = toNumber(p[0])
			}
			factor := math.Pow(10, prec)
			v := toNumber(toPrimitive(in)) * factor
			switch p[1] {
			case "ceil":
				v = math.Ceil(v)
			case "floor":
				v = math.Floor(v)
			default:
				if ev.py {
					v = math.RoundToEven(v)
				} else {
					v = math.Floor(v + 0.5) // Math.round rounds halves up
				}
			}
			return v / factor, nil
		},
		"slice": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "slices", "fill_with")
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			slices := int(toNumber(p[0]))
			if slices <= 0 {
				return []any{}, nil
			}
			if err := ev.wantItems(float64(slices)); err != nil {
				return nil, err
			}
			size, extra := len(list)/slices, len(list)%slices
			offset := 0
			var out []any
			for i := range slices {
				start := offset + i*size
				if i < extra {
					offset++
				}
				end := offset + (i+1)*size
				cur := append([]any{}, list[min(start, len(list)):min(end, len(list))]...)
				if truthy(p[1], false) && i >= extra {
					cur = append(cur, p[1])
				}
				out = append(out, cur)
			}
			return out, nil
		},
		"sort": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "reverse", "case_sensitive", "attribute")
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			out := append([]any{}, list...)
			rev, cs := truthy(p[0], false), truthy(p[1], false)
			key := func(v any) any {
				if truthy(p[2], false) {
					v, _ = ev.path(v, ev.str(p[2]))
				}
				if s, ok := v.(string); ok && !cs {
					return strings.ToLower(s)
				}
				return v
			}
			sort.SliceStable(out, func(i, j int) bool {
				c, ok := compareJS(key(out[i]), key(out[j]))
				if !ok {
					return false
				}
				if rev {
					return c > 0
				}
				return c < 0
			})
			return out, nil
		},
		"string": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			return ev.str(in), nil
		},
		"striptags": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "preserve_linebreaks")
			s, err := ev.asString("striptags", normalize(in, ""))
			if err != nil {
				return nil, err
			}
			s = strings.TrimSpace(stripTagsRE.ReplaceAllString(s, ""))
			if truthy(p[0], false) {
				s = regexp.MustCompile(`(?m)^ +| +$`).ReplaceAllString(s, "")
				s = regexp.MustCompile(` +`).ReplaceAllString(s, " ")
				s = strings.ReplaceAll(s, "\r\n", "\n")
				s = regexp.MustCompile(`\n\n\n+`).ReplaceAllString(s, "\n\n")
			} else {
				s = regexp.MustCompile(`\s+`).ReplaceAllString(s, " ")
			}
			return s, nil
		},
		"sum": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "attribute", "start")
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			var acc any = 0.0
			for _, v := range list {
				if truthy(p[0], false) {
					v, _ = ev.member(v, p[0], true)
				}
				acc = jsAdd(acc, v)
			}
			start := any(0.0)
			if isSet(p[1]) {
				start = p[1]
			}
			return jsAdd(start, acc), nil
		},
		"title": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			s, err := ev.asString("title", normalize(in, ""))
			if err != nil {
				return nil, err
			}
			if ev.py {
				parts := pyTitleSplit.Split(s, -1)
				seps := pyTitleSplit.FindAllString(s, -1)
				var b strings.Builder
				for i, w := range parts {
					b.WriteString(capitalizeWord(w))
					if i < len(seps) {
						b.WriteString(seps[i])
					}
				}
				return b.String(), nil
			}
			words := strings.Split(s, " ")
			for i, w := range words {
				words[i] = capitalizeWord(w)
			}
			return strings.Join(words, " "), nil
		},
		"trim": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			if ev.py {
				p := params(args, kw, "chars")
				s := toStringPy(in)
				if isSet(p[0]) && p[0] != nil {
					return strings.Trim(s, ev.str(p[0])), nil
				}
				return strings.TrimSpace(s), nil
			}
			s, err := ev.asString("trim", in)
			return strings.TrimFunc(s, isJSSpace), err
		},
		"truncate": filterTruncate,
		"urlencode": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			switch x := in.(type) {
			case string:
				return encodeURIComponent(x), nil
			case *Object:
				parts := make([]string, 0, x.Len())
				for _, k := range x.Keys() {
					v, _ := x.Get(k)
					parts = append(parts, encodeURIComponent(k)+"="+encodeURIComponent(ev.str(v)))
				}
				return strings.Join(parts, "&"), nil
			case []any:
				parts := make([]string, 0, len(x))
				for _, kv := range x {
					k, _ := ev.member(kv, 0.0, false)
					v, _ := ev.member(kv, 1.0, false)
					parts = append(parts, encodeURIComponent(ev.str(k))+"="+encodeURIComponent(ev.str(v)))
				}
				return strings.Join(parts, "&"), nil
			}
			return encodeURIComponent(ev.str(in)), nil
		},
		"wordcount": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			s, err := ev.asString("wordcount", normalize(in, ""))
			if err != nil {
				return nil, err
			}
			n := len(wordRE.FindAllString(s, -1))
			if n == 0 && !ev.py {
				return nil, nil
			}
			return float64(n), nil
		},
		"unique": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			var out []any
			budget := 1_000_000
		next:
			for _, v := range list {
				for _, seen := range out {
					if pyEqual(seen, v, &budget) {
						continue next
					}
				}
				out = append(out, v)
			}
			return out, nil
		},
		"min": minMax(-1),
		"max": minMax(1),
		"items": func(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
			o, ok := in.(*Object)
			if !ok {
				return []any{}, nil
			}
			out := make([]any, 0, o.Len())
			for _, k := range o.Keys() {
				v, _ := o.Get(k)
				out = append(out, []any{k, v})
			}
			return out, nil
		},
		"attr": func(ev *evaluator, in any, args []any, _ *Object) (any, error) {
			return ev.member(in, arg(args, 0), true)
		},
		"map": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			list, err := ev.asList(in)
			if err != nil {
				return nil, err
			}
			out := make([]any, 0, len(list))
			if kw != nil && hasKey(kw, "attribute") {
				a, _ := kw.Get("attribute")
				for _, v := range list {
					r, err := ev.path(v, ev.str(a))
					if err != nil {
						return nil, err
					}
					if IsUndefined(r) && hasKey(kw, "default") {
						r, _ = kw.Get("default")
					}
					out = append(out, r)
				}
				return out, nil
			}
			name := ev.str(arg(args, 0))
			f, ok := ev.env.filters[name]
			if !ok {
				return nil, fmt.Errorf("filter not found: %s", name)
			}
			for _, v := range list {
				r, err := f(ev, v, args[1:], nil)
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			}
			return out, nil
		},
		"format": func(ev *evaluator, in any, args []any, _ *Object) (any, error) {
			return pyPercentFormat(ev, ev.str(in), args)
		},
		"wordwrap": func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
			p := params(args, kw, "width")
			width := 79
			if isSet(p[0]) {
				width = int(toNumber(p[0]))
			}
			return wordwrap(ev.str(in), width), nil
		},
	}
}

var (
	stripTagsRE  = regexp.MustCompile(`(?i)</?([a-z][a-z0-9]*)\b[^>]*>|<!--[\s\S]*?-->`)
	wordRE       = regexp.MustCompile(`\w+`)
	pyTitleSplit = regexp.MustCompile(`[-\s({\[<]+`)
)

func isJSSpace(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }

func capitalizeWord(w string) string {
	rs := []rune(strings.ToLower(w))
	if len(rs) > 0 {
		rs[0] = unicode.ToUpper(rs[0])
	}
	return string(rs)
}

func filterCapitalize(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
	s, err := ev.asString("capitalize", normalize(in, ""))
	return capitalizeWord(s), err
}

func filterDefault(ev *evaluator, in any, args []any, kw *Object) (any, error) {
	p := params(args, kw, "default_value", "boolean")
	if !ev.py {
		p = params(args, kw, "def", "bool")
	}
	def := p[0]
	if ev.py && !isSet(def) {
		def = ""
	}
	if truthy(p[1], false) {
		if truthy(in, ev.py) {
			return in, nil
		}
		return def, nil
	}
	if IsUndefined(in) {
		return def, nil
	}
	return in, nil
}

func filterDump(ev *evaluator, in any, args []any, kw *Object) (any, error) {
	p := params(args, kw, "spaces")
	if ev.py {
		p = params(args, kw, "indent")
	}
	indent := ""
	switch s := p[0].(type) {
	case float64:
		indent = strings.Repeat(" ", max(0, min(10, int(s))))
	case string:
		indent = s
		if len(indent) > 10 {
			indent = indent[:10]
		}
	}
	out := &output{limit: ev.env.limits.MaxOutput}
	if IsUndefined(in) || isFunc(in) {
		return Undefined, nil
	}
	if err := writeJSON(out, in, indent, "", 0); err != nil {
		return nil, err
	}
	return out.b.String(), nil
}

func filterEscape(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
	if in == nil || IsUndefined(in) {
		in = ""
	}
	s := ev.str(in)
	// lib.escape in nunjucks: & " ' < > (Jinja2 escapes the same five).
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "'", "&#39;", "<", "&lt;", ">", "&gt;").Replace(s), nil
}

func filterLength(ev *evaluator, in any, _ []any, _ *Object) (any, error) {
	n, err := ev.length(normalize(in, ""))
	return float64(n), err
}

func (ev *evaluator) length(v any) (int, error) {
	switch x := v.(type) {
	case string:
		if ev.py {
			return len([]rune(x)), nil
		}
		return runeLen(x), nil
	case []any:
		return len(x), nil
	case *Object:
		return x.Len(), nil
	case nil, undefinedType:
		return 0, nil
	}
	if ev.py {
		return 0, fmt.Errorf("object of type '%s' has no len()", pyType(v))
	}
	return 0, nil
}

func (ev *evaluator) index(v any, i int) (any, error) {
	switch x := v.(type) {
	case string:
		rs := []rune(x)
		if i < 0 || i >= len(rs) {
			return Undefined, nil
		}
		return string(rs[i]), nil
	case []any:
		if i < 0 || i >= len(x) {
			return Undefined, nil
		}
		return x[i], nil
	case *Object:
		return ev.member(x, strconv.Itoa(i), false)
	case nil, undefinedType:
		return nil, fmt.Errorf("cannot read properties of %s", typeName(v))
	}
	return Undefined, nil
}

// path resolves a dotted attribute path such as "owner.name", as Jinja2's attribute arguments do.
func (ev *evaluator) path(v any, p string) (any, error) {
	for _, part := range strings.Split(p, ".") {
		var key any = part
		if n, err := strconv.Atoi(part); err == nil {
			if _, isList := v.([]any); isList {
				key = float64(n)
			}
		}
		var err error
		if v, err = ev.member(v, key, true); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func filterBatch(ev *evaluator, in any, args []any, kw *Object) (any, error) {
	p := params(args, kw, "linecount", "fill_with")
	list, err := ev.asList(in)
	if err != nil {
		return nil, err
	}
	n := int(toNumber(p[0]))
	if n <= 0 {
		return nil, fmt.Errorf("batch size must be positive")
	}
	var out []any
	var cur []any
	for i, v := range list {
		if i%n == 0 && len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, v)
	}
	if len(cur) > 0 {
		if truthy(p[1], false) {
			if err := ev.wantItems(float64(n)); err != nil {
				return nil, err
			}
			for len(cur) < n {
				cur = append(cur, p[1])
			}
		}
		out = append(out, cur)
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func selectOrReject(want bool) filterFunc {
	return func(ev *evaluator, in any, args []any, _ *Object) (any, error) {
		list, err := ev.asList(in)
		if err != nil {
			return nil, err
		}
		name := "truthy"
		if len(args) > 0 {
			name = ev.str(args[0])
		}
		t, ok := builtinTests[name]
		if !ok {
			return nil, fmt.Errorf("test not found: %s", name)
		}
		out := []any{}
		for _, v := range list {
			r, err := t(ev, v, args[min(1, len(args)):])
			if err != nil {
				return nil, err
			}
			if r == want {
				out = append(out, v)
			}
		}
		return out, nil
	}
}

func selectAttr(want bool) filterFunc {
	return func(ev *evaluator, in any, args []any, _ *Object) (any, error) {
		list, err := ev.asList(in)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, v := range list {
			a, err := ev.path(v, ev.str(arg(args, 0)))
			if err != nil {
				return nil, err
			}
			r := truthy(a, ev.py)
			if len(args) > 1 {
				t, ok := builtinTests[ev.str(args[1])]
				if !ok {
					return nil, fmt.Errorf("test not found: %s", ev.str(args[1]))
				}
				if r, err = t(ev, a, args[2:]); err != nil {
					return nil, err
				}
			}
			if r == want {
				out = append(out, v)
			}
		}
		return out, nil
	}
}

func filterReplace(ev *evaluator, in any, args []any, kw *Object) (any, error) {
	p := params(args, kw, "old", "new", "count")
	if re, ok := p[0].(*Regexp); ok {
		s, ok := in.(string)
		if !ok {
			return nil, fmt.Errorf("expects a string, got %s", typeName(in))
		}
		return re.replace(ev, s, p[1])
	}
	old := p[0]
	if f, ok := old.(float64); ok {
		old = jsNumber(f)
	} else if _, ok := old.(string); !ok {
		return in, nil
	}
	if f, ok := in.(float64); ok {
		in = ev.str(f)
	}
	s, ok := in.(string)
	if !ok {
		return in, nil
	}
	o := old.(string)
	nw := ev.str(p[1])
	if IsUndefined(p[1]) && !ev.py {
		nw = "undefined"
	}
	max := -1
	if isSet(p[2]) && p[2] != nil {
		max = int(toNumber(p[2]))
	}
	if o == "" {
		rs := []rune(s)
		if err := ev.wantSize(float64(len(s) + (len(rs)+1)*len(nw))); err != nil {
			return nil, err
		}
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = string(r)
		}
		return nw + strings.Join(parts, nw) + nw, nil
	}
	if max == 0 {
		return s, nil
	}
	n := strings.Count(s, o)
	if max > 0 && n > max {
		n = max
	}
	if err := ev.wantSize(float64(len(s) + n*(len(nw)-len(o)))); err != nil {
		return nil, err
	}
	return strings.Replace(s, o, nw, n), nil
}

func filterTruncate(ev *evaluator, in any, args []any, kw *Object) (any, error) {
	p := params(args, kw, "length", "killwords", "end", "leeway")
	s, err := ev.asString("truncate", normalize(in, ""))
	if err != nil {
		return nil, err
	}
	length := 255
	if l := toNumber(p[0]); isSet(p[0]) && l != 0 && !math.IsNaN(l) {
		length = int(l)
	}
	end := "..."
	if isSet(p[2]) && p[2] != nil {
		end = ev.str(p[2])
	}
	rs := []rune(s)
	if ev.py {
		leeway := 5
		if isSet(p[3]) {
			leeway = int(toNumber(p[3]))
		}
		if len(rs) <= length+leeway {
			return s, nil
		}
		cut := max(length-len([]rune(end)), 0)
		if truthy(p[1], true) {
			return string(rs[:cut]) + end, nil
		}
		res := string(rs[:cut])
		if i := strings.LastIndex(res, " "); i >= 0 {
			res = res[:i]
		}
		return res + end, nil
	}
	if runeLen(s) <= length {
		return s, nil
	}
	if truthy(p[1], false) {
		s = string(rs[:min(length, len(rs))])
	} else {
		idx := strings.LastIndex(string(rs[:min(length+1, len(rs))]), " ")
		if idx == -1 {
			s = string(rs[:min(length, len(rs))])
		} else {
			s = string(rs[:min(length+1, len(rs))])[:idx]
		}
	}
	return s + end, nil
}

func minMax(sign int) filterFunc {
	return func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
		list, err := ev.asList(in)
		if err != nil {
			return nil, err
		}
		p := params(args, kw, "case_sensitive", "attribute")
		var best any = Undefined
		for _, v := range list {
			k := v
			if truthy(p[1], false) {
				k, _ = ev.path(v, ev.str(p[1]))
			}
			if IsUndefined(best) {
				best = v
				continue
			}
			bk := best
			if truthy(p[1], false) {
				bk, _ = ev.path(best, ev.str(p[1]))
			}
			if s, ok := k.(string); ok && !truthy(p[0], false) {
				k = strings.ToLower(s)
				if bs, ok := bk.(string); ok {
					bk = strings.ToLower(bs)
				}
			}
			if c, ok := compareJS(k, bk); ok && c*sign > 0 {
				best = v
			}
		}
		return best, nil
	}
}

func jsAdd(a, b any) any {
	a, b = toPrimitive(a), toPrimitive(b)
	_, as := a.(string)
	_, bs := b.(string)
	if as || bs {
		return toStringJS(a) + toStringJS(b)
	}
	return toNumber(a) + toNumber(b)
}

// parseFloatPrefix is JavaScript's parseFloat: the longest numeric prefix, NaN if none.
func parseFloatPrefix(s string) float64 {
	s = strings.TrimLeftFunc(s, isJSSpace)
	m := floatPrefixRE.FindString(s)
	if m == "" {
		if strings.HasPrefix(s, "Infinity") || strings.HasPrefix(s, "+Infinity") {
			return math.Inf(1)
		}
		if strings.HasPrefix(s, "-Infinity") {
			return math.Inf(-1)
		}
		return math.NaN()
	}
	f, err := strconv.ParseFloat(m, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

var floatPrefixRE = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`)

// parseIntPrefix is JavaScript's parseInt(s, base).
func parseIntPrefix(s string, base int) float64 {
	s = strings.TrimLeftFunc(s, isJSSpace)
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg = s[0] == '-'
		s = s[1:]
	}
	if base == 16 || base == 0 {
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			s, base = s[2:], 16
		}
	}
	if base == 0 {
		base = 10
	}
	if base < 2 || base > 36 {
		return math.NaN()
	}
	n := 0.0
	digits := 0
	for _, r := range s {
		d := digitVal(r)
		if d < 0 || d >= base {
			break
		}
		n = n*float64(base) + float64(d)
		digits++
	}
	if digits == 0 {
		return math.NaN()
	}
	if neg {
		n = -n
	}
	return n
}

func digitVal(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= 'a' && r <= 'z':
		return int(r-'a') + 10
	case r >= 'A' && r <= 'Z':
		return int(r-'A') + 10
	}
	return -1
}

// encodeURIComponent escapes as JavaScript's function of that name.
func encodeURIComponent(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	for _, c := range []string{"!", "'", "(", ")", "*"} {
		e = strings.ReplaceAll(e, url.QueryEscape(c), c)
	}
	return e
}

func wordwrap(s string, width int) string {
	if width <= 0 {
		return s
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len(line)+1+len(w) > width {
				out = append(out, line)
				line = w
				continue
			}
			if line == "" {
				line = w
			} else {
				line += " " + w
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// pyPercentFormat is Python's "%s and %d" % args for the conversions templates use.
func pyPercentFormat(ev *evaluator, f string, args []any) (any, error) {
	var b strings.Builder
	ai := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case '%':
			b.WriteByte('%')
		case 's', 'r':
			b.WriteString(ev.str(arg(args, ai)))
			ai++
		case 'd', 'i':
			b.WriteString(strconv.FormatInt(int64(toNumber(arg(args, ai))), 10))
			ai++
		case 'f':
			b.WriteString(strconv.FormatFloat(toNumber(arg(args, ai)), 'f', 6, 64))
			ai++
		default:
			return nil, fmt.Errorf("unsupported format character %q", f[i])
		}
	}
	return b.String(), nil
}

// ---- tests (x is name) ----

type testFunc func(ev *evaluator, v any, args []any) (bool, error)

var builtinTests = map[string]testFunc{
	"defined":   func(_ *evaluator, v any, _ []any) (bool, error) { return !IsUndefined(v), nil },
	"undefined": func(_ *evaluator, v any, _ []any) (bool, error) { return IsUndefined(v), nil },
	"null":      func(_ *evaluator, v any, _ []any) (bool, error) { return v == nil, nil },
	"none":      func(_ *evaluator, v any, _ []any) (bool, error) { return v == nil, nil },
	"number": func(_ *evaluator, v any, _ []any) (bool, error) {
		_, ok := v.(float64)
		return ok, nil
	},
	"string": func(_ *evaluator, v any, _ []any) (bool, error) {
		_, ok := v.(string)
		return ok, nil
	},
	"boolean": func(_ *evaluator, v any, _ []any) (bool, error) {
		_, ok := v.(bool)
		return ok, nil
	},
	"true":  func(_ *evaluator, v any, _ []any) (bool, error) { return v == true, nil },
	"false": func(_ *evaluator, v any, _ []any) (bool, error) { return v == false, nil },
	"odd": func(_ *evaluator, v any, _ []any) (bool, error) {
		return math.Mod(toNumber(toPrimitive(v)), 2) == 1, nil
	},
	"even": func(_ *evaluator, v any, _ []any) (bool, error) {
		return math.Mod(toNumber(toPrimitive(v)), 2) == 0, nil
	},
	"divisibleby": func(_ *evaluator, v any, a []any) (bool, error) {
		return math.Mod(toNumber(toPrimitive(v)), toNumber(toPrimitive(arg(a, 0)))) == 0, nil
	},
	"equalto": testEq, "eq": testEq, "sameas": testEq, "==": testEq,
	"ne": func(ev *evaluator, v any, a []any) (bool, error) {
		r, err := testEq(ev, v, a)
		return !r, err
	},
	"!=": func(ev *evaluator, v any, a []any) (bool, error) {
		r, err := testEq(ev, v, a)
		return !r, err
	},
	"lt": testCmp(func(c int) bool { return c < 0 }), "lessthan": testCmp(func(c int) bool { return c < 0 }),
	"<":  testCmp(func(c int) bool { return c < 0 }),
	"le": testCmp(func(c int) bool { return c <= 0 }), "<=": testCmp(func(c int) bool { return c <= 0 }),
	"gt": testCmp(func(c int) bool { return c > 0 }), "greaterthan": testCmp(func(c int) bool { return c > 0 }),
	">":  testCmp(func(c int) bool { return c > 0 }),
	"ge": testCmp(func(c int) bool { return c >= 0 }), ">=": testCmp(func(c int) bool { return c >= 0 }),
	"truthy": func(ev *evaluator, v any, _ []any) (bool, error) { return truthy(v, ev.py), nil },
	"falsy":  func(ev *evaluator, v any, _ []any) (bool, error) { return !truthy(v, ev.py), nil },
	"lower": func(_ *evaluator, v any, _ []any) (bool, error) {
		s, ok := v.(string)
		return ok && strings.ToLower(s) == s, nil
	},
	"upper": func(_ *evaluator, v any, _ []any) (bool, error) {
		s, ok := v.(string)
		return ok && strings.ToUpper(s) == s, nil
	},
	"iterable": func(_ *evaluator, v any, _ []any) (bool, error) {
		switch v.(type) {
		case []any, string, *Object:
			return true, nil
		}
		return false, nil
	},
	"sequence": func(_ *evaluator, v any, _ []any) (bool, error) {
		switch v.(type) {
		case []any, string, *Object:
			return true, nil
		}
		return false, nil
	},
	"mapping": func(_ *evaluator, v any, _ []any) (bool, error) {
		_, ok := v.(*Object)
		return ok, nil
	},
	"callable": func(_ *evaluator, v any, _ []any) (bool, error) { return isFunc(v), nil },
	"escaped":  func(_ *evaluator, _ any, _ []any) (bool, error) { return false, nil },
	"in": func(ev *evaluator, v any, a []any) (bool, error) {
		r, err := ev.in(v, arg(a, 0))
		b, _ := r.(bool)
		return b, err
	},
}

func testEq(ev *evaluator, v any, a []any) (bool, error) {
	if ev.py {
		budget := 100000
		return pyEqual(v, arg(a, 0), &budget), nil
	}
	return strictEqual(v, arg(a, 0)), nil
}

func testCmp(ok func(int) bool) testFunc {
	return func(_ *evaluator, v any, a []any) (bool, error) {
		c, valid := compareJS(v, arg(a, 0))
		return valid && ok(c), nil
	}
}

// writePyJSON is Python's json.dumps(v, sort_keys=True): ", " and ": " separators, ASCII escapes.
func writePyJSON(b *strings.Builder, v any, depth int) error {
	if depth > 64 {
		return errTooDeep
	}
	switch x := v.(type) {
	case *Object:
		keys := append([]string(nil), x.Keys()...)
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyJSONString(k) + ": ")
			e, _ := x.Get(k)
			if err := writePyJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("}")
	case []any:
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writePyJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("]")
	case string:
		b.WriteString(pyJSONString(x))
	case float64:
		b.WriteString(pyNumber(x))
	default:
		return writeJSON(b, v, "", "", depth)
	}
	return nil
}

func pyJSONString(s string) string {
	q := quoteJSON(s)
	var b strings.Builder
	for _, r := range q {
		if r > 0x7e {
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
