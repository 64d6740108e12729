package scaffolder

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"

	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

// TemplaterOptions configure a Templater.
type TemplaterOptions struct {
	// Integrations are the SCM hosts parseRepoUrl and projectSlug accept; nil means
	// DefaultIntegrations.
	Integrations Integrations
	// Filters are extra filters (Backstage's additionalTemplateFilters).
	Filters map[string]nunjucks.Filter
	// Globals are extra global values (additionalTemplateGlobals).
	Globals map[string]any
	// Limits bound each render; zero fields take nunjucks.DefaultLimits.
	Limits nunjucks.Limits
}

// Templater renders ${{ }} expressions in template values as Backstage's NunjucksWorkflowRunner does.
// It is safe for concurrent use.
type Templater struct {
	env      *nunjucks.Env
	compat   *nunjucks.Env
	opts     TemplaterOptions
	filters  map[string]nunjucks.Filter
	skeleton sync.Map // skeletonKey -> *nunjucks.Env
}

type skeletonKey struct{ compat, trim, lstrip bool }

// NewTemplater returns a Templater with Backstage's filters.
func NewTemplater(opts TemplaterOptions) *Templater {
	integ := opts.Integrations
	if integ == nil {
		integ = DefaultIntegrations
	}
	filters := backstageFilters(integ)
	for k, f := range opts.Filters {
		filters[k] = f
	}
	return &Templater{
		opts:    opts,
		filters: filters,
		env: nunjucks.New(nunjucks.Options{
			VariableStart: "${{", VariableEnd: "}}", Filters: filters, Globals: opts.Globals, Limits: opts.Limits,
		}),
		// cookiecutterCompat: {{ }} tags, Jinja compatibility, and only nunjucks' own filters plus
		// jsonify, as Backstage's compat environment has.
		compat: nunjucks.New(nunjucks.Options{JinjaCompat: true, Globals: opts.Globals, Limits: opts.Limits}),
	}
}

// Env is the ${{ }} environment, for rendering skeleton files with fetch:template.
func (t *Templater) Env() *nunjucks.Env { return t.env }

// CompatEnv is the cookiecutterCompat environment ({{ }} tags, Jinja compatibility).
func (t *Templater) CompatEnv() *nunjucks.Env { return t.compat }

// SkeletonEnv is the environment fetch:template renders files and file names with: ${{ }} and
// Backstage's filters, or with cookiecutterCompat {{ }}, Jinja compatibility and jsonify only;
// trimBlocks and lstripBlocks as the action's input asks.
func (t *Templater) SkeletonEnv(cookiecutterCompat, trimBlocks, lstripBlocks bool) *nunjucks.Env {
	key := skeletonKey{cookiecutterCompat, trimBlocks, lstripBlocks}
	if e, ok := t.skeleton.Load(key); ok {
		return e.(*nunjucks.Env)
	}
	o := nunjucks.Options{TrimBlocks: trimBlocks, LstripBlocks: lstripBlocks, Globals: t.opts.Globals, Limits: t.opts.Limits}
	if cookiecutterCompat {
		o.JinjaCompat = true
	} else {
		o.VariableStart, o.VariableEnd, o.Filters = "${{", "}}", t.filters
	}
	e, _ := t.skeleton.LoadOrStore(key, nunjucks.New(o))
	return e.(*nunjucks.Env)
}

// RenderFailure is a string the templater left unrendered because rendering it failed; Backstage
// keeps such values as written, and so does Render. The runner logs them.
type RenderFailure struct {
	Value string
	Err   error
}

// singleExprRE is the rewrite Backstage applies to a string that is one whole expression, so that
// the value keeps its type: ${{ x }} becomes ${{ ( x ) | dump }} and the JSON is parsed back.
var singleExprRE = regexp.MustCompile(`\$\{\{(.+)\}\}`)

// Render renders every string inside v (an engine value) against vars, following Backstage:
//
//   - a string that is exactly one tag keeps the type of its value (number, bool, object, array);
//   - any other string is interpolated;
//   - a string that renders to "" becomes undefined and its object key is dropped;
//   - a string that fails to render is kept as written and reported in failures.
//
// Keys are never rendered. Only exhausted limits and cancellation return an error.
func (t *Templater) Render(ctx context.Context, v any, vars *nunjucks.Object) (out any, failures []RenderFailure, err error) {
	out, err = t.render(ctx, v, vars, &failures)
	return out, failures, err
}

func (t *Templater) render(ctx context.Context, v any, vars *nunjucks.Object, failures *[]RenderFailure) (any, error) {
	switch x := v.(type) {
	case string:
		return t.renderString(ctx, x, vars, failures)
	case *nunjucks.Object:
		o := nunjucks.NewObject(x.Len())
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			r, err := t.render(ctx, e, vars, failures)
			if err != nil {
				return nil, err
			}
			if nunjucks.IsUndefined(r) {
				continue
			}
			o.Set(k, r)
		}
		return o, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := t.render(ctx, e, vars, failures)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// hardError says whether a render error must stop the task instead of leaving the value as written:
// the sandbox's limits and cancellation are never papered over.
func hardError(err error) bool {
	return errors.Is(err, nunjucks.ErrLimit) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (t *Templater) renderString(ctx context.Context, s string, vars *nunjucks.Object, failures *[]RenderFailure) (any, error) {
	if !strings.Contains(s, "${{") && !strings.Contains(s, "{%") && !strings.Contains(s, "{#") {
		if s == "" {
			return nunjucks.Undefined, nil
		}
		return s, nil
	}
	if tpl, err := t.env.Parse(s); err == nil && tpl.IsSingleExpression() {
		wrapped := singleExprRE.ReplaceAllStringFunc(s, func(m string) string {
			inner := singleExprRE.FindStringSubmatch(m)[1]
			return "${{ ( " + inner + " ) | dump }}"
		})
		out, err := t.env.RenderString(ctx, wrapped, vars)
		if err != nil && hardError(err) {
			return nil, err
		}
		if err == nil {
			if out == "" {
				return nunjucks.Undefined, nil
			}
			if v, perr := nunjucks.ParseJSON(out); perr == nil {
				return v, nil
			}
		}
		// Backstage logs the failure and falls back to plain rendering.
	}
	out, err := t.env.RenderString(ctx, s, vars)
	if err != nil {
		if hardError(err) {
			return nil, err
		}
		*failures = append(*failures, RenderFailure{Value: s, Err: err})
		return s, nil
	}
	if out == "" {
		return nunjucks.Undefined, nil
	}
	return out, nil
}

// RenderCondition evaluates a step's or an output item's `if`: false and true as written, a string
// rendered and judged by Backstage's isTruthy (an empty array is false).
func (t *Templater) RenderCondition(ctx context.Context, cond any, vars *nunjucks.Object) (bool, []RenderFailure, error) {
	switch c := cond.(type) {
	case nil:
		return true, nil, nil
	case bool:
		return c, nil, nil
	}
	v, failures, err := t.Render(ctx, cond, vars)
	if err != nil {
		return false, failures, err
	}
	return nunjucks.Truthy(v), failures, nil
}
