// Package infratest checks BillPay's OpenTofu modules and Terragrunt live configuration
// without OpenTofu, Terragrunt or the AWS provider, none of which can be installed here.
//
// [Check] parses every .tf and .hcl file with hashicorp/hcl/v2, compares each with what
// `tofu fmt` would write, checks the layout of every module under modules/, follows each
// Terragrunt unit's include chain to match its inputs against its module's variables and its
// dependency references against the outputs of the modules its dependencies use, and applies
// the security rules of security.go to every directory holding .tf files.
package infratest

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Rule names, as they appear in findings.
const (
	RuleSyntax = "syntax"
	RuleFormat = "fmt"
	RuleLayout = "module-layout"
	RuleRefs   = "module-references"
)

// Finding is one problem, found at Pos ("file:line").
type Finding struct {
	Rule string
	Pos  string
	Msg  string
}

func (f Finding) String() string { return f.Pos + ": [" + f.Rule + "] " + f.Msg }

func findingAt(rule string, rng hcl.Range, format string, args ...any) Finding {
	return Finding{Rule: rule, Pos: fmt.Sprintf("%s:%d", rng.Filename, rng.Start.Line), Msg: fmt.Sprintf(format, args...)}
}

func findingsOf(rule string, diags hcl.Diagnostics) []Finding {
	var out []Finding
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		rng := hcl.Range{Filename: "?"}
		if d.Subject != nil {
			rng = *d.Subject
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		out = append(out, findingAt(rule, rng, "%s", msg))
	}
	return out
}

// file is one parsed .tf or .hcl file.
type file struct {
	path string
	body *hclsyntax.Body
}

// module is a directory of .tf files.
type module struct {
	dir       string
	files     []*file
	variables map[string]*variable
	outputs   map[string]hcl.Range
}

type variable struct {
	required bool
	typ      cty.Type
	defaults *typeexpr.Defaults
}

// tree is everything under one infra root.
type tree struct {
	root    string
	files   map[string]*file // by absolute path; only files that parsed
	modules map[string]*module
}

// Check runs every check on the infra tree at root (modules/ and live/ below it, or any
// directories of .tf and .hcl files, as in the test fixtures) and returns the findings sorted
// by position. The error reports only a tree that cannot be read.
func Check(root string) ([]Finding, error) {
	t, findings, err := load(root)
	if err != nil {
		return nil, err
	}
	dirs := make([]string, 0, len(t.modules))
	for dir := range t.modules {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		m := t.modules[dir]
		if filepath.Dir(dir) == filepath.Join(t.root, "modules") {
			findings = append(findings, checkLayout(m)...)
		}
		findings = append(findings, checkReferences(m)...)
		findings = append(findings, checkSecurity(m)...)
	}
	findings = append(findings, checkTerragrunt(t)...)
	// Units that include the same file report its problems once.
	sort.Slice(findings, func(i, j int) bool { return findings[i].String() < findings[j].String() })
	return slices.Compact(findings), nil
}

// load parses every .tf and .hcl file below root, reporting syntax errors and formatting
// differences, and groups the .tf files into modules.
func load(root string) (*tree, []Finding, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, err
	}
	t := &tree{root: abs, files: map[string]*file{}, modules: map[string]*module{}}
	var findings []Finding
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != abs && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".tf" && ext != ".hcl" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, fs := parse(path, src)
		findings = append(findings, fs...)
		if f == nil {
			return nil
		}
		t.files[path] = f
		if ext == ".tf" {
			dir := filepath.Dir(path)
			if t.modules[dir] == nil {
				t.modules[dir] = &module{dir: dir, variables: map[string]*variable{}, outputs: map[string]hcl.Range{}}
			}
			t.modules[dir].files = append(t.modules[dir].files, f)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, m := range t.modules {
		findings = append(findings, m.index()...)
	}
	return t, findings, nil
}

// parse parses one file and compares it with its canonical formatting (hclwrite.Format is
// what `tofu fmt` and `terragrunt hclfmt` write).
func parse(path string, src []byte) (*file, []Finding) {
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, findingsOf(RuleSyntax, diags)
	}
	var findings []Finding
	if formatted := hclwrite.Format(src); !bytes.Equal(formatted, src) {
		line := firstDifferentLine(src, formatted)
		findings = append(findings, Finding{Rule: RuleFormat, Pos: fmt.Sprintf("%s:%d", path, line),
			Msg: "not formatted as `tofu fmt` would write it; run `tofu fmt` (or `terragrunt hclfmt`)"})
	}
	return &file{path: path, body: f.Body.(*hclsyntax.Body)}, findings
}

func firstDifferentLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range la {
		if i >= len(lb) || !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return len(la)
}

// index records the module's variables and outputs.
func (m *module) index() []Finding {
	var findings []Finding
	for _, f := range m.files {
		for _, b := range f.body.Blocks {
			if len(b.Labels) != 1 {
				continue
			}
			switch b.Type {
			case "variable":
				v := &variable{typ: cty.DynamicPseudoType}
				_, hasDefault := b.Body.Attributes["default"]
				v.required = !hasDefault
				if a := b.Body.Attributes["type"]; a != nil {
					typ, defaults, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
					findings = append(findings, findingsOf(RuleSyntax, diags)...)
					if !diags.HasErrors() {
						v.typ, v.defaults = typ, defaults
					}
				}
				m.variables[b.Labels[0]] = v
			case "output":
				m.outputs[b.Labels[0]] = b.DefRange()
			}
		}
	}
	return findings
}

