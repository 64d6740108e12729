package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/flags"
	"github.com/billpay/portal/internal/web"
)

// text strips tags and collapses spaces, so assertions read like what a person sees.
func text(page string) string {
	noTags := regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(noTags)), " ")
}

// links returns the hrefs of the page's anchors whose text contains label.
func links(page, label string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?s)<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>`).FindAllStringSubmatch(page, -1) {
		if strings.Contains(text(m[2]), label) {
			out = append(out, html.UnescapeString(m[1]))
		}
	}
	return out
}

func requireOK(t *testing.T, p page) {
	t.Helper()
	require.Equal(t, http.StatusOK, p.status, "%s", text(p.body))
	require.Contains(t, p.header.Get("Content-Type"), "text/html")
	require.Contains(t, p.header.Get("Content-Security-Policy"), "script-src 'self'")
}

func TestHome(t *testing.T) {
	p := mustPortal(t, nil)

	t.Run("SignedInPersonSeesTheirComponents", func(t *testing.T) {
		home := p.session("user:default/lucia.fernandez").get("/")
		requireOK(t, home)
		got := text(home.body)
		assert.Contains(t, got, "Welcome, Lucía Fernández")
		assert.Contains(t, got, "Your components 2")
		assert.Contains(t, got, "Payment Service")
		assert.Contains(t, got, "payment-app")
		assert.NotContains(t, got, "admin-panel", "admin-team's component is not lucia's")
		assert.Contains(t, home.body, `<main id="main"`)
		assert.Contains(t, home.body, `aria-current="page"`)
	})

	t.Run("RecentFlagChanges", func(t *testing.T) {
		got := text(p.guest().get("/").body)
		assert.Contains(t, got, "Recent flag changes")
		assert.Contains(t, got, "new-checkout-flow import in dev")
		assert.Contains(t, got, "The scaffolder is not configured on this portal, so there are no tasks.")
		assert.Contains(t, got, "Deploys are not configured on this portal.")
		assert.Contains(t, got, "2 entities have processing errors")
	})

	t.Run("SearchFindsComponentsByNameAndDescription", func(t *testing.T) {
		home := p.guest().get("/?q=payment")
		requireOK(t, home)
		got := text(home.body)
		assert.Contains(t, got, `Results for “payment”`)
		assert.Contains(t, links(home.body, "Payment Service"), "/catalog/default/component/payment-service")
		assert.Contains(t, home.body, "<mark>Payment</mark> Service")

		none := text(p.guest().get("/?q=zzzz-nothing").body)
		assert.Contains(t, none, "Nothing matches")
	})

	t.Run("GuestOwnsNothing", func(t *testing.T) {
		got := text(p.guest().get("/").body)
		assert.Contains(t, got, "Welcome to BillPay's portal")
		assert.Contains(t, got, "You are browsing as a guest, who owns nothing")
	})
}

func TestCatalogTable(t *testing.T) {
	var extra []stitched
	for i := range 60 {
		extra = append(extra, stitched{entity: entity("Component", fmt.Sprintf("filler-%03d", i), map[string]any{"tags": []any{"filler"}},
			map[string]any{"type": "library", "lifecycle": "experimental", "owner": "group:admin-team"})})
	}
	p := mustPortal(t, extra)
	b := p.guest()

	t.Run("FacetsCountEveryKindAndFilterByThem", func(t *testing.T) {
		all := b.get("/catalog")
		requireOK(t, all)
		got := text(all.body)
		assert.Contains(t, got, "Component 64")
		assert.Contains(t, got, "API 2")
		assert.Contains(t, got, "Showing 1–25 of")

		apis := b.get("/catalog?kind=API")
		requireOK(t, apis)
		got = text(apis.body)
		assert.Contains(t, got, "2 entities match")
		assert.Contains(t, got, "Payments API")
		assert.Contains(t, got, "users-api")
		assert.NotContains(t, got, "payment-app")
		// Other facets count within the selection, the kind facet still offers the other kinds.
		assert.Contains(t, got, "Component 64")
		assert.Regexp(t, `name="kind" value="API" checked`, apis.body)
	})

	t.Run("FacetsCombine", func(t *testing.T) {
		page := b.get("/catalog?kind=Component&owner=group:default/payments-team&lifecycle=production")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "1 entity match")
		assert.Contains(t, got, "Payment Service")
		removes := links(page.body, "×")
		require.Len(t, removes, 3, "each active filter can be removed")
		for _, r := range removes {
			assert.True(t, strings.HasPrefix(r, "/catalog?"), r)
		}
	})

	t.Run("FullTextSearch", func(t *testing.T) {
		got := text(b.get("/catalog?q=moves+money").body)
		assert.Contains(t, got, "1 entity match")
		assert.Contains(t, got, "payments")
		got = text(b.get("/catalog?q=SPRING").body)
		assert.Contains(t, got, "Payment Service", "tags are searched, case-insensitively")
	})

	t.Run("SortingByAColumn", func(t *testing.T) {
		page := b.get("/catalog?kind=Component&tag=filler&sort=-name")
		requireOK(t, page)
		assert.Regexp(t, `(?s)filler-059.*filler-058.*filler-057`, page.body)
		assert.Contains(t, page.body, `aria-sort="descending"`)
		asc := b.get("/catalog?kind=Component&tag=filler&sort=name")
		assert.Regexp(t, `(?s)filler-000.*filler-001`, asc.body)
	})

	t.Run("PagesFollowTheIndexCursorsAndKeepTheFilters", func(t *testing.T) {
		first := b.get("/catalog?tag=filler&sort=name")
		requireOK(t, first)
		assert.Contains(t, text(first.body), "Showing 1–25 of 60")
		next := links(first.body, "Next")
		require.Len(t, next, 1)
		u, err := url.Parse(next[0])
		require.NoError(t, err)
		assert.Equal(t, "filler", u.Query().Get("tag"), "the next page keeps the filters")
		assert.NotEmpty(t, u.Query().Get("cursor"))

		second := b.get(next[0])
		requireOK(t, second)
		assert.Contains(t, text(second.body), "Showing 26–50 of 60")
		assert.Contains(t, second.body, "filler-025")
		assert.NotContains(t, second.body, "filler-024<")

		third := b.get(links(second.body, "Next")[0])
		assert.Contains(t, text(third.body), "Showing 51–60 of 60")
		assert.Contains(t, third.body, `aria-disabled="true">Next`)

		prev := b.get(links(third.body, "Previous")[0])
		assert.Contains(t, text(prev.body), "Showing 26–50 of 60")
		assert.Contains(t, prev.body, "filler-025")
	})

	t.Run("AMangledCursorStartsAgain", func(t *testing.T) {
		page := b.get("/catalog?tag=filler&cursor=not-a-cursor")
		require.Equal(t, http.StatusSeeOther, page.status)
		assert.Equal(t, "/catalog?tag=filler", page.header.Get("Location"))
	})

	t.Run("NothingMatches", func(t *testing.T) {
		got := text(b.get("/catalog?kind=Domain&tag=nope").body)
		assert.Contains(t, got, "No entities match")
	})
}

func TestCatalogErrors(t *testing.T) {
	p := mustPortal(t, nil)
	page := p.guest().get("/catalog/errors")
	requireOK(t, page)
	got := text(page.body)
	assert.Contains(t, got, "Locations 1")
	assert.Contains(t, got, "broken-location")
	assert.Contains(t, got, "https://github.com/billpay/missing/catalog-info.yaml could not be read")
	assert.Contains(t, got, "Entities 1")
	assert.Contains(t, got, "evil-service")
	assert.NotContains(t, page.body, hostile)
}

func TestEntityPage(t *testing.T) {
	p := mustPortal(t, nil)
	b := p.session("user:default/lucia.fernandez")

	t.Run("Overview", func(t *testing.T) {
		page := b.get("/catalog/default/component/payment-service")
		requireOK(t, page)
		got := text(page.body)
		for _, want := range []string{"Payment Service", "Core payment processing: creates and authorises payments.", "Owner payments-team",
			"System payments", "Lifecycle production", "java", "spring-boot", "Service dashboard",
			"backstage.io/techdocs-ref", "github.com/project-slug", "billpay/payment-service"} {
			assert.Contains(t, got, want)
		}
		assert.Contains(t, links(page.body, "payments-team"), "/catalog/default/group/payments-team")
		assert.Contains(t, links(page.body, "spring-boot"), "/catalog?tag=spring-boot")
		assert.Contains(t, page.body, `rel="noopener noreferrer"`)
		for _, tab := range []string{"Overview", "APIs", "Flags", "Docs", "Deployments", "Inspect"} {
			assert.Contains(t, links(page.body, tab), "/catalog/default/component/payment-service"+map[string]string{
				"Overview": "", "APIs": "/api", "Flags": "/flags", "Docs": "/docs", "Deployments": "/deployments", "Inspect": "/inspect"}[tab])
		}
	})

	t.Run("RelationsAsAGraphAndAsLists", func(t *testing.T) {
		page := b.get("/catalog/default/component/payment-service")
		svg := regexp.MustCompile(`(?s)<svg viewBox.*?</svg>`).FindString(page.body)
		require.NotEmpty(t, svg, "the relations graph is drawn on the server")
		assert.Contains(t, svg, `role="img"`)
		assert.Contains(t, svg, "payment-service and 5 related entities")
		for _, node := range []string{"/catalog/default/group/payments-team", "/catalog/default/api/payments-api",
			"/catalog/default/api/users-api", "/catalog/default/resource/payments-db", "/catalog/default/system/payments"} {
			assert.Contains(t, svg, `href="`+node+`"`)
		}
		for _, label := range []string{"ownedBy", "providesApi", "consumesApi", "dependsOn", "partOf"} {
			assert.Contains(t, svg, ">"+label+"<")
		}
		got := text(page.body)
		assert.Contains(t, got, "Provides API 1 payments-api")
		assert.Contains(t, got, "Depends on 1 payments-db")

		group := text(b.get("/catalog/default/group/payments-team").body)
		assert.Contains(t, group, "Owns 6")
		assert.Contains(t, group, "Has member 1 lucia.fernandez")
	})

	t.Run("APIsOfAComponent", func(t *testing.T) {
		page := b.get("/catalog/default/component/payment-service/api")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Provided APIs 1")
		assert.Contains(t, got, "Payments API openapi production payments-team REST API of the Payment Service.")
		assert.Contains(t, got, "Consumed APIs 1")
		assert.Contains(t, got, "users-api graphql production admin-team")
		system := text(b.get("/catalog/default/system/payments").body)
		assert.Contains(t, system, "Domain money")
		assert.Contains(t, links(page.body, "Payments API"), "/catalog/default/api/payments-api/api")
	})

	t.Run("OpenAPIDefinitionAsAReference", func(t *testing.T) {
		page := b.get("/catalog/default/api/payments-api/api")
		requireOK(t, page)
		got := text(page.body)
		for _, want := range []string{"Payments API v1.4.0 OpenAPI 3.0.3", "https://api.billpay.example.com/payments",
			"POST /payments", "Create a payment", "createPayment", "GET /payments/{paymentId}",
			"paymentId required path string (uuid) The payment's id", "Idempotency-Key required header string",
			"Request body required", "201 The payment was created application/json Payment", "404 No such payment",
			"NewPayment object", "amount required integer (int64) Minor units", "currency required string one of EUR , USD",
			"Payment NewPayment & object", "refunds array of Refund", "status string one of pending , authorised , refunded"} {
			assert.Contains(t, got, want)
		}
		assert.Contains(t, page.body, `href="#schema-Payment"`)
		assert.Contains(t, page.body, `id="schema-Payment"`)
		assert.Contains(t, page.body, `href="#op-get--payments--paymentId-"`)
	})

	t.Run("OtherDefinitionsAsText", func(t *testing.T) {
		got := text(b.get("/catalog/default/api/users-api/api").body)
		assert.Contains(t, got, "type Query { user(id: ID!): User }")
	})

	t.Run("FlagsTab", func(t *testing.T) {
		page := b.get("/catalog/default/component/payment-service/flags")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "payment-history-page-size", "owned by the component")
		assert.Contains(t, got, "new-checkout-flow", "owned by the component's owner group")
		assert.NotContains(t, got, "refunds-enabled")
		assert.Contains(t, links(page.body, "Off"), "/flags/dev/payment-history-page-size")
		assert.Contains(t, links(page.body, "On"), "/flags/dev/new-checkout-flow")
	})

	t.Run("DocsAndDeploymentsSayTheyAreNotConfigured", func(t *testing.T) {
		docs := text(b.get("/catalog/default/component/payment-service/docs").body)
		assert.Contains(t, docs, "TechDocs is not configured on this portal")
		assert.Contains(t, docs, "dir:.")
		deploys := text(b.get("/catalog/default/component/payment-service/deployments").body)
		assert.Contains(t, deploys, "Deploys are not configured on this portal")
		assert.Contains(t, deploys, "On Kubernetes this component is payment-service")
	})

	t.Run("InspectShowsAncestryAndTheStoredEntity", func(t *testing.T) {
		page := b.get("/catalog/default/component/payment-service/inspect")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "payment-service component ← emitted by billpay")
		assert.Contains(t, got, `"uid": "00000000-0000-4000-8000-000000000007"`)
	})

	t.Run("ProcessingErrors", func(t *testing.T) {
		got := text(b.get("/catalog/default/location/broken-location").body)
		assert.Contains(t, got, "Processing errors")
		assert.Contains(t, got, "error : NotFoundError: https://github.com/billpay/missing/catalog-info.yaml could not be read")
	})

	t.Run("Refresh", func(t *testing.T) {
		res := b.post("/catalog/default/component/payment-service/refresh", nil)
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		assert.Equal(t, []string{"component:default/payment-service"}, p.store.refreshed)
		assert.Contains(t, text(b.get(res.header.Get("Location")).body), "Refresh of payment-service scheduled")
		assert.Contains(t, p.audit.actions(), "refreshEntity")
	})

	t.Run("NotFound", func(t *testing.T) {
		page := b.get("/catalog/default/component/nope")
		require.Equal(t, http.StatusNotFound, page.status)
		assert.Contains(t, text(page.body), "No entity named 'nope' found, with kind 'component' in namespace 'default'")
		assert.Equal(t, http.StatusNotFound, b.get("/catalog/default/component/payment-service/nope").status)
		assert.Equal(t, http.StatusNotFound, b.get("/catalog/default/group/payments-team/deployments").status, "groups have no deployments tab")
		assert.Equal(t, http.StatusNotFound, b.get("/catalog/a/b").status)
	})
}

// Every free-text field of evil-service holds markup; none of it may reach the page as markup.
func TestHostileEntityFieldsRenderAsText(t *testing.T) {
	p := mustPortal(t, nil)
	b := p.guest()
	for _, path := range []string{"/catalog/default/component/evil-service", "/catalog/default/component/evil-service/inspect",
		"/catalog?q=evil", "/catalog?kind=Component", "/?q=evil", "/catalog/errors", "/catalog/default/group/admin-team",
		"/flags/dev", "/flags/dev/payment-history-page-size", "/catalog/default/component/payment-service/flags"} {
		t.Run(path, func(t *testing.T) {
			page := b.get(path)
			requireOK(t, page)
			assert.NotContains(t, page.body, "<script>alert")
			assert.NotContains(t, page.body, "<img src=x")
			assert.NotContains(t, page.body, `"><script>`)
			assert.NotContains(t, page.body, `href="javascript:`)
		})
	}
	page := b.get("/catalog/default/component/evil-service")
	assert.Contains(t, page.body, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;", "the description is shown, as text")
	assert.Contains(t, page.body, "&lt;img src=x onerror=alert(1)&gt;", "so is the title")
	assert.Contains(t, page.body, `href="#ZgotmplZ"`, "a javascript: link is neutralised")
	assert.Contains(t, text(page.body), "InputError: spec.owner:", "its processing error is shown")
}

