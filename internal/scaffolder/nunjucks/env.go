// Package nunjucks is a sandboxed implementation of the nunjucks template language (Mozilla's
// JavaScript port of Jinja2, version 3.2) as Backstage's scaffolder configures it, with a Jinja2 mode
// for cookiecutter skeletons.
//
// Backstage runs nunjucks inside an isolated V8 with values passed in as JSON. This package keeps that
// model: values are JSON-shaped (see FromGo), nothing outside them is reachable (no file, network,
// process or host object access; lookups of "constructor" or "__proto__" are undefined), and every
// render is bounded in steps, time, output size and nesting (Limits). Parse errors are *SyntaxError,
// render errors *RenderError, and exhausted limits wrap ErrLimit.
//
// Two dialects share one parser and evaluator:
//
//   - nunjucks (the default): JavaScript values and operators, as Backstage evaluates ${{ }} and
//     fetch:template skeletons; JinjaCompat adds nunjucks' installJinjaCompat (True/False/None,
//     slices, Python list and dict methods), as Backstage's cookiecutterCompat does.
//   - Python: Jinja2's semantics for fetch:cookiecutter (True/None printing, Python string methods,
//     empty collections false, loop-scoped set, StrictUndefined if asked).
package nunjucks

import (
	"context"
	"time"
)

// Limits bound one render. Zero fields take the defaults below.
type Limits struct {
	// MaxSteps bounds evaluation steps (nodes evaluated and loop iterations). Default 2,000,000.
	MaxSteps int
	// MaxOutput bounds the rendered text and any single string value, in bytes. Default 16 MiB.
	MaxOutput int
	// MaxItems bounds any single list or object built by a template. Default 100,000.
	MaxItems int
	// MaxDepth bounds template nesting at parse time and macro recursion. Default 100.
	MaxDepth int
	// Timeout bounds the wall time of one render. Default 5 s.
	Timeout time.Duration
}

// DefaultLimits are the limits used for zero fields.
var DefaultLimits = Limits{MaxSteps: 2_000_000, MaxOutput: 16 << 20, MaxItems: 100_000, MaxDepth: 100, Timeout: 5 * time.Second}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxSteps > 0 {
		d.MaxSteps = l.MaxSteps
	}
	if l.MaxOutput > 0 {
		d.MaxOutput = l.MaxOutput
	}
	if l.MaxItems > 0 {
		d.MaxItems = l.MaxItems
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.Timeout > 0 {
		d.Timeout = l.Timeout
	}
	return d
}

// Filter is a filter supplied by the embedder. in is the filtered value and args the call's
// positional arguments (keyword arguments are appended as one trailing *Object, as nunjucks does);
// all are engine values (see FromGo and ToGo). An error fails the render.
type Filter func(in any, args []any) (any, error)

// Options configure an Env.
type Options struct {
	// VariableStart and VariableEnd delimit output tags: "${{" and "}}" for Backstage templates,
	// "{{" and "}}" (the default) for skeleton files with cookiecutterCompat and for Jinja2.
	VariableStart, VariableEnd string
	// TrimBlocks drops the first newline after a block tag; LstripBlocks strips spaces and tabs
	// before a block tag on its line.
	TrimBlocks, LstripBlocks bool
	// JinjaCompat is nunjucks' installJinjaCompat.
	JinjaCompat bool
	// Python selects Jinja2 (Python) semantics instead of nunjucks' JavaScript ones.
	Python bool
	// StrictUndefined makes printing, iterating or operating on an undefined value an error, as
	// cookiecutter's StrictUndefined does.
	StrictUndefined bool
	// Filters are added to, and override, the built-in filters.
	Filters map[string]Filter
	// Globals are extra global variables.
	Globals map[string]any
	Limits  Limits
}

// Env is a configured template environment. It is safe for concurrent use.
type Env struct {
	opts    Options
	limits  Limits
	tags    tags
	filters map[string]filterFunc
	globals map[string]any
}