// checkLayout checks a reusable module: its files, typed and described variables, described
// outputs, pinned providers, and no provider configuration of its own (Terragrunt generates it).
func checkLayout(m *module) []Finding {
	var findings []Finding
	dirRange := hcl.Range{Filename: m.dir, Start: hcl.Pos{Line: 0}}
	for _, name := range []string{"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} {
		if _, err := os.Stat(filepath.Join(m.dir, name)); err != nil {
			findings = append(findings, findingAt(RuleLayout, dirRange, "module has no %s", name))
		}
	}
	pinned := false
	for _, f := range m.files {
		for _, b := range f.body.Blocks {
			switch b.Type {
			case "variable":
				for _, attr := range []string{"description", "type"} {
					if b.Body.Attributes[attr] == nil {
						findings = append(findings, findingAt(RuleLayout, b.DefRange(), "variable %q has no %s", b.Labels[0], attr))
					}
				}
			case "output":
				if b.Body.Attributes["description"] == nil {
					findings = append(findings, findingAt(RuleLayout, b.DefRange(), "output %q has no description", b.Labels[0]))
				}
			case "provider":
				findings = append(findings, findingAt(RuleLayout, b.DefRange(), "module configures provider %q; Terragrunt generates provider configuration", b.Labels[0]))
			case "terraform":
				if b.Body.Attributes["required_version"] == nil {
					findings = append(findings, findingAt(RuleLayout, b.DefRange(), "terraform block has no required_version"))
				}
				for _, rp := range blocksOf(b.Body, "required_providers") {
					pinned = true
					for name, a := range rp.Attributes {
						v, diags := a.Expr.Value(nil)
						if diags.HasErrors() || !v.Type().IsObjectType() || !v.Type().HasAttribute("source") || !v.Type().HasAttribute("version") {
							findings = append(findings, findingAt(RuleLayout, a.SrcRange, "provider %q must be pinned with a literal source and version", name))
						}
					}
				}
			}
		}
	}
	if !pinned {
		findings = append(findings, findingAt(RuleLayout, dirRange, "module declares no required_providers"))
	}
	return findings
}

// blocksOf returns the bodies of the nested blocks of type typ, including the content of
// `dynamic "typ"` blocks, so that rules see what a dynamic block would generate.
func blocksOf(body *hclsyntax.Body, typ string) []*hclsyntax.Body {
	var out []*hclsyntax.Body
	for _, b := range body.Blocks {
		switch {
		case b.Type == typ:
			out = append(out, b.Body)
		case b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == typ:
			for _, c := range b.Body.Blocks {
				if c.Type == "content" {
					out = append(out, c.Body)
				}
			}
		}
	}
	return out
}

// resourcePrefixes are the providers whose resources the modules use; a reference whose root
// starts with one of them names a resource of the module.
var resourcePrefixes = []string{"aws_", "helm_", "archive_"}

// checkReferences finds references to variables, locals, resources and data sources that the
// module does not declare, the mistakes `tofu validate` would report first.
func checkReferences(m *module) []Finding {
	declared := map[string]bool{}
	for _, f := range m.files {
		for _, b := range f.body.Blocks {
			switch {
			case b.Type == "variable" && len(b.Labels) == 1:
				declared["var."+b.Labels[0]] = true
			case b.Type == "locals":
				for name := range b.Body.Attributes {
					declared["local."+name] = true
				}
			case b.Type == "resource" && len(b.Labels) == 2:
				declared[b.Labels[0]+"."+b.Labels[1]] = true
			case b.Type == "data" && len(b.Labels) == 2:
				declared["data."+b.Labels[0]+"."+b.Labels[1]] = true
			}
		}
	}
	var findings []Finding
	for _, f := range m.files {
		hclsyntax.VisitAll(f.body, func(n hclsyntax.Node) hcl.Diagnostics {
			st, ok := n.(*hclsyntax.ScopeTraversalExpr)
			if !ok {
				return nil
			}
			root := st.Traversal.RootName()
			steps := 1 // var.<name>, local.<name>, <type>.<name>
			switch {
			case root == "var" || root == "local":
			case root == "data":
				steps = 2 // data.<type>.<name>
			case slices.ContainsFunc(resourcePrefixes, func(p string) bool { return strings.HasPrefix(root, p) }):
			default:
				return nil
			}
			name := root
			for _, step := range st.Traversal[1:min(len(st.Traversal), 1+steps)] {
				if a, ok := step.(hcl.TraverseAttr); ok {
					name += "." + a.Name
				}
			}
			if !declared[name] {
				findings = append(findings, findingAt(RuleRefs, st.SrcRange, "%s is not declared in %s", name, m.dir))
			}
			return nil
		})
	}
	return findings
}
