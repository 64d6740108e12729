package web

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// apiDoc is an API entity's definition made readable: for OpenAPI (3.x and Swagger 2.0), the operations grouped
// by tag with their parameters, bodies and responses, and the schemas they use; for AsyncAPI, the channels; for
// anything else, the definition text.
type apiDoc struct {
	Type        string
	Spec        string
	Title       string
	Version     string
	Description string
	Servers     []serverDoc
	Groups      []opGroup
	Schemas     []schemaDoc
	Channels    []channelDoc
	Raw         string
	Problem     string
}

type serverDoc struct{ URL, Description string }

type opGroup struct {
	Tag         string
	Description string
	Ops         []operationDoc
}

type operationDoc struct {
	Anchor      string
	Method      string
	Path        string
	Summary     string
	Description string
	OperationID string
	Deprecated  bool
	Params      []paramDoc
	Body        *bodyDoc
	Responses   []responseDoc
}

type paramDoc struct {
	Name        string
	In          string
	Description string
	Required    bool
	Deprecated  bool
	Type        []typePart
	Enum        []string
}

type bodyDoc struct {
	Description string
	Required    bool
	Content     []mediaDoc
}

type mediaDoc struct {
	Type   string
	Schema []typePart
	Props  []propDoc
}

type responseDoc struct {
	Code        string
	Description string
	Content     []mediaDoc
}

type schemaDoc struct {
	Name        string
	Anchor      string
	Type        []typePart
	Description string
	Props       []propDoc
	Enum        []string
}

type propDoc struct {
	Name        string
	Required    bool
	Type        []typePart
	Description string
	Enum        []string
	ReadOnly    bool
	Deprecated  bool
}

type channelDoc struct {
	Name        string
	Description string
	Ops         []string
}

// typePart is one piece of a type's description; a part with an Anchor links to a schema on the page.
type typePart struct {
	Text   string
	Anchor string
}

// Limits that keep a hostile or huge definition from making the page expensive.
const (
	apiDefinitionMax = 2 << 20
	apiNodeMax       = 200000
	apiDepthMax      = 64
)

// omap is a YAML or JSON object that remembers the order of its keys, so operations and schemas show in the
// order their authors wrote them.
type omap struct {
	keys []string
	vals map[string]any
}

func (m *omap) get(k string) any {
	if m == nil {
		return nil
	}
	return m.vals[k]
}

func (m *omap) str(k string) string {
	s, _ := m.get(k).(string)
	return s
}

func (m *omap) obj(k string) *omap {
	o, _ := m.get(k).(*omap)
	return o
}

func (m *omap) list(k string) []any {
	l, _ := m.get(k).([]any)
	return l
}

func (m *omap) flag(k string) bool {
	b, _ := m.get(k).(bool)
	return b
}

type yamlReader struct{ nodes int }

func (y *yamlReader) read(n *yaml.Node, depth int) any {
	y.nodes++
	if n == nil || depth > apiDepthMax || y.nodes > apiNodeMax {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return y.read(n.Content[0], depth+1)
	case yaml.MappingNode:
		m := &omap{vals: map[string]any{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m.vals[k]; !dup {
				m.keys = append(m.keys, k)
			}
			m.vals[k] = y.read(n.Content[i+1], depth+1)
		}
		return m
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, y.read(c, depth+1))
		}
		return out
	case yaml.AliasNode:
		return y.read(n.Alias, depth+1)
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!null":
			return nil
		}
		return n.Value
	}
	return nil
}

