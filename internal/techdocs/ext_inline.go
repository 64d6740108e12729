package techdocs

import (
	"bytes"
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// KindInlineTag is the AST kind of pymdownx's caret, tilde and mark spans.
var KindInlineTag = ast.NewNodeKind("TechDocsInlineTag")

// inlineTag is <del>, <sub>, <ins>, <sup> or <mark>.
type inlineTag struct {
	ast.BaseInline
	tag string
}

func (n *inlineTag) Kind() ast.NodeKind { return KindInlineTag }
func (n *inlineTag) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"tag": n.tag}, nil)
}

// tagDelimiters implements pymdownx.tilde (~~del~~, ~sub~), pymdownx.caret (^^ins^^, ^sup^) and
// pymdownx.mark (==mark==). Doubled markers go through goldmark's delimiter algorithm so they nest
// with emphasis; single ~ and ^ are scanned directly because pymdownx only accepts them around
// text without whitespace (H~2~O, x^2^), which keeps "~5 KB" and "a ^ b" plain text.
type tagDelimiters struct{ char byte }

func (d tagDelimiters) IsDelimiter(b byte) bool { return b == d.char }

func (d tagDelimiters) CanOpenCloser(opener, closer *parser.Delimiter) bool {
	if opener.Char != closer.Char {
		return false
	}
	if d.char == '=' {
		return opener.Length >= 2 && closer.Length >= 2
	}
	return true
}

func (d tagDelimiters) OnMatch(consumes int) ast.Node {
	return &inlineTag{tag: tagFor(d.char, consumes)}
}

func tagFor(char byte, n int) string {
	switch {
	case char == '=':
		return "mark"
	case char == '~' && n >= 2:
		return "del"
	case char == '~':
		return "sub"
	case char == '^' && n >= 2:
		return "ins"
	default:
		return "sup"
	}
}

type tagParser struct{ delims map[byte]tagDelimiters }

func newTagParser() *tagParser {
	return &tagParser{delims: map[byte]tagDelimiters{'~': {'~'}, '^': {'^'}, '=': {'='}}}
}

func (p *tagParser) Trigger() []byte { return []byte{'~', '^', '='} }

func (p *tagParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	before := block.PrecendingCharacter()
	line, segment := block.PeekLine()
	c := line[0]
	if rune(c) == before {
		return nil
	}
	run := 0
	for run < len(line) && line[run] == c {
		run++
	}
	if run == 1 {
		if c == '=' {
			return nil
		}
		return p.single(block, line, segment, c)
	}
	node := parser.ScanDelimiter(line, before, 2, p.delims[c])
	if node == nil || node.OriginalLength > 3 {
		return nil
	}
	node.Segment = segment.WithStop(segment.Start + node.OriginalLength)
	block.Advance(node.OriginalLength)
	pc.PushDelimiter(node)
	return node
}

func (p *tagParser) single(block text.Reader, line []byte, segment text.Segment, c byte) ast.Node {
	end := -1
	for i := 1; i < len(line); i++ {
		b := line[i]
		if b == '\\' && i+1 < len(line) {
			i++
			continue
		}
		if b == c {
			end = i
			break
		}
		if b == ' ' || b == '\t' || b == '\n' || b == '\r' {
			return nil
		}
	}
	if end <= 1 || (end+1 < len(line) && line[end+1] == c) {
		return nil
	}
	n := &inlineTag{tag: tagFor(c, 1)}
	t := ast.NewTextSegment(text.NewSegment(segment.Start+1, segment.Start+end))
	n.AppendChild(n, t)
	block.Advance(end + 1)
	return n
}

func (p *tagParser) CloseBlock(parent ast.Node, pc parser.Context) {}

type inlineTagRenderer struct{}

func (inlineTagRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindInlineTag, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*inlineTag)
		if entering {
			_ = w.WriteByte('<')
			_, _ = w.WriteString(n.tag)
			renderSafeAttributes(w, n)
			_ = w.WriteByte('>')
		} else {
			_, _ = w.WriteString("</" + n.tag + ">")
		}
		return ast.WalkContinue, nil
	})
}

// Attribute lists (Python-Markdown attr_list): "{: #id .class key=value }" after an inline
// element, at the end of a heading, or on the last line of a paragraph.

// allowedAttr limits attr_list to attributes that cannot run script or restyle the portal: ids,
// classes, and a few presentational or link attributes docs use ({target=_blank}, {width=300}).
func allowedAttr(name string) bool {
	switch name {
	case "id", "class", "title", "lang", "dir", "target", "rel", "width", "height", "align", "alt", "loading", "hreflang":
		return true
	}
	return strings.HasPrefix(name, "data-") && len(name) > 5 && !strings.ContainsAny(name, "\"'<>=/ ")
}