func TestFlags(t *testing.T) {
	p := mustPortal(t, nil)
	lucia := p.session("user:default/lucia.fernandez")

	t.Run("ListPerEnvironment", func(t *testing.T) {
		page := lucia.get("/flags")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "new-checkout-flow")
		assert.Contains(t, got, "refunds-enabled")
		assert.Contains(t, got, "production protected")
		assert.Contains(t, links(page.body, "new-checkout-flow"), "/flags/dev/new-checkout-flow")
		// lucia may switch her team's flag, not admin-team's.
		assert.Regexp(t, `(?s)action="/flags/dev/new-checkout-flow/state".*?role="switch" aria-checked="true"`, page.body)
		assert.NotContains(t, page.body, `action="/flags/dev/refunds-enabled/state"`)
		assert.Contains(t, page.body, "you are not a member of group:default/admin-team, which owns this flag")

		mine := text(lucia.get("/flags/dev?owner=mine").body)
		assert.Contains(t, mine, "new-checkout-flow")
		assert.NotContains(t, mine, "refunds-enabled")
		off := text(lucia.get("/flags/dev?state=disabled").body)
		assert.Contains(t, off, "payment-history-page-size")
		assert.NotContains(t, off, "new-checkout-flow")

		empty := text(lucia.get("/flags/production").body)
		assert.Contains(t, empty, "production has no flags yet")
		assert.Equal(t, http.StatusNotFound, lucia.get("/flags/nowhere").status)
	})

	t.Run("PreviewEvaluatesForATypedContext", func(t *testing.T) {
		page := lucia.get("/flags/dev/new-checkout-flow?context=" + url.QueryEscape(`{"email":"ana@billpay.example"}`))
		requireOK(t, page)
		assert.Regexp(t, `data-reason="TARGETING_MATCH" data-variant="on"`, page.body)
		frag := lucia.get("/flags/dev/new-checkout-flow/preview?fragment=1&context=" + url.QueryEscape(`{"email":"someone@else.example"}`))
		requireOK(t, frag)
		assert.Contains(t, frag.body, `data-variant="off"`)
		assert.NotContains(t, frag.body, "<html", "the fragment is only the result")
		bad := lucia.get("/flags/dev/new-checkout-flow?context=" + url.QueryEscape(`[1,2]`))
		assert.Contains(t, text(bad.body), "The context must be a JSON object")
		noScript := lucia.get("/flags/dev/new-checkout-flow/preview?context=" + url.QueryEscape(`{"a":1}`))
		require.Equal(t, http.StatusSeeOther, noScript.status)
		assert.Contains(t, noScript.header.Get("Location"), "/flags/dev/new-checkout-flow?context=")
	})

	t.Run("ToggleChangesThePreview", func(t *testing.T) {
		page := lucia.get("/flags/dev/new-checkout-flow")
		etag := html.UnescapeString(regexp.MustCompile(`name="etag" value="([^"]*)"`).FindStringSubmatch(page.body)[1])
		res := lucia.post("/flags/dev/new-checkout-flow/state", url.Values{"enabled": {"false"}, "etag": {etag}, "return": {"/flags/dev/new-checkout-flow"}})
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		after := lucia.get(res.header.Get("Location"))
		assert.Contains(t, text(after.body), "Disabled new-checkout-flow in dev.")
		assert.Contains(t, after.body, `data-reason="DISABLED"`)
		f, err := p.flags.Get("dev", "new-checkout-flow")
		require.NoError(t, err)
		assert.Contains(t, string(f.Definition), `"state":"DISABLED"`)
		assert.Equal(t, "user:default/lucia.fernandez", f.UpdatedBy)
		assert.Contains(t, p.audit.actions(), "disableFlag")

		stale := lucia.post("/flags/dev/new-checkout-flow/state", url.Values{"enabled": {"true"}, "etag": {etag}})
		assert.Equal(t, http.StatusPreconditionFailed, stale.status, "a stale page cannot overwrite a newer change")
		res = lucia.post("/flags/dev/new-checkout-flow/state", url.Values{"enabled": {"true"}})
		require.Equal(t, http.StatusSeeOther, res.status)
	})

	t.Run("ChangesNeedTheCSRFTokenAndThisSite", func(t *testing.T) {
		res := lucia.post("/flags/dev/new-checkout-flow/state", url.Values{"enabled": {"false"}, "_csrf": {"forged"}})
		assert.Equal(t, http.StatusForbidden, res.status)
		assert.Contains(t, text(res.body), "security token")

		req := httptest.NewRequest(http.MethodPost, "/flags/dev/new-checkout-flow/state", strings.NewReader("enabled=false&_csrf="+url.QueryEscape(lucia.csrf)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		assert.Equal(t, http.StatusForbidden, lucia.do(req).status, "another site cannot post even with the token")

		guest := p.guest()
		res = guest.post("/flags/dev/refunds-enabled/state", url.Values{"enabled": {"false"}, "_csrf": {"0123456789012345678901234567890123456789"}})
		assert.Equal(t, http.StatusForbidden, res.status, "the guest's token is its cookie's")
		f, _ := p.flags.Get("dev", "new-checkout-flow")
		assert.Contains(t, string(f.Definition), `"state":"ENABLED"`)
	})

	t.Run("OwnershipDecidesWhoChangesAFlag", func(t *testing.T) {
		page := lucia.get("/flags/dev/refunds-enabled")
		requireOK(t, page)
		assert.Contains(t, text(page.body), "You can read this flag but not change it: not allowed to flags.flag.write: you are not a member of group:default/admin-team")
		assert.Regexp(t, `<button type="submit" class="button primary" disabled>Save changes`, page.body)
		res := lucia.post("/flags/dev/refunds-enabled/state", url.Values{"enabled": {"false"}})
		assert.Equal(t, http.StatusForbidden, res.status)

		omar := p.session("user:default/omar.haddad")
		res = omar.post("/flags/dev/refunds-enabled/state", url.Values{"enabled": {"false"}})
		assert.Equal(t, http.StatusSeeOther, res.status, text(res.body))
	})

	t.Run("EditorValidatesThroughTheService", func(t *testing.T) {
		form := url.Values{"state": {"ENABLED"}, "variantName": {"on", "off", ""}, "variantValue": {"true", "false", ""},
			"defaultVariant": {"nope"}, "targeting": {`{"if": [true, "on", "off"]}`}, "owner": {"group:default/payments-team"}}
		res := lucia.post("/flags/dev/new-checkout-flow", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		got := text(res.body)
		assert.Contains(t, got, "The flag was not saved")
		assert.Contains(t, got, `flag "new-checkout-flow": defaultVariant "nope" is not one of its variants`)
		assert.Regexp(t, `(?s)id="field-defaultVariant".*?aria-invalid="true".*?defaultVariant &#34;nope&#34; is not one of its variants`, res.body)
		assert.Contains(t, res.body, `href="#field-defaultVariant"`)
		assert.Contains(t, res.body, `value="nope"`, "the submitted values come back")

		form.Set("defaultVariant", "off")
		form.Set("targeting", `{"if": [`)
		res = lucia.post("/flags/dev/new-checkout-flow", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Regexp(t, `(?s)id="field-targeting".*?targeting must be a JSON Logic object`, res.body)

		form.Set("targeting", `{"no_such_op": [1]}`)
		res = lucia.post("/flags/dev/new-checkout-flow", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Regexp(t, `(?s)id="field-targeting".*?targeting:`, res.body)

		form.Set("targeting", "")
		form["variantValue"] = []string{"true", `"off"`, ""}
		res = lucia.post("/flags/dev/new-checkout-flow", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Regexp(t, `(?s)id="field-variants".*?all variants must have one type`, res.body)

		form.Set("owner", "group:default/admin-team")
		form["variantValue"] = []string{"true", "false", ""}
		res = lucia.post("/flags/dev/new-checkout-flow", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Regexp(t, `(?s)id="field-owner".*?you cannot hand the flag to group:default/admin-team`, res.body)
	})

	t.Run("EditorSaves", func(t *testing.T) {
		form := url.Values{"state": {"ENABLED"}, "variantName": {"on", "off", "beta"}, "variantValue": {"true", "false", "true"},
			"defaultVariant": {"off"}, "targeting": {`{"if": [{"in": ["@billpay.example", {"var": "email"}]}, "on", null]}`},
			"owner": {"group:default/payments-team"}, "description": {"The redesigned checkout, now for staff"}, "metadata": {`{"app": "payment-app"}`}}
		res := lucia.post("/flags/dev/new-checkout-flow", form)
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		f, err := p.flags.Get("dev", "new-checkout-flow")
		require.NoError(t, err)
		def := string(f.Definition)
		for _, want := range []string{`"beta":true`, `"description":"The redesigned checkout, now for staff"`, `"app":"payment-app"`, `"in":["@billpay.example"`} {
			assert.Contains(t, def, want)
		}
		assert.Contains(t, text(lucia.get("/flags/dev/new-checkout-flow").body), "Saved new-checkout-flow in dev.")
		assert.Contains(t, p.audit.actions(), "putFlag")
	})

	t.Run("CreateANewFlag", func(t *testing.T) {
		page := lucia.get("/flags/dev/_new")
		requireOK(t, page)
		assert.Contains(t, page.body, `value="group:default/payments-team"`, "owned by the person's team by default")
		form := url.Values{"key": {"instant-refunds"}, "state": {"DISABLED"}, "variantName": {"on", "off"}, "variantValue": {"true", "false"},
			"defaultVariant": {"off"}, "owner": {"group:default/payments-team"}}
		res := lucia.post("/flags/dev/_new", form)
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		assert.Equal(t, "/flags/dev/instant-refunds", res.header.Get("Location"))
		again := lucia.post("/flags/dev/_new", form)
		require.Equal(t, http.StatusUnprocessableEntity, again.status)
		assert.Contains(t, text(again.body), `flag "instant-refunds" already exists`)
		bad := lucia.post("/flags/dev/_new", url.Values{"key": {"no spaces"}, "state": {"ENABLED"}, "variantName": {"on"}, "variantValue": {"true"}})
		require.Equal(t, http.StatusUnprocessableEntity, bad.status)
		assert.Regexp(t, `(?s)id="field-key".*?flag key &#34;no spaces&#34;`, bad.body)
		unknown := lucia.get("/flags/dev/not-yet")
		requireOK(t, unknown)
		assert.Contains(t, text(unknown.body), "Create not-yet")
	})

	t.Run("PromoteToAnotherEnvironment", func(t *testing.T) {
		page := lucia.get("/flags/dev/new-checkout-flow")
		assert.Contains(t, text(page.body), "production protected : not there yet")
		res := lucia.post("/flags/dev/new-checkout-flow/copy", url.Values{"to": {"production"}})
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		f, err := p.flags.Get("production", "new-checkout-flow")
		require.NoError(t, err)
		dev, _ := p.flags.Get("dev", "new-checkout-flow")
		assert.JSONEq(t, string(dev.Definition), string(f.Definition))
		assert.Contains(t, text(lucia.get("/flags/dev/new-checkout-flow").body), "production protected : same as dev")
		assert.Contains(t, p.audit.actions(), "copyFlag")
	})

	t.Run("History", func(t *testing.T) {
		got := text(lucia.get("/flags/dev/new-checkout-flow").body)
		assert.Contains(t, got, "History")
		assert.Contains(t, got, "update lucia.fernandez")
		env := lucia.get("/flags/dev/_audit")
		requireOK(t, env)
		envText := text(env.body)
		assert.Contains(t, envText, "Flag changes in dev")
		assert.Contains(t, envText, "instant-refunds create lucia.fernandez")
		entries, err := p.flags.Audit(t.Context(), flags.AuditQuery{Environment: "dev", FlagKey: "new-checkout-flow"})
		require.NoError(t, err)
		assert.Equal(t, flags.ActionUpdate, entries[0].Action)
	})
}

func TestSettings(t *testing.T) {
	p := mustPortal(t, nil, withSignIn)

	t.Run("APersonCreatesATokenSeesItOnceAndRevokesIt", func(t *testing.T) {
		b := p.session("user:default/lucia.fernandez")
		page := b.get("/settings")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Signed in as lucia.fernandez")
		assert.Contains(t, got, "a browser session (GitHub sign-in)")
		assert.Contains(t, got, "payments-team")
		assert.Contains(t, got, "engineering", "ownership follows parent groups")
		assert.Contains(t, got, "You have no personal access tokens.")

		res := b.post("/settings/tokens", url.Values{"name": {"ci for payment-service"}, "scope": {"catalog:read", "flags:write"}, "expiresInDays": {"30"}})
		require.Equal(t, http.StatusCreated, res.status, text(res.body))
		assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
		secret := regexp.MustCompile(`value="(pat_[^"]+)"`).FindStringSubmatch(res.body)
		require.Len(t, secret, 2, "the new token is on the page")
		assert.Contains(t, text(res.body), "it is shown only this once")
		principal, err := p.auth.Authenticate("Bearer " + secret[1])
		require.NoError(t, err)
		assert.Equal(t, "user:default/lucia.fernandez", principal.Subject)

		again := b.get("/settings")
		assert.NotContains(t, again.body, secret[1], "never shown again")
		assert.Contains(t, text(again.body), "ci for payment-service")
		assert.Contains(t, text(again.body), "catalog:read, flags:write")

		revoke := regexp.MustCompile(`action="(/settings/tokens/[^"]+/revoke)"`).FindStringSubmatch(again.body)
		require.Len(t, revoke, 2)
		res = b.post(revoke[1], nil)
		require.Equal(t, http.StatusSeeOther, res.status, text(res.body))
		assert.Contains(t, text(b.get("/settings").body), "revoked")
		_, err = p.auth.Authenticate("Bearer " + secret[1])
		require.Error(t, err)
		assert.Contains(t, p.audit.actions(), "createAccessToken")
		assert.Contains(t, p.audit.actions(), "revokeAccessToken")
	})

	t.Run("ProblemsWithTheFormAreShown", func(t *testing.T) {
		b := p.session("user:default/lucia.fernandez")
		res := b.post("/settings/tokens", url.Values{"name": {""}, "scope": {"catalog:read"}, "expiresInDays": {"30"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Contains(t, text(res.body), "name: give the token a name of 1 to 100 characters")
	})

	t.Run("OthersCannotRevokeYourToken", func(t *testing.T) {
		lucia := p.session("user:default/lucia.fernandez")
		res := lucia.post("/settings/tokens", url.Values{"name": {"mine"}, "scope": {"catalog:read"}, "expiresInDays": {"7"}})
		require.Equal(t, http.StatusCreated, res.status)
		id := regexp.MustCompile(`/settings/tokens/(tok_[^/]+)/revoke`).FindAllStringSubmatch(res.body, -1)
		require.NotEmpty(t, id)
		guest := p.guest()
		assert.Equal(t, http.StatusForbidden, guest.post("/settings/tokens/"+id[len(id)-1][1]+"/revoke", nil).status)
	})

	t.Run("TheGuestIsToldToSignIn", func(t *testing.T) {
		page := p.guest().get("/settings")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Personal access tokens belong to people: sign in to make one.")
		assert.Contains(t, links(page.body, "Sign in with GitHub"), "/api/auth/github/start?returnTo=%2Fsettings")
		assert.NotContains(t, page.body, `action="/settings/tokens"`)
	})

	t.Run("SignOutEndsTheSession", func(t *testing.T) {
		b := p.session("user:default/lucia.fernandez")
		res := b.post("/settings/signout", nil)
		require.Equal(t, http.StatusSeeOther, res.status)
		assert.Equal(t, "/", res.header.Get("Location"))
		assert.Empty(t, b.cookies["portal_session"], "the cookie is cleared")
		assert.Contains(t, text(b.get("/").body), "Welcome to BillPay's portal", "back to the guest")
	})
}

func TestSignInRequiredWithoutGuestAccess(t *testing.T) {
	p := mustPortal(t, nil, withoutGuest, withSignIn)
	for _, path := range []string{"/", "/catalog", "/catalog/default/component/payment-service", "/flags", "/settings"} {
		page := p.guest().get(path)
		require.Equal(t, http.StatusUnauthorized, page.status, path)
		assert.Contains(t, text(page.body), "Sign in to use the portal")
		assert.Contains(t, links(page.body, "Sign in with GitHub"), "/api/auth/github/start?returnTo="+url.QueryEscape(path))
		assert.NotContains(t, page.body, "Payment Service")
	}
	home := p.session("user:default/lucia.fernandez").get("/")
	requireOK(t, home)
	assert.NotContains(t, home.body, "Sign in", "a signed-in person is not asked to sign in")

	noSignIn := mustPortal(t, nil, withoutGuest)
	page := noSignIn.guest().get("/")
	require.Equal(t, http.StatusUnauthorized, page.status)
	assert.Contains(t, text(page.body), "Sign-in is not configured on this portal")

	bad := httptest.NewRequest(http.MethodGet, "/catalog", nil)
	bad.Header.Set("Authorization", "Bearer nope")
	assert.Equal(t, http.StatusUnauthorized, p.guest().do(bad).status)
}

func TestSectionsNotConfiguredYet(t *testing.T) {
	p := mustPortal(t, nil, withoutFlags)
	b := p.guest()
	for path, want := range map[string]string{
		"/docs": "Documentation", "/docs/default/component/payment-service/": "Back to the entity",
		"/create": "Templates in the catalog", "/create/tasks/1234": "Create", "/deploys": "Deploys", "/flags": "Feature flags",
		"/flags/dev": "Feature flags",
	} {
		page := b.get(path)
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Not configured yet", path)
		assert.Contains(t, got, want, path)
	}
	assert.Contains(t, links(b.get("/docs/default/component/payment-service/index.html").body, "Back to the entity"), "/catalog/default/component/payment-service")
	assert.Contains(t, text(b.get("/catalog/default/component/payment-service/flags").body), "Feature flags are not configured")
	create := b.get("/create")
	assert.Contains(t, links(create.body, "Go service"), "/catalog/default/template/go-service")
	assert.Contains(t, text(create.body), "A Go HTTP service with CI and a Helm chart.")
	assert.Contains(t, text(b.get("/").body), "Feature flags are not configured on this portal.")
}

func TestStaticAssets(t *testing.T) {
	p := mustPortal(t, nil)
	b := p.guest()
	home := b.get("/")
	css := regexp.MustCompile(`href="(/static/portal\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(home.body)
	require.Len(t, css, 2)
	res := b.get(css[1])
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "text/css; charset=utf-8", res.header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=31536000, immutable", res.header.Get("Cache-Control"))
	assert.Contains(t, res.body, "prefers-color-scheme: dark")

	js := regexp.MustCompile(`src="(/static/portal\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(home.body)
	require.Len(t, js, 2)
	assert.Contains(t, b.get(js[1]).header.Get("Content-Type"), "javascript")
	assert.Equal(t, http.StatusNotFound, b.get("/static/nope.css").status)

	req := httptest.NewRequest(http.MethodGet, css[1], nil)
	req.Header.Set("If-None-Match", res.header.Get("ETag"))
	assert.Equal(t, http.StatusNotModified, b.do(req).status)
}

func TestPagesCarryALandmarkStructure(t *testing.T) {
	p := mustPortal(t, nil)
	b := p.session("user:default/lucia.fernandez")
	for _, path := range []string{"/", "/catalog", "/catalog/errors", "/catalog/default/component/payment-service", "/catalog/default/api/payments-api/api",
		"/flags", "/flags/dev/new-checkout-flow", "/flags/dev/_audit", "/settings", "/docs", "/create", "/deploys"} {
		page := b.get(path)
		requireOK(t, page)
		assert.Equal(t, 1, strings.Count(page.body, "<h1"), "%s has one heading", path)
		assert.Contains(t, page.body, `<html lang="en">`)
		assert.Contains(t, page.body, `<a class="skip" href="#main">`)
		assert.Contains(t, page.body, `<nav class="main-nav" aria-label="Main">`)
		assertLabelled(t, path, page.body)
	}
}

// assertLabelled checks that every form control of a page has a label.
func assertLabelled(t *testing.T, path, body string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`).FindAllString(body, -1) {
		// Check boxes and radio buttons sit inside their label.
		if strings.Contains(m, `type="hidden"`) || strings.Contains(m, `type="radio"`) || strings.Contains(m, `type="checkbox"`) {
			continue
		}
		id := regexp.MustCompile(`\bid="([^"]+)"`).FindStringSubmatch(m)
		require.Len(t, id, 2, "%s: %s has an id", path, m)
		assert.Contains(t, body, `for="`+id[1]+`"`, "%s: %s has a label", path, m)
	}
}

func TestDescriptionsAreMarkdownWithMarkupShownAsText(t *testing.T) {
	desc := "Moves **money**.\n\n* one\n* two\n\nInline <b onclick=\"x()\">bold</b> and [a link](javascript:alert(1)) and ![logo](https://example.com/x.png).\n\n<script>alert(1)</script>\n"
	p := mustPortal(t, []stitched{{entity: entity("Component", "md-service", map[string]any{"description": desc},
		map[string]any{"type": "service", "lifecycle": "production", "owner": "group:payments-team"})}})
	page := p.guest().get("/catalog/default/component/md-service")
	requireOK(t, page)
	assert.Contains(t, page.body, "<strong>money</strong>")
	assert.Contains(t, page.body, "<li>one</li>")
	assert.Contains(t, page.body, `&lt;b onclick=&quot;x()&quot;&gt;bold&lt;/b&gt;`, "inline HTML is text")
	assert.Contains(t, page.body, `<a href="">a link</a>`, "a script link loses its target")
	assert.Contains(t, page.body, `<a href="https://example.com/x.png">logo</a>`, "an image is a link; the page loads nothing from elsewhere")
	assert.Contains(t, page.body, `<pre class="raw-html">&lt;script&gt;alert(1)&lt;/script&gt;`)
	assert.NotContains(t, page.body, "<script>alert")
	assert.NotContains(t, page.body, "<b onclick")
}

func TestChangesAreRateLimitedPerPrincipal(t *testing.T) {
	p := mustPortal(t, nil, func(_ *portal, o *web.Options, _ *auth.Options) { o.MutationsPerSecond, o.MutationBurst = 0.01, 2 })
	lucia := p.session("user:default/lucia.fernandez")
	for i, want := range []int{http.StatusSeeOther, http.StatusSeeOther, http.StatusTooManyRequests} {
		res := lucia.post("/flags/dev/new-checkout-flow/state", url.Values{"enabled": {fmt.Sprint(i%2 == 1)}})
		require.Equal(t, want, res.status, "change %d: %s", i+1, text(res.body))
		if want == http.StatusTooManyRequests {
			assert.NotEmpty(t, res.header.Get("Retry-After"))
			assert.Contains(t, text(res.body), "too many changes from user:default/lucia.fernandez")
		}
	}
	omar := p.session("user:default/omar.haddad")
	res := omar.post("/flags/dev/refunds-enabled/state", url.Values{"enabled": {"false"}})
	assert.Equal(t, http.StatusSeeOther, res.status, "limits are per principal")
}
