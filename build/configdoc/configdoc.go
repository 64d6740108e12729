// Package configdoc writes Portal's configuration reference (techdocs/docs/portal/configuration.md)
// from the config struct: keys from its yaml tags, descriptions from its doc comments (read with
// go/ast from the source, since reflection has no comments), defaults from config.Default(), and
// the PORTAL_* variable of every key. The page is generated, never edited:
//
//	go generate ./build/configdoc
//
// and a test fails while the committed page differs from what the struct says.
package configdoc

//go:generate go test -run TestConfigReference -update .

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Input is what the reference is made from.
type Input struct {
	// Source is the Go source declaring the config types (internal/config/config.go).
	Source []byte
	// Defaults is the value config.Default() returns; its type is the root of portal.yaml.
	Defaults any
	// EnvName maps a key path ("auth.guest") to its environment variable.
	EnvName func(path string) string
}

// docs are the doc comments of a source file's types and struct fields.
type docs struct {
	types  map[string]string            // type name → its doc comment
	fields map[string]map[string]string // type name → field name → its doc comment
}

func readDocs(src []byte) (docs, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", src, parser.ParseComments)
	if err != nil {
		return docs{}, err
	}
	d := docs{types: map[string]string{}, fields: map[string]map[string]string{}}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			comment := ts.Doc
			if comment == nil && len(gd.Specs) == 1 {
				comment = gd.Doc
			}
			d.types[ts.Name.Name] = text(comment)
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			fields := map[string]string{}
			for _, fl := range st.Fields.List {
				c := text(fl.Doc)
				if c == "" {
					c = text(fl.Comment)
				}
				for _, n := range fl.Names {
					fields[n.Name] = c
				}
			}
			d.fields[ts.Name.Name] = fields
		}
	}
	return d, nil
}

// text joins a comment group into one paragraph.
func text(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

// key is one documented key of portal.yaml.
type key struct {
	path, typ, def, env, doc string
	secret                   bool
}

var durationType = reflect.TypeOf(time.Duration(0))

// Generate renders the reference page.
func Generate(in Input) ([]byte, error) {
	d, err := readDocs(in.Source)
	if err != nil {
		return nil, err
	}
	root := reflect.ValueOf(in.Defaults)
	if root.Kind() != reflect.Struct {
		return nil, fmt.Errorf("defaults must be a struct, not %s", root.Kind())
	}
	var b bytes.Buffer
	b.WriteString(`# Configuration reference

<!-- Generated from internal/config/config.go by build/configdoc (go generate ./build/configdoc). Do not edit. -->

Portal reads ` + "`portal.yaml`" + ` (` + "`portal serve --config FILE`" + `, else ` + "`./portal.yaml`" + ` when it exists) and then the
environment: every key below can be set by the variable beside it, which wins over the file. Lists
and objects take YAML or JSON in a variable (` + "`PORTAL_AUTH_TOKENS='[{\"token\":\"...\",\"subject\":\"ci\"}]'`" + `).
Unknown keys and invalid values stop start-up with a message naming the key. Keys marked
**secret** should come from the environment (in Kubernetes, from the Secret the Helm chart fills
from Secrets Manager) rather than from the file.

`)
	top := root.Type()
	// Scalars at the top level first, then one section per nested struct.
	var general []key
	type section struct {
		name, doc string
		keys      []key
	}
	var sections []section
	for i := range top.NumField() {
		f := top.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		fv := root.Field(i)
		if fv.Kind() == reflect.Struct && !isScalar(f.Type) {
			s := section{name: name, doc: firstNonEmpty(d.fields[top.Name()][f.Name], d.types[f.Type.Name()])}
			s.keys = walk(d, fv, name, in.EnvName)
			sections = append(sections, s)
			continue
		}
		general = append(general, walk1(d, top.Name(), f, fv, name, in.EnvName)...)
	}
	writeTable(&b, "General", d.types[top.Name()], general)
	for _, s := range sections {
		writeTable(&b, "`"+s.name+"`", s.doc, s.keys)
	}
	return b.Bytes(), nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// walk lists the keys under a struct value.
func walk(d docs, v reflect.Value, prefix string, envName func(string) string) []key {
	var out []key
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		out = append(out, walk1(d, t.Name(), f, v.Field(i), prefix+"."+name, envName)...)
	}
	return out
}

// walk1 documents one field: a nested struct becomes its keys; a list of structs becomes the list
// itself followed by the keys of one element (path[].key).
func walk1(d docs, owner string, f reflect.StructField, v reflect.Value, path string, envName func(string) string) []key {
	if v.Kind() == reflect.Struct && !isScalar(f.Type) {
		return walk(d, v, path, envName)
	}
	k := key{path: path, typ: typeName(f.Type), def: format(v), env: envName(path),
		doc: d.fields[owner][f.Name], secret: f.Tag.Get("secret") == "true"}
	if k.doc == "" && f.Type.Kind() == reflect.Slice {
		k.doc = d.types[f.Type.Elem().Name()]
	}
	out := []key{k}
	if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct && !isScalar(f.Type.Elem()) {
		elem := reflect.New(f.Type.Elem()).Elem()
		for _, sub := range walk(d, elem, path+"[]", func(string) string { return "" }) {
			sub.def = ""
			out = append(out, sub)
		}
	}
	return out
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

// isScalar tells types written as one YAML scalar, such as a Duration.
func isScalar(t reflect.Type) bool {
	return t.Kind() != reflect.Struct || t.ConvertibleTo(durationType)
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Int64 && t.ConvertibleTo(durationType) && t.Name() != "int64" {
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "list of objects"
		}
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Map:
		return "map"
	case reflect.Struct:
		return "object"
	}
	return t.Kind().String()
}

// format writes a default value as it would appear in portal.yaml, compactly.
func format(v reflect.Value) string {
	if v.Kind() == reflect.Int64 && v.Type().ConvertibleTo(durationType) && v.Type().Name() != "int64" {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.String:
		if v.String() == "" {
			return `""`
		}
		return strconv.Quote(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice:
		if v.Len() == 0 {
			return "[]"
		}
		var parts []string
		for i := range v.Len() {
			parts = append(parts, format(v.Index(i)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%v: %s", k, format(v.MapIndex(k))))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.Struct:
		var parts []string
		for i := range v.NumField() {
			name := yamlName(v.Type().Field(i))
			if name == "" || v.Field(i).IsZero() {
				continue
			}
			parts = append(parts, name+": "+format(v.Field(i)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v.Interface())
}

func writeTable(b *bytes.Buffer, title, intro string, keys []key) {
	if len(keys) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s\n\n", title)
	if intro != "" {
		b.WriteString(new(doc.Package).Synopsis(intro) + "\n\n")
	}
	b.WriteString("| Key | Type | Default | Environment | Description |\n|---|---|---|---|---|\n")
	for _, k := range keys {
		desc := k.doc
		if k.secret {
			desc = strings.TrimSpace("**secret.** " + desc)
		}
		def, env := "", ""
		if k.def != "" {
			def = "`" + k.def + "`"
		}
		if k.env != "" {
			env = "`" + k.env + "`"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", k.path, k.typ, cell(def), env, cell(desc))
	}
	b.WriteString("\n")
}

// cell escapes what would break a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
