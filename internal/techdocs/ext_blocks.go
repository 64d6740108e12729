package techdocs

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// The container blocks of Python-Markdown's admonition and pymdownx's details and tabbed
// extensions: a marker line, then a body indented by four spaces, parsed as Markdown.
//
//	!!! note "Title"      admonition            ??? note      collapsed details
//	=== "Tab"             one tab of a set      ???+ note     expanded details

// KindContainer is the AST kind of admonitions, details and tabs.
var KindContainer = ast.NewNodeKind("TechDocsContainer")

// KindContainerTitle is the AST kind of a container's title, parsed as inline Markdown.
var KindContainerTitle = ast.NewNodeKind("TechDocsContainerTitle")

// KindTabbedSet is the AST kind that groups consecutive tabs.
var KindTabbedSet = ast.NewNodeKind("TechDocsTabbedSet")

type containerStyle int

const (
	styleAdmonition containerStyle = iota
	styleDetails
	styleTab
)

// container is one admonition, details block or tab.
type container struct {
	ast.BaseBlock
	style   containerStyle
	classes string // "note", "danger highlight"
	open    bool   // ???+ and ===+
	newSet  bool   // ===! starts a new tabbed set
	noTitle bool   // !!! note "" suppresses the title
}

func (n *container) Kind() ast.NodeKind { return KindContainer }
func (n *container) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"classes": n.classes}, nil)
}

type containerTitle struct {
	ast.BaseBlock
	labelFor string // set when the title is a tab's label
	// fallback is the title we make up when the source has none (the capitalized type). It is
	// not a child node because goldmark parses inline content only after block parsing, and
	// block nodes may not hold inline children before that.
	fallback string
}

func (n *containerTitle) Kind() ast.NodeKind            { return KindContainerTitle }
func (n *containerTitle) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

// tabbedSet is created by groupTabs around adjacent tabs. Its first child holds the tabs' titles
// (rendered as labels) and its second the tabs themselves, because pymdownx's alternate style
// writes every label before any content. index numbers the sets of a page from 1, as pymdownx
// does, so input ids are stable and unique within the page.
type tabbedSet struct {
	ast.BaseBlock
	index    int
	count    int
	selected int
}

func (n *tabbedSet) Kind() ast.NodeKind { return KindTabbedSet }
func (n *tabbedSet) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"index": strconv.Itoa(n.index)}, nil)
}

// KindTabPart is the AST kind of the labels and content halves of a tabbed set.
var KindTabPart = ast.NewNodeKind("TechDocsTabPart")

type tabPart struct {
	ast.BaseBlock
	labels bool
}

func (n *tabPart) Kind() ast.NodeKind            { return KindTabPart }
func (n *tabPart) Dump(source []byte, level int) { ast.DumpHelper(n, source, level, nil, nil) }

var (
	// admonitionRE is Python-Markdown's admonition RE on one line.
	admonitionRE = regexp.MustCompile(`^!!! ?([\w\-]+(?: +[\w\-]+)*)(?: +"(.*?)")? *$`)
	// detailsRE follows pymdownx.details: a type, a quoted title, or both.
	detailsRE = regexp.MustCompile(`^\?\?\?(\+)? *(?:([\w\-]+(?: +[\w\-]+)*))? *(?:"(.*?)")? *$`)
	// tabRE follows pymdownx.tabbed: ===, optional ! (new set) and + (selected), then a quoted title.
	tabRE = regexp.MustCompile(`^===(!?\+?|\+?!?)[ \t]+"(.*?)" *$`)
)

type containerParser struct{}

func (containerParser) Trigger() []byte { return []byte{'!', '?', '='} }

