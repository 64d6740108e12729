package infratest

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Terragrunt rules.
const (
	RuleTGEval       = "terragrunt-eval"
	RuleTGSource     = "terragrunt-source"
	RuleTGDependency = "terragrunt-dependency"
	RuleTGMocks      = "terragrunt-mock-outputs"
	RuleTGInput      = "terragrunt-input"
)

// unit is a Terragrunt unit (a directory with terragrunt.hcl) with its include chain merged
// the way Terragrunt merges it: inputs shallow-merged parent first, dependency blocks and the
// terraform source taken from whichever file sets them (the unit's own last).
type unit struct {
	dir    string
	name   string // relative to the tree's root, for messages
	file   string
	source string
	srcRng hcl.Range
	module *module
	deps   map[string]*dependency
	inputs map[string]input
	refs   []outputRef
}

type dependency struct {
	dir   string
	mocks map[string]hcl.Range
	rng   hcl.Range
}

type input struct {
	val cty.Value
	rng hcl.Range
}

// outputRef is a dependency.<dep>.outputs.<output> reference.
type outputRef struct {
	dep, output string
	rng         hcl.Range
}

func checkTerragrunt(t *tree) []Finding {
	var findings []Finding
	units := map[string]*unit{}
	var dirs []string
	for path := range t.files {
		if filepath.Base(path) == "terragrunt.hcl" {
			dirs = append(dirs, filepath.Dir(path))
		}
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		u, fs := t.loadUnit(dir)
		units[dir] = u
		findings = append(findings, fs...)
	}
	for _, dir := range dirs {
		findings = append(findings, checkUnit(units[dir], units)...)
	}
	return findings
}

func checkUnit(u *unit, units map[string]*unit) []Finding {
	var findings []Finding
	if u.module == nil {
		return findings // reported by loadUnit
	}
	for name, d := range u.deps {
		dep := units[d.dir]
		if dep == nil {
			findings = append(findings, findingAt(RuleTGDependency, d.rng, "dependency %q: no unit at %s", name, d.dir))
			continue
		}
		if dep.module == nil {
			continue
		}
		for out, rng := range d.mocks {
			if _, ok := dep.module.outputs[out]; !ok {
				findings = append(findings, findingAt(RuleTGMocks, rng, "mock output %q of dependency %q is not an output of %s", out, name, dep.module.dir))
			}
		}
	}
	for _, r := range u.refs {
		d := u.deps[r.dep]
		if d == nil {
			findings = append(findings, findingAt(RuleTGDependency, r.rng, "unit %s: dependency.%s is not declared", u.name, r.dep))
			continue
		}
		dep := units[d.dir]
		if dep == nil || dep.module == nil {
			continue
		}
		if _, ok := dep.module.outputs[r.output]; !ok {
			findings = append(findings, findingAt(RuleTGDependency, r.rng, "dependency.%s.outputs.%s: module %s has no output %q", r.dep, r.output, dep.module.dir, r.output))
		} else if _, ok := d.mocks[r.output]; !ok {
			findings = append(findings, findingAt(RuleTGMocks, r.rng, "dependency.%s.outputs.%s has no mock output, so plan fails before %s is applied", r.dep, r.output, r.dep))
		}
	}
	names := make([]string, 0, len(u.inputs))
	for name := range u.inputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		in := u.inputs[name]
		v := u.module.variables[name]
		if v == nil {
			findings = append(findings, findingAt(RuleTGInput, in.rng, "input %q is not a variable of %s", name, u.module.dir))
			continue
		}
		val := in.val
		if v.defaults != nil {
			val = v.defaults.Apply(val)
		}
		if _, err := convert.Convert(val, v.typ); err != nil {
			findings = append(findings, findingAt(RuleTGInput, in.rng, "unit %s: input %q does not fit the type of variable %q: %s", u.name, name, name, err))
		}
	}
	for name, v := range u.module.variables {
		if _, ok := u.inputs[name]; v.required && !ok {
			findings = append(findings, findingAt(RuleTGInput, hcl.Range{Filename: u.file, Start: hcl.InitialPos}, "unit %s sets no input for required variable %q of %s", u.name, name, u.module.dir))
		}
	}
	return findings
}

