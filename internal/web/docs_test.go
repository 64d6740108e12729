package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/techdocs"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
	"github.com/billpay/portal/internal/web"
)

// publishedDocs serves sites built by the real TechDocs builder, as the TechDocs service serves what its
// publisher holds; pages in raw replace a site's file, as a site published from elsewhere could.
type publishedDocs struct {
	mu        sync.Mutex
	sites     map[string]*techdocs.Site
	raw       map[string]string
	builds    map[string]tdservice.Build
	requested []string
}

func (d *publishedDocs) Open(_ context.Context, ref catalog.Ref, name string) (io.ReadCloser, string, error) {
	key := ref.Lower().String()
	if s, ok := d.raw[key+"|"+name]; ok {
		return io.NopCloser(strings.NewReader(s)), techdocs.ContentType(name), nil
	}
	site := d.sites[key]
	if site == nil {
		return nil, "", errs.E(errs.NotFound, "no docs for %s", key)
	}
	data, err := site.ReadFile(name)
	if err != nil {
		return nil, "", errs.E(errs.NotFound, "no file %s", name)
	}
	return io.NopCloser(strings.NewReader(string(data))), techdocs.ContentType(name), nil
}

func (d *publishedDocs) Status(_ context.Context, ref *catalog.Ref) ([]tdservice.Build, error) {
	if ref == nil {
		var out []tdservice.Build
		for _, b := range d.builds {
			out = append(out, b)
		}
		return out, nil
	}
	b, ok := d.builds[ref.Lower().String()]
	if !ok {
		return nil, errs.E(errs.NotFound, "not tracked")
	}
	return []tdservice.Build{b}, nil
}

func (d *publishedDocs) RequestBuild(_ context.Context, ref catalog.Ref) (tdservice.Build, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requested = append(d.requested, ref.Lower().String())
	return d.builds[ref.Lower().String()], nil
}

// A tiny PNG.
const pixel = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"

func mustDocs(t *testing.T) *publishedDocs {
	t.Helper()
	src := fstest.MapFS{
		"mkdocs.yml":        {Data: []byte("site_name: Payment Service docs\nnav:\n  - Home: index.md\n  - Runbook: runbook.md\n")},
		"docs/index.md":     {Data: []byte("# Payment Service\n\nWelcome. See the [runbook](runbook.md#when-payments-fail).\n\n## Architecture\n\nHow refunds flow.\n\n<script>alert(1)</script>\n")},
		"docs/runbook.md":   {Data: []byte("# Runbook\n\n## When payments fail\n\nCheck the provider, then retry refunds.\n\n![flow](img/flow.png)\n")},
		"docs/img/flow.png": {Data: []byte(pixel)},
	}
	site, err := techdocs.Build(context.Background(), src, techdocs.Options{})
	require.NoError(t, err)
	finished := time.Now().Add(-time.Hour)
	return &publishedDocs{
		sites: map[string]*techdocs.Site{"component:default/payment-service": site},
		raw: map[string]string{"component:default/evil-service|" + techdocs.NavFile: `{"site_name":"Evil","nav":[],"pages":[{"src":"index.md","url":"","output":"index.html","title":"Evil"}]}`,
			"component:default/evil-service|index.html": `<h1 id="x">Evil</h1><p onclick="steal()">text</p><script>alert(1)</script><a href="javascript:alert(2)">link</a><img src=x onerror=alert(3)><style>body{}</style>`},
		builds: map[string]tdservice.Build{
			"component:default/payment-service": {EntityRef: "component:default/payment-service", State: tdservice.StateSucceeded, FinishedAt: &finished},
			"system:default/payments":           {EntityRef: "system:default/payments", State: tdservice.StateFailed, Error: "mkdocs.yml: nav names missing.md"},
		},
	}
}

func withDocs(d *publishedDocs) portalOption {
	return func(_ *portal, o *web.Options, _ *auth.Options) { o.TechDocs = d }
}