// parseAPIDefinition reads spec.definition, which the catalog keeps as text (YAML or JSON).
func parseAPIDefinition(apiType string, definition any) *apiDoc {
	doc := &apiDoc{Type: strings.ToLower(apiType)}
	src, ok := definition.(string)
	if !ok {
		if definition == nil {
			doc.Problem = "This API has no definition."
			return doc
		}
		src = jsonText(definition)
	}
	doc.Raw = src
	switch doc.Type {
	case "openapi", "asyncapi", "":
	default:
		return doc
	}
	if len(src) > apiDefinitionMax {
		doc.Problem = fmt.Sprintf("The definition is larger than %d bytes, so only its text is shown.", apiDefinitionMax)
		return doc
	}
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(src), &node); err != nil {
		doc.Problem = "The definition is not valid YAML or JSON: " + err.Error()
		return doc
	}
	y := &yamlReader{}
	root, _ := y.read(&node, 0).(*omap)
	if y.nodes > apiNodeMax {
		doc.Problem = "The definition is too large to show as a reference; its text is below."
		return doc
	}
	if root == nil {
		doc.Problem = "The definition is not an object."
		return doc
	}
	info := root.obj("info")
	doc.Title, doc.Version, doc.Description = info.str("title"), info.str("version"), info.str("description")
	switch {
	case root.str("openapi") != "":
		doc.Spec = "OpenAPI " + root.str("openapi")
		readOpenAPI(doc, root, false)
	case root.str("swagger") != "":
		doc.Spec = "Swagger " + root.str("swagger")
		readOpenAPI(doc, root, true)
	case root.str("asyncapi") != "":
		doc.Spec = "AsyncAPI " + root.str("asyncapi")
		readAsyncAPI(doc, root)
	default:
		doc.Problem = "The definition names no OpenAPI, Swagger or AsyncAPI version."
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type openAPIReader struct {
	root    *omap
	swagger bool
}

func readOpenAPI(doc *apiDoc, root *omap, swagger bool) {
	rd := &openAPIReader{root: root, swagger: swagger}
	if swagger {
		scheme := "https"
		if schemes := root.list("schemes"); len(schemes) > 0 {
			if s, ok := schemes[0].(string); ok {
				scheme = s
			}
		}
		if host := root.str("host"); host != "" {
			doc.Servers = append(doc.Servers, serverDoc{URL: scheme + "://" + host + root.str("basePath")})
		}
	}
	for _, s := range root.list("servers") {
		if sm, ok := s.(*omap); ok {
			doc.Servers = append(doc.Servers, serverDoc{URL: sm.str("url"), Description: sm.str("description")})
		}
	}
	groups := map[string]*opGroup{}
	var order []string
	group := func(tag string) *opGroup {
		if g, ok := groups[tag]; ok {
			return g
		}
		g := &opGroup{Tag: tag}
		groups[tag] = g
		order = append(order, tag)
		return g
	}
	for _, t := range root.list("tags") {
		if tm, ok := t.(*omap); ok && tm.str("name") != "" {
			group(tm.str("name")).Description = tm.str("description")
		}
	}
	paths := root.obj("paths")
	if paths != nil {
		for _, p := range paths.keys {
			item := rd.deref(paths.get(p))
			if item == nil {
				continue
			}
			shared := item.list("parameters")
			for _, method := range httpMethods {
				op := rd.deref(item.get(method))
				if op == nil {
					continue
				}
				tag := "Operations"
				if tags := op.list("tags"); len(tags) > 0 {
					if s, ok := tags[0].(string); ok && s != "" {
						tag = s
					}
				}
				g := group(tag)
				g.Ops = append(g.Ops, rd.operation(method, p, op, shared))
			}
		}
	}
	for _, tag := range order {
		if g := groups[tag]; len(g.Ops) > 0 {
			doc.Groups = append(doc.Groups, *g)
		}
	}
	schemas := root.obj("definitions")
	if !swagger {
		schemas = root.obj("components").obj("schemas")
	}
	if schemas != nil {
		for _, name := range schemas.keys {
			doc.Schemas = append(doc.Schemas, rd.schema(name, schemas.get(name)))
		}
	}
}

// deref follows a local $ref ("#/components/parameters/x") to the object it names.
func (rd *openAPIReader) deref(v any) *omap {
	m, _ := v.(*omap)
	for range 8 {
		ref := m.str("$ref")
		if ref == "" {
			return m
		}
		m = rd.pointer(ref)
	}
	return m
}

func (rd *openAPIReader) pointer(ref string) *omap {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	cur := rd.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		cur = cur.obj(part)
		if cur == nil {
			return nil
		}
	}
	return cur
}