// loadUnit reads the unit in dir and the files it includes.
func (t *tree) loadUnit(dir string) (*unit, []Finding) {
	self := t.files[filepath.Join(dir, "terragrunt.hcl")]
	name, err := filepath.Rel(t.root, dir)
	if err != nil {
		name = dir
	}
	u := &unit{dir: dir, name: name, file: self.path, deps: map[string]*dependency{}, inputs: map[string]input{}}
	var findings []Finding

	// The include chain: included files first, the unit's own file last.
	var chain []*file
	for _, b := range self.body.Blocks {
		if b.Type != "include" {
			continue
		}
		a := b.Body.Attributes["path"]
		if a == nil {
			findings = append(findings, findingAt(RuleTGEval, b.DefRange(), "include has no path"))
			continue
		}
		v, diags := a.Expr.Value(t.evalContext(dir, dir, nil, nil))
		if diags.HasErrors() {
			findings = append(findings, findingsOf(RuleTGEval, diags)...)
			continue
		}
		path := v.AsString()
		if f := t.files[filepath.Clean(path)]; f != nil {
			chain = append(chain, f)
		} else {
			findings = append(findings, findingAt(RuleTGEval, a.SrcRange, "included file %s does not exist or does not parse", path))
		}
	}
	chain = append(chain, self)

	// First pass: locals, dependency blocks and the terraform source of every file.
	locals := map[*file]map[string]cty.Value{}
	for _, f := range chain {
		ls, diags := t.evalLocals(f.body, t.evalContext(dir, filepath.Dir(f.path), nil, nil))
		findings = append(findings, findingsOf(RuleTGEval, diags)...)
		locals[f] = ls
		ctx := t.evalContext(dir, filepath.Dir(f.path), ls, nil)
		for _, b := range f.body.Blocks {
			switch {
			case b.Type == "terraform" && b.Body.Attributes["source"] != nil:
				a := b.Body.Attributes["source"]
				if v, diags := a.Expr.Value(ctx); diags.HasErrors() {
					findings = append(findings, findingsOf(RuleTGEval, diags)...)
				} else {
					u.source, u.srcRng = v.AsString(), a.SrcRange
				}
			case b.Type == "dependency" && len(b.Labels) == 1:
				d, fs := loadDependency(b, ctx, dir)
				findings = append(findings, fs...)
				if d != nil {
					u.deps[b.Labels[0]] = d
				}
			}
		}
	}

	// Second pass: inputs, and every dependency output that any expression refers to.
	for _, f := range chain {
		ctx := t.evalContext(dir, filepath.Dir(f.path), locals[f], u.deps)
		if a := f.body.Attributes["inputs"]; a != nil {
			ins, fs := evalInputs(a, ctx)
			findings = append(findings, fs...)
			for k, in := range ins {
				u.inputs[k] = in
			}
		}
		u.refs = append(u.refs, outputRefs(f.body)...)
	}

	switch {
	case u.source == "":
		findings = append(findings, findingAt(RuleTGSource, self.body.SrcRange, "unit %s has no terraform source", name))
	default:
		src := strings.Replace(u.source, "//", "/", 1)
		if !filepath.IsAbs(src) {
			src = filepath.Join(dir, src)
		}
		if u.module = t.modules[filepath.Clean(src)]; u.module == nil {
			findings = append(findings, findingAt(RuleTGSource, u.srcRng, "terraform source %s is not a module in this tree", u.source))
		}
	}
	return u, findings
}