// parseAttrList reads "{...}" at the start of b and returns the attributes and the length read.
func parseAttrList(b []byte) ([]ast.Attribute, int, bool) {
	if len(b) < 2 || b[0] != '{' {
		return nil, 0, false
	}
	end := bytes.IndexAny(b, "}\n")
	if end < 0 || b[end] != '}' {
		return nil, 0, false
	}
	body := strings.TrimSpace(string(b[1:end]))
	body = strings.TrimSpace(strings.TrimPrefix(body, ":"))
	if body == "" {
		return nil, 0, false
	}
	var attrs []ast.Attribute
	var classes []string
	for body != "" {
		var tok string
		if body[0] == '"' || body[0] == '\'' {
			return nil, 0, false
		}
		i := 0
		for i < len(body) && body[i] != ' ' && body[i] != '\t' {
			if body[i] == '=' && i+1 < len(body) && (body[i+1] == '"' || body[i+1] == '\'') {
				q := body[i+1]
				j := strings.IndexByte(body[i+2:], q)
				if j < 0 {
					return nil, 0, false
				}
				i += 2 + j
			}
			i++
		}
		tok, body = body[:i], strings.TrimLeft(body[i:], " \t")
		switch {
		case strings.HasPrefix(tok, "#"):
			if len(tok) > 1 {
				attrs = append(attrs, ast.Attribute{Name: []byte("id"), Value: []byte(tok[1:])})
			}
		case strings.HasPrefix(tok, "."):
			if len(tok) > 1 {
				classes = append(classes, tok[1:])
			}
		default:
			k, v, ok := strings.Cut(tok, "=")
			if !ok {
				continue
			}
			if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
				v = v[1 : len(v)-1]
			}
			k = strings.ToLower(k)
			if k == "class" {
				classes = append(classes, strings.Fields(v)...)
				continue
			}
			if allowedAttr(k) {
				attrs = append(attrs, ast.Attribute{Name: []byte(k), Value: []byte(v)})
			}
		}
	}
	if len(classes) > 0 {
		attrs = append(attrs, ast.Attribute{Name: []byte("class"), Value: []byte(strings.Join(classes, " "))})
	}
	return attrs, end + 1, true
}

func setAttrs(n ast.Node, attrs []ast.Attribute) {
	for _, a := range attrs {
		if string(a.Name) == "class" {
			if old, ok := n.AttributeString("class"); ok {
				if ob, ok := old.([]byte); ok {
					a.Value = append(append(append([]byte{}, ob...), ' '), a.Value.([]byte)...)
				}
			}
		}
		n.SetAttribute(a.Name, a.Value)
	}
}

type attrListParser struct{}

func (attrListParser) Trigger() []byte { return []byte{'{'} }

func (attrListParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, _ := block.PeekLine()
	attrs, n, ok := parseAttrList(line)
	if !ok {
		return nil
	}
	before := block.PrecendingCharacter()
	rest := line[n:]
	atBlockEnd := len(bytes.TrimSpace(rest)) == 0 && isLastLine(block)
	prev := parent.LastChild()
	switch {
	case atBlockEnd && before == '\n' && parent.Kind() == ast.KindParagraph:
		// A paragraph's own last line: the attributes are the paragraph's.
		trimTrailingBreak(prev)
		setAttrs(parent, attrs)
	case atBlockEnd && (before == ' ' || before == '\t') && parent.Kind() == ast.KindHeading:
		trimTrailingSpace(prev, block.Source())
		setAttrs(parent, attrs)
	case prev != nil && before != ' ' && before != '\t' && before != '\n' && isAttributable(prev):
		setAttrs(prev, attrs)
	default:
		return nil
	}
	block.Advance(n)
	if atBlockEnd {
		block.Advance(len(rest))
	}
	// An empty text node stands in for the consumed list; goldmark requires a node back.
	return ast.NewTextSegment(text.NewSegment(0, 0))
}

func (attrListParser) CloseBlock(parent ast.Node, pc parser.Context) {}

func isAttributable(n ast.Node) bool {
	switch n.Kind() {
	case ast.KindLink, ast.KindImage, ast.KindEmphasis, ast.KindCodeSpan, KindInlineTag:
		return true
	}
	return false
}

func isLastLine(block text.Reader) bool {
	l, pos := block.Position()
	block.AdvanceLine()
	next, _ := block.PeekLine()
	block.SetPosition(l, pos)
	return next == nil
}

func trimTrailingBreak(n ast.Node) {
	if t, ok := n.(*ast.Text); ok {
		t.SetSoftLineBreak(false)
		t.SetHardLineBreak(false)
	}
}

