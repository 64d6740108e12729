package web

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// Descriptions (an entity's, an OpenAPI document's) are CommonMark. They come from repositories anyone in the
// organisation may edit, so markup in them is shown as text: HTML is escaped rather than passed through or
// dropped, links and images with script or data URLs lose their target (goldmark's safe mode), and images
// become links, since the page loads nothing from elsewhere.
var markdownRenderer = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(textOnlyHTML{}, 100))),
)

// markdownMax bounds what is rendered as Markdown; longer text is shown as it is.
const markdownMax = 64 << 10

// markdown renders a description; the result is safe to place in a page.
func markdown(s string) template.HTML {
	if s == "" {
		return ""
	}
	if len(s) > markdownMax {
		return template.HTML("<p class=\"description\">" + template.HTMLEscapeString(s) + "</p>")
	}
	var buf bytes.Buffer
	if err := markdownRenderer.Convert([]byte(s), &buf); err != nil {
		return template.HTML("<p class=\"description\">" + template.HTMLEscapeString(s) + "</p>")
	}
	// goldmark escapes text, and textOnlyHTML escapes the markup it would otherwise pass through.
	return template.HTML(buf.String())
}

// textOnlyHTML renders raw HTML as the text it is, and images as links.
type textOnlyHTML struct{}

func (textOnlyHTML) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindRawHTML, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			segs := node.(*ast.RawHTML).Segments
			for i := range segs.Len() {
				seg := segs.At(i)
				_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
			}
		}
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindHTMLBlock, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		n := node.(*ast.HTMLBlock)
		if entering {
			_, _ = w.WriteString(`<pre class="raw-html">`)
			for i := range n.Lines().Len() {
				line := n.Lines().At(i)
				_, _ = w.Write(util.EscapeHTML(line.Value(source)))
			}
			if n.HasClosure() {
				_, _ = w.Write(util.EscapeHTML(n.ClosureLine.Value(source)))
			}
			_, _ = w.WriteString("</pre>\n")
		}
		return ast.WalkSkipChildren, nil
	})
	reg.Register(ast.KindImage, func(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkSkipChildren, nil
		}
		n := node.(*ast.Image)
		alt := util.EscapeHTML(nodeText(n, source))
		if len(alt) == 0 {
			alt = []byte("image")
		}
		dest := util.URLEscape(n.Destination, true)
		if html.IsDangerousURL(dest) {
			_, _ = w.Write(alt)
			return ast.WalkSkipChildren, nil
		}
		_, _ = w.WriteString(`<a href="`)
		_, _ = w.Write(util.EscapeHTML(dest))
		_, _ = w.WriteString(`">`)
		_, _ = w.Write(alt)
		_, _ = w.WriteString("</a>")
		return ast.WalkSkipChildren, nil
	})
}

func nodeText(n ast.Node, source []byte) []byte {
	var out []byte
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			out = append(out, t.Segment.Value(source)...)
		} else {
			out = append(out, nodeText(c, source)...)
		}
	}
	return out
}