func TestDocs(t *testing.T) {
	docs := mustDocs(t)
	extra := []stitched{
		{entity: entity("System", "billing", map[string]any{"annotations": map[string]any{catalog.AnnotationTechDocsRef: "dir:."}}, map[string]any{"owner": "group:payments-team"})},
		{entity: entity("Component", "evil-docs", map[string]any{"annotations": map[string]any{catalog.AnnotationTechDocsRef: "dir:."}}, map[string]any{"owner": "group:payments-team"})},
	}
	p := mustPortal(t, extra, withDocs(docs))
	docs.raw["component:default/evil-docs|"+techdocs.NavFile] = docs.raw["component:default/evil-service|"+techdocs.NavFile]
	docs.raw["component:default/evil-docs|index.html"] = docs.raw["component:default/evil-service|index.html"]
	lucia := p.session("user:default/lucia.fernandez")

	t.Run("AnIndexOfDocumentedEntities", func(t *testing.T) {
		page := lucia.get("/docs")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Payment Service Core payment processing")
		assert.Contains(t, got, "succeeded")
		assert.Contains(t, got, "billing")
		assert.NotContains(t, got, "payment-app", "entities without docs are not listed")
		assert.Contains(t, links(page.body, "Payment Service"), "/docs/default/component/payment-service/")
		assert.Contains(t, text(lucia.get("/docs?q=billing").body), "1 documented entity")
	})

	t.Run("TheReaderShowsAPageWithNavigationAndContents", func(t *testing.T) {
		res := lucia.get("/docs/default/component/payment-service")
		require.Equal(t, http.StatusMovedPermanently, res.status)
		assert.Equal(t, "/docs/default/component/payment-service/", res.header.Get("Location"))

		page := lucia.get("/docs/default/component/payment-service/")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Welcome. See the runbook .")
		assert.Contains(t, got, "How refunds flow.")
		assert.Contains(t, page.body, `<a href="/docs/default/component/payment-service/" aria-current="page" class="current">Home</a>`)
		assert.Contains(t, links(page.body, "Runbook"), "/docs/default/component/payment-service/runbook/")
		assert.Contains(t, page.body, `<a href="#architecture">Architecture</a>`, "the table of contents links to the headings")
		assert.Contains(t, page.body, `id="architecture"`, "and the headings keep their ids")
		assert.Contains(t, page.body, `href="runbook/#when-payments-fail"`, "links between pages resolve under the reader's URLs")
		assert.Contains(t, links(page.body, "Runbook →"), "/docs/default/component/payment-service/runbook/")
		assert.Contains(t, got, "Docs of payment-service succeeded")
		assert.NotContains(t, page.body, "<script>alert")

		runbook := lucia.get("/docs/default/component/payment-service/runbook/")
		requireOK(t, runbook)
		assert.Contains(t, text(runbook.body), "When payments fail")
		assert.Contains(t, links(runbook.body, "← Home"), "/docs/default/component/payment-service/")
		res = lucia.get("/docs/default/component/payment-service/runbook")
		assert.Equal(t, http.StatusSeeOther, res.status, "a page asked for without its slash is redirected to it")
	})

	t.Run("FilesThePagesReferTo", func(t *testing.T) {
		res := lucia.get("/docs/default/component/payment-service/img/flow.png")
		require.Equal(t, http.StatusOK, res.status)
		assert.Equal(t, "image/png", res.header.Get("Content-Type"))
		assert.Equal(t, pixel, res.body)
		assert.Contains(t, res.header.Get("Content-Security-Policy"), "sandbox")
		assert.Equal(t, http.StatusNotFound, lucia.get("/docs/default/component/payment-service/nope.png").status)
		assert.Equal(t, http.StatusNotFound, lucia.get("/docs/default/component/payment-service/nope/").status)
	})

	t.Run("SearchWithinTheSite", func(t *testing.T) {
		page := lucia.get("/docs/default/component/payment-service/?q=refunds")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, `4 results for “refunds”`, "pages and their sections")
		assert.Contains(t, page.body, "<mark>refunds</mark>")
		assert.Contains(t, page.body, `href="/docs/default/component/payment-service/runbook/#when-payments-fail"`)
		assert.Contains(t, text(lucia.get("/docs/default/component/payment-service/?q=kubernetes").body), "Nothing in these docs mentions it.")
	})

	t.Run("NotBuiltYetAndNoDocs", func(t *testing.T) {
		page := lucia.get("/docs/default/system/billing/")
		requireOK(t, page)
		assert.Contains(t, text(page.body), "Not built yet")
		failed := text(lucia.get("/docs/default/system/payments/").body)
		assert.Contains(t, failed, "declares no documentation", "payments has no techdocs-ref")
		none := lucia.get("/docs/default/component/payment-app/")
		assert.Equal(t, http.StatusNotFound, none.status)
		assert.Equal(t, http.StatusNotFound, lucia.get("/docs/default/component/nope/").status)
	})

	t.Run("PublishedPagesAreSanitizedAgain", func(t *testing.T) {
		page := lucia.get("/docs/default/component/evil-docs/")
		requireOK(t, page)
		body := regexp.MustCompile(`(?s)<div class="docs-body">(.*?)</div>\s*</article>`).FindStringSubmatch(page.body)
		require.Len(t, body, 2)
		for _, bad := range []string{"<script", "onclick", "javascript:", "onerror", "<style"} {
			assert.NotContains(t, body[1], bad)
		}
		assert.Contains(t, body[1], `<p>text</p>`)
		assert.Equal(t, 1, strings.Count(page.body, "<script"), "only the portal's own script")
	})

	t.Run("Rebuild", func(t *testing.T) {
		res := lucia.post("/docs/default/component/payment-service/rebuild", url.Values{})
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		assert.Equal(t, []string{"component:default/payment-service"}, docs.requested)
		assert.Contains(t, p.audit.actions(), "rebuildDocs")
		assert.Contains(t, text(lucia.get(res.header.Get("Location")).body), "A new build of these docs is on its way")
	})

	t.Run("TheEntityPageLinksToTheReader", func(t *testing.T) {
		tab := lucia.get("/catalog/default/component/payment-service/docs")
		requireOK(t, tab)
		assert.Contains(t, links(tab.body, "Read the docs"), "/docs/default/component/payment-service/")
		assert.Contains(t, text(tab.body), "Build succeeded")
	})
}