func trimTrailingSpace(n ast.Node, source []byte) {
	if t, ok := n.(*ast.Text); ok {
		t.Segment = t.Segment.TrimRightSpace(source)
	}
}

// renderSafeAttributes writes the attributes attr_list set, which allowedAttr already limited.
func renderSafeAttributes(w util.BufWriter, n ast.Node) {
	for _, a := range n.Attributes() {
		v, ok := a.Value.([]byte)
		if !ok {
			continue
		}
		_ = w.WriteByte(' ')
		_, _ = w.Write(a.Name)
		_, _ = w.WriteString(`="`)
		_, _ = w.Write(util.EscapeHTML(v))
		_ = w.WriteByte('"')
	}
}

// Abbreviations (Python-Markdown abbr): "*[HTML]: Hyper Text Markup Language" anywhere in the page
// wraps every whole-word HTML in the page's text in <abbr title="...">.

// KindAbbr is the AST kind of an abbreviation use.
var KindAbbr = ast.NewNodeKind("TechDocsAbbr")

type abbr struct {
	ast.BaseInline
	title string
}

func (n *abbr) Kind() ast.NodeKind            { return KindAbbr }
func (n *abbr) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

var kindAbbrDef = ast.NewNodeKind("TechDocsAbbrDefinition")

type abbrDef struct{ ast.BaseBlock }

func (n *abbrDef) Kind() ast.NodeKind            { return kindAbbrDef }
func (n *abbrDef) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

var abbrKey = parser.NewContextKey()

var abbrDefRE = regexp.MustCompile(`^[ ]{0,3}\*\[([^\]]+)\][ ]?:[ ]*(.*?)[ ]*$`)

type abbrParser struct{}

func (abbrParser) Trigger() []byte { return []byte{'*'} }

func (abbrParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, _ := reader.PeekLine()
	m := abbrDefRE.FindSubmatch(bytes.TrimRight(line, "\r\n"))
	if m == nil {
		return nil, parser.NoChildren
	}
	defs, _ := pc.Get(abbrKey).(map[string]string)
	if defs == nil {
		defs = map[string]string{}
		pc.Set(abbrKey, defs)
	}
	defs[strings.TrimSpace(string(m[1]))] = string(m[2])
	reader.Advance(len(line) - 1)
	return &abbrDef{}, parser.NoChildren
}

func (abbrParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	return parser.Close
}
func (abbrParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {}
func (abbrParser) CanInterruptParagraph() bool                                { return true }
func (abbrParser) CanAcceptIndentedLine() bool                                { return false }

// applyAbbreviations splits text nodes around whole-word uses of the page's abbreviations.
func applyAbbreviations(doc ast.Node, source []byte, defs map[string]string) {
	if len(defs) == 0 {
		return
	}
	names := make([]string, 0, len(defs))
	for k := range defs {
		names = append(names, regexp.QuoteMeta(k))
	}
	// Longest first, so "HTML5" wins over "HTML" where both are defined.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	re := regexp.MustCompile(`\b(?:` + strings.Join(names, "|") + `)\b`)
	var texts []*ast.Text
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n.Kind() {
		case ast.KindCodeSpan, ast.KindCodeBlock, ast.KindFencedCodeBlock, ast.KindHTMLBlock, ast.KindRawHTML, ast.KindAutoLink, kindAbbrDef:
			return ast.WalkSkipChildren, nil
		case ast.KindText:
			texts = append(texts, n.(*ast.Text))
		}
		return ast.WalkContinue, nil
	})
	for _, t := range texts {
		seg := t.Segment
		matches := re.FindAllIndex(seg.Value(source), -1)
		if matches == nil {
			continue
		}
		parent := t.Parent()
		cur := seg.Start
		for _, m := range matches {
			if m[0] > cur-seg.Start {
				parent.InsertBefore(parent, t, ast.NewTextSegment(text.NewSegment(cur, seg.Start+m[0])))
			}
			word := text.NewSegment(seg.Start+m[0], seg.Start+m[1])
			a := &abbr{title: defs[string(word.Value(source))]}
			a.AppendChild(a, ast.NewTextSegment(word))
			parent.InsertBefore(parent, t, a)
			cur = seg.Start + m[1]
		}
		t.Segment = text.NewSegment(cur, seg.Stop)
	}
}

type abbrRenderer struct{}

func (abbrRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindAbbr, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			_, _ = w.WriteString(`<abbr title="`)
			_, _ = w.Write(util.EscapeHTML([]byte(node.(*abbr).title)))
			_, _ = w.WriteString(`">`)
		} else {
			_, _ = w.WriteString("</abbr>")
		}
		return ast.WalkContinue, nil
	})
	reg.Register(kindAbbrDef, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		return ast.WalkSkipChildren, nil
	})
}
