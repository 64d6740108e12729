package techdocs

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// codeRenderer renders fenced and indented code with chroma (CSS classes, never inline styles, so
// one stylesheet themes every site and the sanitizer has nothing to allow), mermaid fences as
// <pre class="mermaid"> for client-side rendering, and pymdownx.inlinehilite's `#!lang code` spans.
type codeRenderer struct {
	page *pageState
}

func (r *codeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, r.renderFenced)
	reg.Register(ast.KindCodeBlock, r.renderIndented)
	reg.Register(ast.KindCodeSpan, r.renderCodeSpan)
}

// fenceInfo is what pymdownx.superfences accepts after the backticks: a language or a brace
// list of classes, then options.
type fenceInfo struct {
	lang     string
	title    string
	start    int
	hlLines  [][2]int
	noNumber bool
}

func parseFenceInfo(info string) fenceInfo {
	fi := fenceInfo{start: 1}
	info = strings.TrimSpace(info)
	if strings.HasPrefix(info, "{") {
		info = strings.TrimSuffix(strings.TrimPrefix(info, "{"), "}")
	} else if i := strings.IndexAny(info, " \t"); i >= 0 {
		fi.lang, info = info[:i], info[i:]
	} else {
		fi.lang, info = info, ""
	}
	for _, tok := range splitOptions(info) {
		k, v, hasValue := strings.Cut(tok, "=")
		v = strings.Trim(v, `"'`)
		switch {
		case !hasValue && strings.HasPrefix(k, ".") && fi.lang == "":
			fi.lang = k[1:]
		case k == "title":
			fi.title = v
		case k == "linenums":
			// linenums="0" turns numbering off for one block; "n" starts numbering at n.
			if n, err := strconv.Atoi(strings.Fields(v + " 1")[0]); err == nil {
				if n <= 0 {
					fi.noNumber = true
				} else {
					fi.start = n
				}
			}
		case k == "hl_lines":
			for _, part := range strings.Fields(v) {
				a, b, isRange := strings.Cut(part, "-")
				lo, err1 := strconv.Atoi(a)
				hi := lo
				var err2 error
				if isRange {
					hi, err2 = strconv.Atoi(b)
				}
				if err1 == nil && err2 == nil && lo > 0 && hi >= lo {
					fi.hlLines = append(fi.hlLines, [2]int{lo, hi})
				}
			}
		}
	}
	fi.lang = strings.ToLower(strings.TrimPrefix(fi.lang, "."))
	return fi
}

// splitOptions splits on whitespace outside quotes.
func splitOptions(s string) []string {
	var out []string
	var cur strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			cur.WriteByte(c)
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
			cur.WriteByte(c)
		case c == ' ' || c == '\t':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func (r *codeRenderer) renderFenced(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	var fi fenceInfo
	if n.Info != nil {
		fi = parseFenceInfo(string(n.Info.Segment.Value(source)))
	} else {
		fi = fenceInfo{start: 1}
	}
	code := linesOf(n, source)
	if fi.lang == "mermaid" {
		_, _ = w.WriteString(`<pre class="mermaid">`)
		_, _ = w.Write(util.EscapeHTML(code))
		_, _ = w.WriteString("</pre>\n")
		return ast.WalkSkipChildren, nil
	}
	r.highlightBlock(w, code, fi)
	return ast.WalkSkipChildren, nil
}

func (r *codeRenderer) renderIndented(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		r.highlightBlock(w, linesOf(node, source), fenceInfo{start: 1})
	}
	return ast.WalkSkipChildren, nil
}

func linesOf(n ast.Node, source []byte) []byte {
	var b bytes.Buffer
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.Write(seg.Value(source))
	}
	return b.Bytes()
}

var (
	// lexerCache avoids chroma's registry walk for every block; lexers are safe to share.
	lexerCache sync.Map
)

func lexerFor(lang string) chroma.Lexer {
	if lang == "" {
		lang = "text"
	}
	if l, ok := lexerCache.Load(lang); ok {
		return l.(chroma.Lexer)
	}
	l := lexers.Get(lang)
	if l == nil {
		l = lexers.Fallback
	}
	l = chroma.Coalesce(l)
	lexerCache.Store(lang, l)
	return l
}

func (r *codeRenderer) highlightBlock(w util.BufWriter, code []byte, fi fenceInfo) {
	r.page.codeBlocks++
	lang := fi.lang
	if lang == "" {
		lang = "text"
	}
	_, _ = w.WriteString(`<div class="highlight language-`)
	_, _ = w.Write(util.EscapeHTML([]byte(lang)))
	_, _ = w.WriteString(`">`)
	if fi.title != "" {
		_, _ = w.WriteString(`<span class="filename">`)
		_, _ = w.Write(util.EscapeHTML([]byte(fi.title)))
		_, _ = w.WriteString(`</span>`)
	}
	var tokens []chroma.Token
	if it, err := lexerFor(fi.lang).Tokenise(nil, string(code)); err == nil {
		tokens = it.Tokens()
	} else {
		// A lexer failure must not lose the code: show it as plain text.
		tokens = []chroma.Token{{Type: chroma.Text, Value: string(code)}}
	}
	lines := chroma.SplitTokensIntoLines(tokens)
	// Line anchors follow pymdownx's __codelineno-<block>-<line>, with blocks numbered per page.
	anchor := "__codelineno-" + strconv.Itoa(r.page.codeBlocks-1) + "-"
	if !fi.noNumber {
		_, _ = w.WriteString(`<table class="highlighttable"><tr><td class="linenos"><pre>`)
		for i := range lines {
			n := strconv.Itoa(fi.start + i)
			_, _ = w.WriteString(`<a href="#` + anchor + n + `">` + n + "</a>\n")
		}
		_, _ = w.WriteString(`</pre></td><td class="code">`)
	}
	_, _ = w.WriteString("<pre><code>")
	for i, line := range lines {
		n := fi.start + i
		if !fi.noNumber {
			_, _ = w.WriteString(`<span id="` + anchor + strconv.Itoa(n) + `"></span>`)
		}
		// hl_lines counts from the block's first line, whatever linenums starts at (as in Pygments).
		hl := inRanges(fi.hlLines, i+1)
		if hl {
			_, _ = w.WriteString(`<span class="hll">`)
		}
		for _, tok := range line {
			class := tokenClass(tok.Type)
			if class != "" {
				_, _ = w.WriteString(`<span class="` + class + `">`)
			}
			writeEscaped(w, tok.Value)
			if class != "" {
				_, _ = w.WriteString("</span>")
			}
		}
		if hl {
			_, _ = w.WriteString("</span>")
		}
	}
	_, _ = w.WriteString("</code></pre>")
	if !fi.noNumber {
		_, _ = w.WriteString("</td></tr></table>")
	}
	_, _ = w.WriteString("</div>\n")
}