func (rd *openAPIReader) operation(method, path string, op *omap, shared []any) operationDoc {
	o := operationDoc{Anchor: anchor("op-" + method + "-" + path), Method: strings.ToUpper(method), Path: path,
		Summary: op.str("summary"), Description: op.str("description"), OperationID: op.str("operationId"), Deprecated: op.flag("deprecated")}
	seen := map[string]int{}
	for _, list := range [][]any{shared, op.list("parameters")} {
		for _, raw := range list {
			p := rd.deref(raw)
			if p == nil {
				continue
			}
			if rd.swagger && p.str("in") == "body" {
				o.Body = &bodyDoc{Description: p.str("description"), Required: p.flag("required"),
					Content: []mediaDoc{rd.media("application/json", p.get("schema"))}}
				continue
			}
			pd := paramDoc{Name: p.str("name"), In: p.str("in"), Description: p.str("description"), Required: p.flag("required"),
				Deprecated: p.flag("deprecated")}
			schema := p.get("schema")
			if rd.swagger {
				schema = p
			}
			pd.Type = rd.typeOf(schema, 0)
			pd.Enum = enumOf(rd.deref(schema))
			key := pd.In + ":" + pd.Name
			if i, ok := seen[key]; ok {
				o.Params[i] = pd // an operation's parameter overrides the path's
				continue
			}
			seen[key] = len(o.Params)
			o.Params = append(o.Params, pd)
		}
	}
	if body := rd.deref(op.get("requestBody")); body != nil {
		b := &bodyDoc{Description: body.str("description"), Required: body.flag("required")}
		if content := body.obj("content"); content != nil {
			for _, ct := range content.keys {
				b.Content = append(b.Content, rd.media(ct, content.obj(ct).get("schema")))
			}
		}
		o.Body = b
	}
	if responses := op.obj("responses"); responses != nil {
		for _, code := range responses.keys {
			resp := rd.deref(responses.get(code))
			rdoc := responseDoc{Code: code, Description: resp.str("description")}
			if rd.swagger {
				if s := resp.get("schema"); s != nil {
					rdoc.Content = append(rdoc.Content, rd.media("application/json", s))
				}
			} else if content := resp.obj("content"); content != nil {
				for _, ct := range content.keys {
					rdoc.Content = append(rdoc.Content, rd.media(ct, content.obj(ct).get("schema")))
				}
			}
			o.Responses = append(o.Responses, rdoc)
		}
	}
	return o
}

// media describes a body's schema: its type and, for an object written inline, its properties.
func (rd *openAPIReader) media(contentType string, schema any) mediaDoc {
	md := mediaDoc{Type: contentType, Schema: rd.typeOf(schema, 0)}
	if m, ok := schema.(*omap); ok && m.str("$ref") == "" {
		md.Props = rd.props(m)
	}
	return md
}

func (rd *openAPIReader) schema(name string, v any) schemaDoc {
	sd := schemaDoc{Name: name, Anchor: anchor("schema-" + name)}
	m, _ := v.(*omap)
	sd.Description = m.str("description")
	sd.Type = rd.typeOf(m, 0)
	sd.Enum = enumOf(m)
	sd.Props = rd.props(m)
	// allOf parts written inline contribute their properties too.
	for _, part := range m.list("allOf") {
		if pm, ok := part.(*omap); ok && pm.str("$ref") == "" {
			sd.Props = append(sd.Props, rd.props(pm)...)
		}
	}
	return sd
}

func (rd *openAPIReader) props(m *omap) []propDoc {
	properties := m.obj("properties")
	if properties == nil {
		return nil
	}
	required := map[string]bool{}
	for _, r := range m.list("required") {
		if s, ok := r.(string); ok {
			required[s] = true
		}
	}
	out := make([]propDoc, 0, len(properties.keys))
	for _, name := range properties.keys {
		p, _ := properties.get(name).(*omap)
		target := rd.deref(p)
		pd := propDoc{Name: name, Required: required[name], Type: rd.typeOf(p, 0), Description: p.str("description"),
			Enum: enumOf(target), ReadOnly: p.flag("readOnly"), Deprecated: p.flag("deprecated")}
		if pd.Description == "" {
			pd.Description = target.str("description")
		}
		out = append(out, pd)
	}
	return out
}

