package techdocs

import (
	"bytes"
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
	chromaStyle = styles.Fallback
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
	opts := []chromahtml.Option{chromahtml.WithClasses(true), chromahtml.TabWidth(4)}
	if !fi.noNumber {
		// Line anchors follow pymdownx's __codelineno-<block>-<line>, numbered per page.
		opts = append(opts, chromahtml.WithLineNumbers(true), chromahtml.LineNumbersInTable(true),
			chromahtml.WithLinkableLineNumbers(true, "__codelineno-"+strconv.Itoa(r.page.codeBlocks-1)+"-"),
			chromahtml.BaseLineNumber(fi.start))
	}
	if len(fi.hlLines) > 0 {
		opts = append(opts, chromahtml.HighlightLines(fi.hlLines))
	}
	it, err := lexerFor(fi.lang).Tokenise(nil, string(code))
	if err == nil {
		err = chromahtml.New(opts...).Format(w, chromaStyle, it)
	}
	if err != nil {
		// A lexer failure must not lose the code: fall back to escaped text.
		_, _ = w.WriteString("<pre><code>")
		_, _ = w.Write(util.EscapeHTML(code))
		_, _ = w.WriteString("</code></pre>")
	}
	_, _ = w.WriteString("</div>\n")
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
		if err == nil {
			err = chromahtml.New(chromahtml.WithClasses(true), chromahtml.PreventSurroundingPre(true)).Format(w, chromaStyle, it)
		}
		if err != nil {
			_, _ = w.Write(util.EscapeHTML(rest))
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

// ChromaCSS returns the stylesheet for the classes code blocks use, in the named chroma style
// (the default style when the name is unknown), for the portal to serve once for every site.
func ChromaCSS(style string) (string, error) {
	s := styles.Get(style)
	var b bytes.Buffer
	if err := chromahtml.New(chromahtml.WithClasses(true)).WriteCSS(&b, s); err != nil {
		return "", err
	}
	return b.String(), nil
}