func inRanges(ranges [][2]int, n int) bool {
	for _, r := range ranges {
		if r[0] <= n && n <= r[1] {
			return true
		}
	}
	return false
}

// tokenClass is the Pygments short class of a token type (chroma uses Pygments' names), falling
// back to the token's sub-category and category; plain text gets no span at all, which keeps
// pages small.
func tokenClass(t chroma.TokenType) string {
	switch t {
	case chroma.Text, chroma.TextWhitespace, chroma.Background, chroma.Other:
		return ""
	}
	if c, ok := chroma.StandardTypes[t]; ok {
		return c
	}
	if c, ok := chroma.StandardTypes[t.SubCategory()]; ok {
		return c
	}
	return chroma.StandardTypes[t.Category()]
}

// writeEscaped HTML-escapes s straight into w, without the intermediate slices goldmark's
// helpers allocate; code blocks are the bulk of a page's markup.
func writeEscaped(w util.BufWriter, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '"':
			esc = "&quot;"
		default:
			continue
		}
		_, _ = w.WriteString(s[last:i])
		_, _ = w.WriteString(esc)
		last = i + 1
	}
	_, _ = w.WriteString(s[last:])
}

// renderCodeSpan writes inline code; `#!lang code` (pymdownx.inlinehilite) is highlighted.
func (r *codeRenderer) renderCodeSpan(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	var b bytes.Buffer
	for c := node.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			v := t.Segment.Value(source)
			if bytes.HasSuffix(v, []byte("\n")) {
				b.Write(v[:len(v)-1])
				b.WriteByte(' ')
			} else {
				b.Write(v)
			}
		}
	}
	code := b.Bytes()
	if lang, rest, ok := inlineLang(code); ok {
		_, _ = w.WriteString(`<code class="highlight language-`)
		_, _ = w.Write(util.EscapeHTML([]byte(lang)))
		_, _ = w.WriteString(`">`)
		it, err := lexerFor(lang).Tokenise(nil, string(rest))
		if err != nil {
			_, _ = w.Write(util.EscapeHTML(rest))
		} else {
			for _, tok := range it.Tokens() {
				class := tokenClass(tok.Type)
				if class != "" {
					_, _ = w.WriteString(`<span class="` + class + `">`)
				}
				writeEscaped(w, strings.TrimSuffix(tok.Value, "\n"))
				if class != "" {
					_, _ = w.WriteString("</span>")
				}
			}
		}
		_, _ = w.WriteString("</code>")
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString("<code")
	renderSafeAttributes(w, node)
	_ = w.WriteByte('>')
	_, _ = w.Write(util.EscapeHTML(code))
	_, _ = w.WriteString("</code>")
	return ast.WalkSkipChildren, nil
}

// inlineLang recognizes inlinehilite's "#!lang code" and ":::lang code" prefixes.
func inlineLang(code []byte) (string, []byte, bool) {
	var rest []byte
	switch {
	case bytes.HasPrefix(code, []byte("#!")):
		rest = code[2:]
	case bytes.HasPrefix(code, []byte(":::")):
		rest = code[3:]
	default:
		return "", nil, false
	}
	i := bytes.IndexByte(rest, ' ')
	if i <= 0 {
		return "", nil, false
	}
	lang := string(rest[:i])
	for _, c := range lang {
		if !(c == '-' || c == '+' || c == '_' || c == '#' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return "", nil, false
		}
	}
	return strings.ToLower(lang), rest[i+1:], true
}

// ChromaCSS returns the stylesheet for the token classes code blocks use, in the named chroma
// style (its fallback style when the name is unknown), scoped to .highlight, for the portal to
// serve once for every site.
func ChromaCSS(style string) string {
	st := styles.Get(style)
	var b strings.Builder
	if bg := st.Get(chroma.Background); !bg.IsZero() {
		fmt.Fprintf(&b, ".highlight pre { %s }\n", chromahtml.StyleEntryToCSS(bg))
	}
	fmt.Fprintf(&b, ".highlight .hll { background-color: %s }\n", st.Get(chroma.LineHighlight).Background)
	types := make([]chroma.TokenType, 0, len(chroma.StandardTypes))
	for t := range chroma.StandardTypes {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	for _, t := range types {
		class := tokenClass(t)
		if class == "" {
			continue
		}
		if css := chromahtml.StyleEntryToCSS(st.Get(t)); css != "" {
			fmt.Fprintf(&b, ".highlight .%s { %s }\n", class, css)
		}
	}
	return b.String()
}
