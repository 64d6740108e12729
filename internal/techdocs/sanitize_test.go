package techdocs

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// hostile is Markdown that tries to get script into a page through every route we know of.
var hostile = []string{
	"<script>alert(1)</script>",
	"<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
	"<img src=x onerror=alert(1)>",
	"<img src=\"x\"\nonerror=\"alert(1)\">",
	"<div\n\nonclick=alert(1)>x</div>",
	"<a href=\"javascript:alert(1)\">x</a>",
	"<a href=\"JaVaScRiPt:alert(1)\">x</a>",
	"<a href=\"java&#x09;script:alert(1)\">x</a>",
	"[x](javascript:alert(1))",
	"[x](  javascript:alert(1) )",
	"![x](javascript:alert(1))",
	"[x][r]\n\n[r]: javascript:alert(1)",
	"<javascript:alert(1)>",
	"<iframe src=\"https://evil.example\"></iframe>",
	"<svg onload=alert(1)><script>alert(1)</script></svg>",
	"<style>body{display:none}</style>",
	"<object data=\"x.swf\"></object><embed src=x>",
	"<form action=/x><input name=q></form>",
	"<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
	"<details open ontoggle=alert(1)>",
	"`<script>` in code and\n\n```html\n<script>alert(1)</script>\n```",
	"[x](https://ok.example){: onclick=alert(1) .btn }",
	"## Heading {: onclick=alert(1) #id }",
	"!!! note \"<img src=x onerror=alert(1)>\"\n    body",
	"=== \"<script>alert(1)</script>\"\n    body",
	"*[HTML]: <script>alert(1)</script>\n\nHTML",
	"<a href=\"x\" style=\"background:url(javascript:alert(1))\">x</a>",
	"<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
	"<base href=\"javascript:alert(1)//\">",
	"<!-- <script>alert(1)</script> -->",
	"<div <script>alert(1)</script>>",
	"<img src=\"x\" alt=\"\"onerror=\"alert(1)\">",
}

// assertInert parses rendered HTML the way a browser would and fails on anything that can run
// script: script-like elements, event handler attributes, and javascript:, vbscript: or data:
// URLs outside images.
func assertInert(t testing.TB, out []byte) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(out))
	require.NoError(t, err)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "iframe", "object", "embed", "style", "base", "meta", "form", "svg", "math", "link", "frame", "frameset", "applet":
				t.Errorf("element <%s> survived in %s", n.Data, out)
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				v := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' {
						return -1
					}
					return r
				}, a.Val))
				if strings.HasPrefix(k, "on") || k == "style" || k == "formaction" || k == "srcdoc" {
					t.Errorf("attribute %s on <%s> survived in %s", a.Key, n.Data, out)
				}
				scheme, _, hasScheme := strings.Cut(v, ":")
				if hasScheme && (scheme == "javascript" || scheme == "vbscript" ||
					(scheme == "data" && !(n.Data == "img" && k == "src" && strings.HasPrefix(v, "data:image/")))) {
					t.Errorf("URL %q in %s on <%s> survived in %s", a.Val, a.Key, n.Data, out)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func TestUserHTMLIsSanitized(t *testing.T) {
	for _, md := range hostile {
		t.Run(md, func(t *testing.T) {
			site := MustBuild(t, fstest.MapFS{"docs/index.md": {Data: []byte(md)}}, Options{})
			assertInert(t, []byte(mustRead(t, site, "index.html")))
		})
	}
}

func TestGeneratedMarkupSurvives(t *testing.T) {
	site := MustBuild(t, fstest.MapFS{"docs/index.md": {Data: []byte(
		"!!! note\n    x\n\n=== \"A\"\n    a\n\n```go\nx := 1\n```\n\n<details class=\"tip\" open><summary>S</summary>\n\nbody\n\n</details>\n\n<img src=\"data:image/png;base64,AAAA\" width=\"20\">\n")}}, Options{})
	out := mustRead(t, site, "index.html")
	for _, want := range []string{
		`<div class="admonition note">`, `<div class="tabbed-set tabbed-alternate" data-tabs="1:1">`,
		`<input checked="checked" id="__tabbed_1_1" name="__tabbed_1" type="radio">`, `<span class="nx">x</span>`,
		`<details class="tip" open="">`, `<img src="data:image/png;base64,AAAA" width="20">`,
	} {
		assert.Contains(t, out, want)
	}
}

func TestStrict(t *testing.T) {
	src := fstest.MapFS{"docs/index.md": {Data: []byte("[broken](nowhere.md)")}}
	site, err := Build(context.Background(), src, Options{Strict: true})
	require.Error(t, err)
	var strict *StrictError
	require.ErrorAs(t, err, &strict)
	assert.Equal(t, `docs/index.md:1: link "nowhere.md": nowhere.md is not among the documentation files`, strict.Warnings[0].String())
	assert.NotNil(t, site, "the site is returned with the error so a caller can still show it")

	_, err = Build(context.Background(), fstest.MapFS{"docs/index.md": {Data: []byte("# fine")}}, Options{Strict: true})
	require.NoError(t, err)
}