// New returns an environment with the given options.
func New(opts Options) *Env {
	e := &Env{opts: opts, limits: opts.Limits.withDefaults()}
	e.tags = tags{blockStart: "{%", blockEnd: "%}", varStart: "{{", varEnd: "}}", commentStart: "{#", commentEnd: "#}"}
	if opts.VariableStart != "" {
		e.tags.varStart = opts.VariableStart
	}
	if opts.VariableEnd != "" {
		e.tags.varEnd = opts.VariableEnd
	}
	e.filters = make(map[string]filterFunc, len(builtinFilters)+len(opts.Filters))
	for k, f := range builtinFilters {
		e.filters[k] = f
	}
	for k, f := range opts.Filters {
		e.filters[k] = wrapFilter(f)
	}
	e.globals = builtinGlobals()
	for k, v := range opts.Globals {
		e.globals[k] = FromGo(v)
	}
	return e
}

func wrapFilter(f Filter) filterFunc {
	return func(ev *evaluator, in any, args []any, kw *Object) (any, error) {
		if kw != nil {
			args = append(append([]any{}, args...), kw)
		}
		return f(in, args)
	}
}

// Template is a parsed template, safe for concurrent rendering.
type Template struct {
	env   *Env
	nodes []node
}

// Parse parses src. It returns a *SyntaxError for malformed templates.
func (e *Env) Parse(src string) (t *Template, err error) {
	p := &parser{
		lex:         &lexer{src: src, tags: e.tags, trimBlocks: e.opts.TrimBlocks, lstripBlocks: e.opts.LstripBlocks},
		maxDepth:    e.limits.MaxDepth,
		jinjaSlices: e.opts.JinjaCompat || e.opts.Python,
	}
	nodes, err := p.parseNodes()
	if err != nil {
		return nil, err
	}
	if len(p.peeked) > 0 {
		t := p.peeked[len(p.peeked)-1]
		return nil, p.fail(t, "unexpected %q", t.value)
	}
	return &Template{env: e, nodes: nodes}, nil
}

// IsSingleExpression reports whether the template is one tag and nothing else: one output tag, or
// one block such as {% if %}…{% endif %}. Backstage keeps the type of such a value (it renders it
// through the dump filter and parses the JSON back); any text around the tag makes it a string.
func (t *Template) IsSingleExpression() bool {
	if len(t.nodes) != 1 {
		return false
	}
	if o, ok := t.nodes[0].(*outputNode); ok && len(o.exprs) > 0 {
		_, isData := o.exprs[0].(*dataExpr)
		return !isData
	}
	return true
}

// Render renders the template with vars (an *Object, a map[string]any, or nil).
func (t *Template) Render(ctx context.Context, vars any) (string, error) {
	ev := t.env.newEvaluator(ctx, vars)
	out := &output{limit: t.env.limits.MaxOutput}
	root := &frame{vars: map[string]any{}}
	if err := ev.renderNodes(t.nodes, root, out); err != nil {
		return "", err
	}
	return out.b.String(), nil
}

// RenderString parses and renders src.
func (e *Env) RenderString(ctx context.Context, src string, vars any) (string, error) {
	t, err := e.Parse(src)
	if err != nil {
		return "", err
	}
	return t.Render(ctx, vars)
}

// Eval evaluates a bare expression such as `parameters.name | lower` and returns its value.
func (e *Env) Eval(ctx context.Context, expression string, vars any) (any, error) {
	t, err := e.Parse(e.tags.varStart + " " + expression + " " + e.tags.varEnd)
	if err != nil {
		return nil, err
	}
	if len(t.nodes) != 1 {
		return nil, &SyntaxError{Msg: "not a single expression"}
	}
	o, ok := t.nodes[0].(*outputNode)
	if !ok || len(o.exprs) != 1 {
		return nil, &SyntaxError{Msg: "not a single expression"}
	}
	ev := e.newEvaluator(ctx, vars)
	return ev.eval(o.exprs[0], &frame{vars: map[string]any{}})
}

func (e *Env) newEvaluator(ctx context.Context, vars any) *evaluator {
	var obj *Object
	switch v := FromGo(vars).(type) {
	case *Object:
		obj = v
	default:
		obj = NewObject(0)
	}
	deadline := time.Now().Add(e.limits.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return &evaluator{env: e, ctx: ctx, deadline: deadline, vars: obj, py: e.opts.Python}
}