func loadDependency(b *hclsyntax.Block, ctx *hcl.EvalContext, unitDir string) (*dependency, []Finding) {
	a := b.Body.Attributes["config_path"]
	if a == nil {
		return nil, []Finding{findingAt(RuleTGDependency, b.DefRange(), "dependency %q has no config_path", b.Labels[0])}
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, findingsOf(RuleTGEval, diags)
	}
	path := v.AsString()
	if !filepath.IsAbs(path) {
		path = filepath.Join(unitDir, path)
	}
	d := &dependency{dir: filepath.Clean(path), mocks: map[string]hcl.Range{}, rng: b.DefRange()}
	if a := b.Body.Attributes["mock_outputs"]; a != nil {
		m, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return d, []Finding{findingAt(RuleTGMocks, a.SrcRange, "mock_outputs of dependency %q must be written as an object", b.Labels[0])}
		}
		for _, item := range m.Items {
			if k, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && k.Type() == cty.String {
				d.mocks[k.AsString()] = item.KeyExpr.Range()
			}
		}
	}
	return d, nil
}

// evalInputs evaluates an inputs attribute to its keys and values; values that depend on
// dependency outputs stay unknown.
func evalInputs(a *hclsyntax.Attribute, ctx *hcl.EvalContext) (map[string]input, []Finding) {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, findingsOf(RuleTGEval, diags)
	}
	if !v.IsKnown() || v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return nil, []Finding{findingAt(RuleTGInput, a.SrcRange, "inputs must be an object whose keys are known without applying anything")}
	}
	ranges := map[string]hcl.Range{}
	if obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			if k, diags := item.KeyExpr.Value(ctx); !diags.HasErrors() && k.Type() == cty.String {
				ranges[k.AsString()] = item.KeyExpr.Range()
			}
		}
	}
	out := map[string]input{}
	for k, val := range v.AsValueMap() {
		rng, ok := ranges[k]
		if !ok {
			rng = a.SrcRange
		}
		out[k] = input{val: val, rng: rng}
	}
	return out, nil
}

// outputRefs finds every dependency.<dep>.outputs.<output> traversal in a body.
func outputRefs(body *hclsyntax.Body) []outputRef {
	var refs []outputRef
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		st, ok := n.(*hclsyntax.ScopeTraversalExpr)
		if !ok || st.Traversal.RootName() != "dependency" || len(st.Traversal) < 4 {
			return nil
		}
		dep, ok1 := st.Traversal[1].(hcl.TraverseAttr)
		outs, ok2 := st.Traversal[2].(hcl.TraverseAttr)
		if !ok1 || !ok2 || outs.Name != "outputs" {
			return nil
		}
		var name string
		switch step := st.Traversal[3].(type) {
		case hcl.TraverseAttr:
			name = step.Name
		case hcl.TraverseIndex:
			if step.Key.Type() == cty.String {
				name = step.Key.AsString()
			}
		}
		if name != "" {
			refs = append(refs, outputRef{dep: dep.Name, output: name, rng: st.SrcRange})
		}
		return nil
	})
	return refs
}

// evalLocals evaluates a file's locals blocks, each local once the locals it refers to are known.
func (t *tree) evalLocals(body *hclsyntax.Body, ctx *hcl.EvalContext) (map[string]cty.Value, hcl.Diagnostics) {
	pending := map[string]*hclsyntax.Attribute{}
	for _, b := range body.Blocks {
		if b.Type == "locals" {
			for name, a := range b.Body.Attributes {
				pending[name] = a
			}
		}
	}
	values := map[string]cty.Value{}
	var diags hcl.Diagnostics
	for len(pending) > 0 {
		progress := false
		for name, a := range pending {
			ready := true
			for _, tr := range a.Expr.Variables() {
				if tr.RootName() != "local" || len(tr) < 2 {
					continue
				}
				if step, ok := tr[1].(hcl.TraverseAttr); ok {
					if _, known := values[step.Name]; !known && pending[step.Name] != nil {
						ready = false
					}
				}
			}
			if !ready {
				continue
			}
			ctx.Variables["local"] = cty.ObjectVal(values)
			v, ds := a.Expr.Value(ctx)
			diags = append(diags, ds...)
			values[name] = v
			delete(pending, name)
			progress = true
		}
		if !progress {
			for name, a := range pending {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "local." + name + " refers to itself through other locals", Subject: a.SrcRange.Ptr()})
			}
			break
		}
	}
	return values, diags
}