func (containerParser) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	line, seg := reader.PeekLine()
	w, pos := util.IndentWidth(line, reader.LineOffset())
	if w > 3 {
		return nil, parser.NoChildren
	}
	body := bytes.TrimRight(line[pos:], "\r\n")
	n := &container{}
	var title []byte
	titleStart := -1
	switch body[0] {
	case '!':
		m := admonitionRE.FindSubmatchIndex(body)
		if m == nil {
			return nil, parser.NoChildren
		}
		n.style = styleAdmonition
		n.classes = strings.ToLower(string(body[m[2]:m[3]]))
		if m[4] >= 0 {
			title, titleStart = body[m[4]:m[5]], m[4]
			n.noTitle = len(title) == 0
		}
	case '?':
		m := detailsRE.FindSubmatchIndex(body)
		if m == nil || (m[4] < 0 && m[6] < 0) {
			return nil, parser.NoChildren
		}
		n.style = styleDetails
		n.open = m[2] >= 0
		if m[4] >= 0 {
			n.classes = strings.ToLower(string(body[m[4]:m[5]]))
		}
		if m[6] >= 0 {
			title, titleStart = body[m[6]:m[7]], m[6]
		}
	case '=':
		m := tabRE.FindSubmatchIndex(body)
		if m == nil {
			return nil, parser.NoChildren
		}
		n.style = styleTab
		flags := string(body[m[2]:m[3]])
		n.open = strings.Contains(flags, "+")
		n.newSet = strings.Contains(flags, "!")
		title, titleStart = body[m[4]:m[5]], m[4]
	default:
		return nil, parser.NoChildren
	}
	t := &containerTitle{}
	if titleStart >= 0 && len(title) > 0 {
		start := seg.Start + pos + titleStart
		t.Lines().Append(text.NewSegment(start, start+len(title)))
	} else if !n.noTitle {
		// The default title is the first class, capitalized, as Python-Markdown does; it is text
		// we make up, so it lives in the node rather than in the source.
		t.fallback = defaultTitle(n.classes)
	}
	n.AppendChild(n, t)
	reader.Advance(len(line) - 1)
	return n, parser.HasChildren
}

func defaultTitle(classes string) string {
	first, _, _ := strings.Cut(classes, " ")
	if first == "" {
		return ""
	}
	return strings.ToUpper(first[:1]) + first[1:]
}

// Continue keeps lines indented by four columns (or blank) in the body. Like a list item, a body
// paragraph still takes CommonMark lazy continuation lines.
func (containerParser) Continue(node ast.Node, reader text.Reader, pc parser.Context) parser.State {
	line, _ := reader.PeekLine()
	if util.IsBlank(line) {
		return parser.Continue | parser.HasChildren
	}
	w, _ := util.IndentWidth(line, reader.LineOffset())
	if w < 4 {
		return parser.Close
	}
	pos, padding := util.IndentPosition(line, reader.LineOffset(), 4)
	reader.AdvanceAndSetPadding(pos, padding)
	return parser.Continue | parser.HasChildren
}

func (containerParser) Close(node ast.Node, reader text.Reader, pc parser.Context) {}
func (containerParser) CanInterruptParagraph() bool                                { return true }
func (containerParser) CanAcceptIndentedLine() bool                                { return false }

// groupTabs wraps runs of adjacent tabs in tabbed sets, splitting a run where a tab says "===!",
// and moves each tab's title into the set's labels.
func groupTabs(doc ast.Node) {
	index := 0
	var walk func(parent ast.Node)
	walk = func(parent ast.Node) {
		for c := parent.FirstChild(); c != nil; {
			t, ok := c.(*container)
			if !ok || t.style != styleTab {
				walk(c)
				c = c.NextSibling()
				continue
			}
			index++
			set := &tabbedSet{index: index}
			labels, content := &tabPart{labels: true}, &tabPart{}
			set.AppendChild(set, labels)
			set.AppendChild(set, content)
			parent.InsertBefore(parent, c, set)
			cur := c
			for cur != nil {
				tab, ok := cur.(*container)
				if !ok || tab.style != styleTab || (cur != c && tab.newSet) {
					break
				}
				after := cur.NextSibling()
				if tab.open {
					set.selected = set.count
				}
				set.count++
				if title, ok := tab.FirstChild().(*containerTitle); ok {
					title.labelFor = "__tabbed_" + strconv.Itoa(index) + "_" + strconv.Itoa(set.count)
					labels.AppendChild(labels, title)
				}
				content.AppendChild(content, cur)
				walk(cur)
				cur = after
			}
			c = cur
		}
	}
	walk(doc)
}

// ghAlertTypes maps GitHub's alert markers to admonition types, as techdocs-core's
// gh-admonitions plugin does.
var ghAlertTypes = map[string]string{
	"[!NOTE]": "note", "[!TIP]": "tip", "[!IMPORTANT]": "important", "[!WARNING]": "warning",
	"[!CAUTION]": "caution",
}

