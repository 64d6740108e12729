package action

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

// fetch:cookiecutter renders a Cookiecutter template in process, where Backstage runs the cookiecutter
// CLI in a container: cookiecutter.json supplies defaults (rendered in order, so later defaults may
// use earlier ones; a list's first entry is its default), the input's values override them, and the
// one top-level "{{cookiecutter.x}}" directory is rendered with Jinja2 semantics and StrictUndefined,
// as cookiecutter does. Its contents land in targetPath. Hooks are not run: a template runs no code.

func fetchCookiecutter(opts Options) scaffolder.Action {
	const id = "fetch:cookiecutter"
	return &simple{
		info: scaffolder.ActionInfo{
			ID:          id,
			Description: "Downloads a template from the given URL into the workspace, and runs cookiecutter on it.",
			Examples:    []scaffolder.ActionExample{{Description: "Fetch and template using cookiecutter.", Example: "steps:\n  - id: fetch\n    action: fetch:cookiecutter\n    input:\n      url: ./cookiecutter\n      values:\n        project_name: payments\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["url", "values"], "additionalProperties": false, "properties": {
				"url": {"type": "string", "title": "Fetch URL", "description": "Relative path or absolute URL pointing to the directory tree to fetch"},
				"targetPath": {"type": "string", "title": "Target Path", "description": "Target path within the working directory to download the contents to."},
				"values": {"type": "object", "title": "Template Values", "description": "Values to pass on to cookiecutter for templating"},
				"copyWithoutRender": {"type": "array", "items": {"type": "string"}, "title": "Copy Without Render", "description": "Avoid rendering directories and files in the template"},
				"extensions": {"type": "array", "items": {"type": "string"}, "title": "Template Extensions", "description": "Jinja2 extensions to add filters, tests, globals or extend the parser. Only the built-in ones (jsonify, slugify) are available."},
				"imageName": {"type": "string", "title": "Cookiecutter Docker image", "description": "Ignored: Portal renders cookiecutter templates in process."}}}`),
			Output:         schema(id, "output", emptyOutput),
			SupportsDryRun: true,
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				URL               string   `json:"url"`
				TargetPath        string   `json:"targetPath"`
				CopyWithoutRender []string `json:"copyWithoutRender"`
				Extensions        []string `json:"extensions"`
			}
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			for _, e := range in.Extensions {
				switch e {
				case "cookiecutter.extensions.JsonifyExtension", "cookiecutter.extensions.SlugifyExtension", "jinja2_time.TimeExtension":
				default:
					return errs.E(errs.Invalid, "Jinja2 extension %q is not available; templates run no Python code", e)
				}
			}
			ac.Log("Fetching template content from remote URL")
			tmp, err := templateTree(ctx, ac, in.URL)
			if err != nil {
				return err
			}
			defer tmp.RemoveAll()
			return renderCookiecutter(ctx, ac, tmp, in.TargetPath, in.CopyWithoutRender, opts)
		},
	}
}

func cookiecutterEnv() *nunjucks.Env {
	return nunjucks.New(nunjucks.Options{
		Python: true, StrictUndefined: true,
		Filters: map[string]nunjucks.Filter{
			// cookiecutter's jsonify is json.dumps(obj, sort_keys=True, indent=4).
			"jsonify": func(in any, args []any) (any, error) {
				indent := 4
				if len(args) > 0 {
					if n, ok := args[0].(float64); ok {
						indent = int(n)
					}
				}
				var b strings.Builder
				pyJSON(&b, in, strings.Repeat(" ", indent), "")
				return b.String(), nil
			},
			"slugify": func(in any, _ []any) (any, error) {
				s, _ := in.(string)
				return slugify(s), nil
			},
		},
	})
}

// cookiecutterContext builds the cookiecutter variable as `cookiecutter --no-input` does with the
// step's values written over cookiecutter.json (which is how Backstage passes them): keys keep the
// file's order, new keys follow; "_" keys stay as written; a list is a choice whose first entry
// (the given value, when it is one of the choices) is rendered; booleans and null stay; dicts and
// everything else are rendered as templates, in order, so later defaults may use earlier values.
func cookiecutterContext(ctx context.Context, env *nunjucks.Env, defaults, values *nunjucks.Object) (*nunjucks.Object, error) {
	merged := defaults.Clone()
	for _, k := range values.Keys() {
		v, _ := values.Get(k)
		if choices, ok := merged.Get(k); ok {
			if list, ok := choices.([]any); ok {
				if _, isList := v.([]any); !isList {
					// An overwrite of a choice variable moves that choice to the front.
					rest := []any{v}
					for _, c := range list {
						if c != v {
							rest = append(rest, c)
						}
					}
					v = rest
				}
			}
		}
		merged.Set(k, v)
	}
	cc := nunjucks.NewObject(merged.Len())
	vars := nunjucks.ObjectOf("cookiecutter", cc)
	var render func(v any) (any, error)
	render = func(v any) (any, error) {
		switch x := v.(type) {
		case nil, bool:
			return x, nil
		case *nunjucks.Object:
			out := nunjucks.NewObject(x.Len())
			for _, k := range x.Keys() {
				e, _ := x.Get(k)
				rk, err := env.RenderString(ctx, k, vars)
				if err != nil {
					return nil, err
				}
				re, err := render(e)
				if err != nil {
					return nil, err
				}
				out.Set(rk, re)
			}
			return out, nil
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				r, err := render(e)
				if err != nil {
					return nil, err
				}
				out[i] = r
			}
			return out, nil
		case string:
			return env.RenderString(ctx, x, vars)
		}
		// Python's str() of a number, then rendered: cookiecutter turns numbers into strings.
		s, _ := nunjucks.Dump(v, "")
		return env.RenderString(ctx, s, vars)
	}
	var dicts []string
	for _, k := range merged.Keys() {
		raw, _ := merged.Get(k)
		if strings.HasPrefix(k, "_") {
			cc.Set(k, raw)
			continue
		}
		if _, isDict := raw.(*nunjucks.Object); isDict {
			dicts = append(dicts, k) // rendered in a second pass, as cookiecutter does
			cc.Set(k, raw)
			continue
		}
		if list, ok := raw.([]any); ok {
			if len(list) == 0 {
				cc.Set(k, list)
				continue
			}
			raw = list[0]
		}
		v, err := render(raw)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "cookiecutter variable %s: %v", k, err)
		}
		cc.Set(k, v)
	}
	for _, k := range dicts {
		raw, _ := merged.Get(k)
		v, err := render(raw)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "cookiecutter variable %s: %v", k, err)
		}
		cc.Set(k, v)
	}
	return cc, nil
}

var slugDashes = regexp.MustCompile(`[^a-z0-9]+`)

// slugify is python-slugify's default: ASCII-folded, lowercased, runs of other characters become
// one dash, trimmed.
func slugify(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	out := slugDashes.ReplaceAllString(strings.ToLower(b.String()), "-")
	return strings.Trim(out, "-")
}

func renderCookiecutter(ctx context.Context, ac *scaffolder.ActionContext, tmp *workspace.Dir, targetPath string, copyWithoutRender []string, opts Options) error {
	raw, err := tmp.ReadFile("cookiecutter.json")
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "the cookiecutter template has no cookiecutter.json")
	}
	parsed, err := nunjucks.ParseJSONBytes(raw)
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "cookiecutter.json is not valid JSON: %v", err)
	}
	defaults, ok := parsed.(*nunjucks.Object)
	if !ok {
		return errs.E(errs.Invalid, "cookiecutter.json must be a JSON object")
	}
	env := cookiecutterEnv()
	cc, err := cookiecutterContext(ctx, env, defaults, templateValues(ac))
	if err != nil {
		return err
	}
	vars := nunjucks.ObjectOf("cookiecutter", cc)
	if v, ok := cc.Get("_copy_without_render"); ok {
		if list, ok := v.([]any); ok {
			for _, p := range list {
				if s, ok := p.(string); ok {
					copyWithoutRender = append(copyWithoutRender, s)
				}
			}
		}
	}

	// The project is the one top-level directory whose name is a template.
	top, err := tmp.Walk(".", workspace.WalkOptions{Dirs: true})
	if err != nil {
		return err
	}
	var projectDir string
	for _, e := range top {
		if e.IsDir && !strings.Contains(e.Path, "/") && strings.Contains(e.Path, "{{") && strings.Contains(e.Path, "cookiecutter") {
			if projectDir != "" {
				return errs.E(errs.Invalid, "the cookiecutter template has more than one templated top-level directory (%s and %s)", projectDir, e.Path)
			}
			projectDir = e.Path
		}
	}
	if projectDir == "" {
		return errs.E(errs.Invalid, "the cookiecutter template has no top-level directory named with {{ cookiecutter.* }}")
	}
	if ok, _ := tmp.Exists("hooks"); ok {
		ac.Log("The template's hooks are not run: Portal runs no code from templates.")
	}
	name, err := env.RenderString(ctx, projectDir, vars)
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "cannot render the project directory name %s: %v", projectDir, err)
	}
	ac.Log("Rendering cookiecutter project %s with values %s", name, dumpOrEmpty(cc))
	src, err := tmp.Sub(projectDir)
	if err != nil {
		return err
	}
	defer src.Close()
	entries, err := src.Walk(".", workspace.WalkOptions{Dirs: true})
	if err != nil {
		return err
	}
	dst, err := targetDir(ac, targetPath)
	if err != nil {
		return err
	}
	defer dst.Close()
	// cookiecutter matches _copy_without_render against paths that include the project directory.
	var patterns []string
	for _, p := range copyWithoutRender {
		patterns = append(patterns, strings.TrimPrefix(strings.TrimPrefix(p, projectDir+"/"), "./"))
	}
	return renderTree(ctx, ac, renderJob{
		src: src, dst: dst, entries: entries, render: func(s string) (string, error) { return env.RenderString(ctx, s, vars) },
		copyOnly: patterns, renderNames: true, replace: true, maxBytes: opts.MaxFileBytes,
	})
}

// pyJSON writes v as Python's json.dumps(v, sort_keys=True, indent=...) does.
func pyJSON(b *strings.Builder, v any, indent, cur string) {
	inner := cur + indent
	switch x := v.(type) {
	case *nunjucks.Object:
		if x.Len() == 0 {
			b.WriteString("{}")
			return
		}
		keys := append([]string(nil), x.Keys()...)
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + inner + pyJSONString(k) + ": ")
			e, _ := x.Get(k)
			pyJSON(b, e, indent, inner)
		}
		b.WriteString("\n" + cur + "}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteString("[")
		for i, e := range x {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + inner)
			pyJSON(b, e, indent, inner)
		}
		b.WriteString("\n" + cur + "]")
	case string:
		b.WriteString(pyJSONString(x))
	default:
		s, ok := nunjucks.Dump(v, "")
		if !ok {
			s = "null"
		}
		b.WriteString(s)
	}
}

// pyJSONString quotes s as json.dumps does with ensure_ascii: non-ASCII as \uXXXX escapes.
func pyJSONString(s string) string {
	q, _ := nunjucks.Dump(s, "")
	var b strings.Builder
	for _, r := range q {
		switch {
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, "\\u%04x\\u%04x", r1, r2)
		case r > 0x7e:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