// evalContext is what Terragrunt offers the expressions of a file evaluated for the unit in
// unitDir: its functions (find_in_parent_folders searching from the unit, as Terragrunt does
// for included files too), the file's locals and the unit's dependencies, whose outputs are
// unknown until they are applied.
func (t *tree) evalContext(unitDir, fileDir string, locals map[string]cty.Value, deps map[string]*dependency) *hcl.EvalContext {
	depVals := map[string]cty.Value{}
	for name := range deps {
		depVals[name] = cty.ObjectVal(map[string]cty.Value{"outputs": cty.DynamicVal, "inputs": cty.DynamicVal})
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"local":      cty.ObjectVal(locals),
			"dependency": cty.ObjectVal(depVals),
		},
		Functions: t.functions(unitDir, fileDir),
	}
}

func (t *tree) functions(unitDir, fileDir string) map[string]function.Function {
	str := func(impl func(args []cty.Value) (string, error), params ...function.Parameter) function.Function {
		return function.New(&function.Spec{
			Params: params,
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				s, err := impl(args)
				return cty.StringVal(s), err
			},
		})
	}
	pathParam := function.Parameter{Name: "path", Type: cty.String}
	return map[string]function.Function{
		"find_in_parent_folders": function.New(&function.Spec{
			VarParam: &function.Parameter{Name: "args", Type: cty.String},
			Type:     function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				name := "terragrunt.hcl"
				if len(args) > 0 {
					name = args[0].AsString()
				}
				for dir := filepath.Dir(unitDir); ; dir = filepath.Dir(dir) {
					if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
						return cty.StringVal(filepath.Join(dir, name)), nil
					}
					if dir == t.root || dir == filepath.Dir(dir) {
						break
					}
				}
				if len(args) > 1 {
					return args[1], nil
				}
				return cty.NilVal, os.ErrNotExist
			},
		}),
		"get_terragrunt_dir": str(func([]cty.Value) (string, error) { return unitDir, nil }),
		"get_parent_terragrunt_dir": str(func([]cty.Value) (string, error) {
			return fileDir, nil
		}),
		"path_relative_to_include": str(func([]cty.Value) (string, error) {
			return filepath.Rel(fileDir, unitDir)
		}),
		"dirname":  str(func(a []cty.Value) (string, error) { return filepath.Dir(a[0].AsString()), nil }, pathParam),
		"basename": str(func(a []cty.Value) (string, error) { return filepath.Base(a[0].AsString()), nil }, pathParam),
		"read_terragrunt_config": function.New(&function.Spec{
			Params: []function.Parameter{pathParam},
			Type:   function.StaticReturnType(cty.DynamicPseudoType),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				path := filepath.Clean(args[0].AsString())
				f := t.files[path]
				if f == nil {
					return cty.NilVal, os.ErrNotExist
				}
				ls, diags := t.evalLocals(f.body, t.evalContext(unitDir, filepath.Dir(path), nil, nil))
				if diags.HasErrors() {
					return cty.NilVal, diags
				}
				return cty.ObjectVal(map[string]cty.Value{"locals": cty.ObjectVal(ls)}), nil
			},
		}),
		"concat":   stdlib.ConcatFunc,
		"contains": stdlib.ContainsFunc,
		"format":   stdlib.FormatFunc,
		"join":     stdlib.JoinFunc,
		"keys":     stdlib.KeysFunc,
		"length":   stdlib.LengthFunc,
		"lookup":   stdlib.LookupFunc,
		"lower":    stdlib.LowerFunc,
		"merge":    stdlib.MergeFunc,
		"upper":    stdlib.UpperFunc,
		"values":   stdlib.ValuesFunc,
	}
}