// convertAlerts turns a blockquote whose first line is a GitHub alert marker into an admonition.
func convertAlerts(doc ast.Node, source []byte) {
	var quotes []*ast.Blockquote
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if q, ok := n.(*ast.Blockquote); ok && entering {
			quotes = append(quotes, q)
		}
		return ast.WalkContinue, nil
	})
	for _, q := range quotes {
		p, ok := q.FirstChild().(*ast.Paragraph)
		if !ok || p.Lines().Len() == 0 {
			continue
		}
		first := p.Lines().At(0)
		kind, ok := ghAlertTypes[strings.ToUpper(string(bytes.TrimSpace(first.Value(source))))]
		if !ok {
			continue
		}
		// Drop the inline nodes that came from the marker line, and the line break after it.
		for c := p.FirstChild(); c != nil; {
			next := c.NextSibling()
			if t, ok := c.(*ast.Text); ok && t.Segment.Start >= first.Stop {
				break
			}
			if c.Pos() >= first.Stop {
				break
			}
			p.RemoveChild(p, c)
			c = next
		}
		adm := &container{style: styleAdmonition, classes: kind}
		title := &containerTitle{fallback: defaultTitle(kind)}
		adm.AppendChild(adm, title)
		parent := q.Parent()
		parent.ReplaceChild(parent, q, adm)
		for c := q.FirstChild(); c != nil; {
			next := c.NextSibling()
			if c == p && !p.HasChildren() {
				c = next
				continue
			}
			adm.AppendChild(adm, c)
			c = next
		}
	}
}

type containerRenderer struct{}

func (containerRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(KindContainer, renderContainer)
	reg.Register(KindContainerTitle, renderContainerTitle)
	reg.Register(KindTabbedSet, renderTabbedSet)
	reg.Register(KindTabPart, renderTabPart)
}

func renderContainer(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*container)
	switch n.style {
	case styleAdmonition:
		if entering {
			_, _ = w.WriteString(`<div class="admonition`)
			if n.classes != "" {
				_ = w.WriteByte(' ')
				_, _ = w.Write(util.EscapeHTML([]byte(n.classes)))
			}
			_, _ = w.WriteString("\">\n")
		} else {
			_, _ = w.WriteString("</div>\n")
		}
	case styleDetails:
		if entering {
			_, _ = w.WriteString("<details")
			if n.classes != "" {
				_, _ = w.WriteString(` class="`)
				_, _ = w.Write(util.EscapeHTML([]byte(n.classes)))
				_ = w.WriteByte('"')
			}
			if n.open {
				_, _ = w.WriteString(` open="open"`)
			}
			_, _ = w.WriteString(">\n")
		} else {
			_, _ = w.WriteString("</details>\n")
		}
	case styleTab:
		if entering {
			_, _ = w.WriteString("<div class=\"tabbed-block\">\n")
		} else {
			_, _ = w.WriteString("</div>\n")
		}
	}
	return ast.WalkContinue, nil
}

func renderContainerTitle(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*containerTitle)
	open, closing := `<p class="admonition-title">`, "</p>\n"
	switch {
	case n.labelFor != "":
		open, closing = `<label for="`+n.labelFor+`">`, "</label>"
	case !n.HasChildren() && n.fallback == "":
		return ast.WalkSkipChildren, nil
	default:
		if c, ok := n.Parent().(*container); ok && c.style == styleDetails {
			open, closing = "<summary>", "</summary>\n"
		}
	}
	if entering {
		_, _ = w.WriteString(open)
		if !n.HasChildren() {
			_, _ = w.Write(util.EscapeHTML([]byte(n.fallback)))
		}
	} else {
		_, _ = w.WriteString(closing)
	}
	return ast.WalkContinue, nil
}

// renderTabbedSet writes pymdownx.tabbed's alternate style: radio inputs and labels first, then
// the blocks, so the portal's CSS can show one block per checked input without script.
func renderTabbedSet(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*tabbedSet)
	if !entering {
		_, _ = w.WriteString("</div>\n")
		return ast.WalkContinue, nil
	}
	set := strconv.Itoa(n.index)
	_, _ = w.WriteString(`<div class="tabbed-set tabbed-alternate" data-tabs="` + set + ":" + strconv.Itoa(n.count) + `">`)
	for i := range n.count {
		_, _ = w.WriteString("<input")
		if i == n.selected {
			_, _ = w.WriteString(` checked="checked"`)
		}
		_, _ = w.WriteString(` id="__tabbed_` + set + "_" + strconv.Itoa(i+1) + `" name="__tabbed_` + set + `" type="radio">`)
	}
	return ast.WalkContinue, nil
}

func renderTabPart(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*tabPart)
	switch {
	case n.labels && entering:
		_, _ = w.WriteString(`<div class="tabbed-labels">`)
	case n.labels:
		_, _ = w.WriteString("</div>\n")
	case entering:
		_, _ = w.WriteString("<div class=\"tabbed-content\">\n")
	default:
		_, _ = w.WriteString("</div>\n")
	}
	return ast.WalkContinue, nil
}