// typeOf describes a schema in words: "array of Payment", "string (date-time)", "one of Card | BankAccount".
func (rd *openAPIReader) typeOf(v any, depth int) []typePart {
	m, ok := v.(*omap)
	if !ok || m == nil {
		return []typePart{{Text: "any"}}
	}
	if depth > 6 {
		return []typePart{{Text: "…"}}
	}
	if ref := m.str("$ref"); ref != "" {
		name := ref[strings.LastIndex(ref, "/")+1:]
		if strings.HasPrefix(ref, "#/components/schemas/") || strings.HasPrefix(ref, "#/definitions/") {
			return []typePart{{Text: name, Anchor: anchor("schema-" + name)}}
		}
		return []typePart{{Text: name}}
	}
	for _, comb := range []struct{ key, prefix, sep string }{{"oneOf", "one of ", " | "}, {"anyOf", "any of ", " | "}, {"allOf", "", " & "}} {
		if parts := m.list(comb.key); len(parts) > 0 {
			out := []typePart{}
			if comb.prefix != "" && len(parts) > 1 {
				out = append(out, typePart{Text: comb.prefix})
			}
			for i, p := range parts {
				if i > 0 {
					out = append(out, typePart{Text: comb.sep})
				}
				out = append(out, rd.typeOf(p, depth+1)...)
			}
			return out
		}
	}
	var types []string
	switch t := m.get("type").(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				types = append(types, s)
			}
		}
	}
	if len(types) == 0 {
		switch {
		case m.get("properties") != nil:
			types = []string{"object"}
		case m.get("items") != nil:
			types = []string{"array"}
		default:
			return []typePart{{Text: "any"}}
		}
	}
	var out []typePart
	for i, t := range types {
		if i > 0 {
			out = append(out, typePart{Text: " | "})
		}
		switch t {
		case "array":
			out = append(out, typePart{Text: "array of "})
			out = append(out, rd.typeOf(m.get("items"), depth+1)...)
		case "object":
			if ap, ok := m.get("additionalProperties").(*omap); ok && m.get("properties") == nil {
				out = append(out, typePart{Text: "map of "})
				out = append(out, rd.typeOf(ap, depth+1)...)
			} else {
				out = append(out, typePart{Text: "object"})
			}
		default:
			text := t
			if f := m.str("format"); f != "" {
				text += " (" + f + ")"
			}
			out = append(out, typePart{Text: text})
		}
	}
	if m.flag("nullable") {
		out = append(out, typePart{Text: " | null"})
	}
	return out
}

func enumOf(m *omap) []string {
	var out []string
	for _, e := range m.list("enum") {
		switch t := e.(type) {
		case string:
			out = append(out, t)
		case nil:
			out = append(out, "null")
		default:
			out = append(out, fmt.Sprint(t))
		}
	}
	return out
}

func readAsyncAPI(doc *apiDoc, root *omap) {
	for _, s := range root.list("servers") {
		if sm, ok := s.(*omap); ok {
			doc.Servers = append(doc.Servers, serverDoc{URL: sm.str("url"), Description: sm.str("description")})
		}
	}
	if servers := root.obj("servers"); servers != nil {
		for _, name := range servers.keys {
			s := servers.obj(name)
			u := s.str("url")
			if u == "" {
				u = s.str("host") + s.str("pathname")
			}
			doc.Servers = append(doc.Servers, serverDoc{URL: u, Description: name + " " + s.str("description")})
		}
	}
	channels := root.obj("channels")
	if channels == nil {
		return
	}
	for _, name := range channels.keys {
		c := channels.obj(name)
		cd := channelDoc{Name: name, Description: c.str("description")}
		if addr := c.str("address"); addr != "" {
			cd.Name = addr
		}
		for _, verb := range []string{"publish", "subscribe"} {
			if op := c.obj(verb); op != nil {
				line := verb
				if s := op.str("summary"); s != "" {
					line += ": " + s
				}
				cd.Ops = append(cd.Ops, line)
			}
		}
		doc.Channels = append(doc.Channels, cd)
	}
}

// anchor makes an id attribute of any text.
func anchor(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
