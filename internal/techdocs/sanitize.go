package techdocs

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
	"golang.org/x/net/html"
)

// userHTMLPolicy is what raw HTML written in Markdown may keep. Only the user's HTML goes through
// it: the markup the builder generates (admonitions, tabs, chroma's spans) never contains user
// attributes unescaped, so it needs no second pass, and sanitizing only the raw pieces keeps
// builds fast. Scripts, styles, event handlers, forms and javascript: URLs are removed.
var userHTMLPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(false)
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^[\w\- ]*$`)).Globally()
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[\w\-:.]+$`)).Globally()
	p.AllowElements("details", "summary", "mark", "ins", "del", "sub", "sup", "kbd", "abbr", "figure",
		"figcaption", "picture", "center", "small")
	p.AllowAttrs("open").OnElements("details")
	p.AllowAttrs("title").OnElements("abbr")
	p.AllowAttrs("align").OnElements("p", "div", "img", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("width", "height").Matching(regexp.MustCompile(`^[0-9]+(px|%)?$`)).OnElements("img", "td", "th", "table")
	p.AllowAttrs("target").Matching(regexp.MustCompile(`^_blank$`)).OnElements("a")
	p.AllowAttrs("src", "srcset", "media", "type").OnElements("source")
	p.AllowAttrs("src", "controls", "poster", "width", "height").OnElements("video", "audio")
	p.AllowElements("video", "audio", "source")
	p.AllowDataURIImages()
	p.AllowURLSchemes("http", "https", "mailto")
	return p
}()

// sanitizeHTML rewrites relative links in a piece of user HTML the way Markdown links are
// rewritten (so <img src="img/x.png"> keeps working under directory URLs), records links and ids
// for the link checker, and returns what the policy keeps.
func (p *pageState) sanitizeHTML(raw []byte, line int) []byte {
	if p.site != nil && (bytes.Contains(raw, []byte("src")) || bytes.Contains(raw, []byte("href")) ||
		bytes.Contains(raw, []byte("id")) || bytes.Contains(raw, []byte("name"))) {
		raw = p.rewriteHTMLLinks(raw, line)
	}
	return userHTMLPolicy.SanitizeBytes(raw)
}

func (p *pageState) rewriteHTMLLinks(raw []byte, line int) []byte {
	z := html.NewTokenizer(bytes.NewReader(raw))
	var out bytes.Buffer
	out.Grow(len(raw))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			// Whatever the tokenizer could not read stays as it was; the policy decides on it.
			out.Write(z.Raw())
			return out.Bytes()
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			out.Write(z.Raw())
			continue
		}
		raw := append([]byte(nil), z.Raw()...)
		tok := z.Token()
		changed := false
		for i, a := range tok.Attr {
			// Ids and <a name> in user HTML are link targets too: authors write <a id="x"></a>
			// to make an anchor the link checker must know about.
			if a.Key == "id" || (a.Key == "name" && tok.Data == "a") {
				p.res.IDs = append(p.res.IDs, a.Val)
				continue
			}
			if a.Namespace != "" || (a.Key != "href" && a.Key != "src" && a.Key != "poster") {
				continue
			}
			if nv := p.resolveLink(strings.TrimSpace(a.Val), line); nv != a.Val {
				tok.Attr[i].Val = nv
				changed = true
			}
		}
		if changed {
			out.WriteString(tok.String())
		} else {
			out.Write(raw)
		}
	}
}

// htmlRenderer replaces goldmark's raw HTML renderers, which either pass HTML through untouched
// or drop it, with sanitized output.
type htmlRenderer struct{ page *pageState }

func (r *htmlRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHTMLBlock, r.renderBlock)
	reg.Register(ast.KindRawHTML, r.renderInline)
}

func (r *htmlRenderer) renderBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.HTMLBlock)
	var b bytes.Buffer
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.Write(seg.Value(source))
	}
	if n.HasClosure() {
		b.Write(n.ClosureLine.Value(source))
	}
	_, _ = w.Write(r.page.sanitizeHTML(b.Bytes(), r.page.lineOf(node)))
	if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		_ = w.WriteByte('\n')
	}
	return ast.WalkSkipChildren, nil
}

func (r *htmlRenderer) renderInline(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkSkipChildren, nil
	}
	n := node.(*ast.RawHTML)
	var b bytes.Buffer
	for i := 0; i < n.Segments.Len(); i++ {
		seg := n.Segments.At(i)
		b.Write(seg.Value(source))
	}
	_, _ = w.Write(r.page.sanitizeHTML(b.Bytes(), r.page.lineOf(node)))
	return ast.WalkSkipChildren, nil
}
