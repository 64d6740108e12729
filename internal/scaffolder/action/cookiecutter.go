package action

import (
	"context"
	"regexp"
	"strings"
	"unicode"

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
			"jsonify": func(in any, args []any) (any, error) {
				indent := ""
				if len(args) > 0 {
					if n, ok := args[0].(float64); ok {
						indent = strings.Repeat(" ", int(n))
					}
				}
				s, _ := nunjucks.Dump(in, indent)
				return s, nil
			},
			"slugify": func(in any, _ []any) (any, error) {
				s, _ := in.(string)
				return slugify(s), nil
			},
		},
	})
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
	values := templateValues(ac)
	cc := nunjucks.NewObject(defaults.Len() + values.Len())
	vars := nunjucks.ObjectOf("cookiecutter", cc)
	for _, k := range defaults.Keys() {
		if v, ok := values.Get(k); ok {
			cc.Set(k, v)
			continue
		}
		d, _ := defaults.Get(k)
		switch x := d.(type) {
		case string:
			if strings.HasPrefix(k, "_") {
				cc.Set(k, x)
				continue
			}
			r, err := env.RenderString(ctx, x, vars)
			if err != nil {
				return errs.Wrap(errs.Invalid, err, "cookiecutter.json: default of %s: %v", k, err)
			}
			cc.Set(k, r)
		case []any:
			if strings.HasPrefix(k, "_") || len(x) == 0 {
				cc.Set(k, x)
				continue
			}
			// A choice variable: its first entry is the default.
			first := x[0]
			if s, ok := first.(string); ok {
				r, err := env.RenderString(ctx, s, vars)
				if err != nil {
					return errs.Wrap(errs.Invalid, err, "cookiecutter.json: default of %s: %v", k, err)
				}
				first = r
			}
			cc.Set(k, first)
		default:
			cc.Set(k, d)
		}
	}
	for _, k := range values.Keys() {
		if _, done := cc.Get(k); !done {
			v, _ := values.Get(k)
			cc.Set(k, v)
		}
	}
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
