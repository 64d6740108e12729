package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
)

// generated builds n entities shaped like bench/ data: 2 % groups owning everything else, 15 % users, 3 %
// systems, 15 % APIs with an OpenAPI definition, 10 % resources and the rest components that provide, consume and
// depend on them. Deterministic for a given n.
func generated(n int) []stitched {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	nGroups, nUsers, nSystems, nAPIs, nResources := max(2, n*2/100), n*15/100, max(1, n*3/100), n*15/100, n*10/100
	nComponents := n - nGroups - nUsers - nSystems - nAPIs - nResources
	words := []string{"billing", "checkout", "search", "identity", "payments", "catalog", "inventory", "shipping", "ledger", "gateway"}
	lifecycles := []string{"production", "production", "production", "experimental", "deprecated"}
	group := func() string { return fmt.Sprintf("group:team-%04d", rng.IntN(nGroups)) }
	var out []stitched
	add := func(kind, name string, md, spec map[string]any) {
		out = append(out, stitched{entity: entity(kind, name, md, spec)})
	}
	for i := range nGroups {
		spec := map[string]any{"type": "team", "children": []any{}, "profile": map[string]any{"displayName": "Team " + words[i%len(words)]}}
		if i > 0 {
			spec["parent"] = fmt.Sprintf("team-%04d", (i-1)/5)
		}
		add("Group", fmt.Sprintf("team-%04d", i), nil, spec)
	}
	for i := range nUsers {
		add("User", fmt.Sprintf("user-%05d", i), nil, map[string]any{"memberOf": []any{fmt.Sprintf("team-%04d", i%nGroups)}})
	}
	for i := range nSystems {
		add("System", fmt.Sprintf("system-%04d", i), map[string]any{"description": "System " + words[i%len(words)]}, map[string]any{"owner": group()})
	}
	for i := range nAPIs {
		add("API", fmt.Sprintf("api-%05d", i), map[string]any{"description": "API of " + words[i%len(words)], "tags": []any{"rest", words[i%len(words)]}},
			map[string]any{"type": "openapi", "lifecycle": lifecycles[i%len(lifecycles)], "owner": group(), "system": fmt.Sprintf("system-%04d", i%nSystems),
				"definition": paymentsOpenAPI})
	}
	for i := range nResources {
		add("Resource", fmt.Sprintf("resource-%05d", i), nil, map[string]any{"type": "database", "owner": group(), "system": fmt.Sprintf("system-%04d", i%nSystems)})
	}
	for i := range nComponents {
		w := words[rng.IntN(len(words))]
		add("Component", fmt.Sprintf("component-%05d", i), map[string]any{
			"title": w + " service " + fmt.Sprint(i), "description": "Handles " + w + " for BillPay; generated for benchmarking.",
			"tags": []any{w, "java", "kubernetes"}, "annotations": map[string]any{"backstage.io/techdocs-ref": "dir:."},
			"links": []any{map[string]any{"url": "https://example.com/" + w, "title": "Dashboard"}},
		}, map[string]any{"type": "service", "lifecycle": lifecycles[rng.IntN(len(lifecycles))], "owner": group(),
			"system":       fmt.Sprintf("system-%04d", rng.IntN(nSystems)),
			"providesApis": []any{fmt.Sprintf("api-%05d", rng.IntN(nAPIs))},
			"consumesApis": []any{fmt.Sprintf("api-%05d", rng.IntN(nAPIs)), fmt.Sprintf("api-%05d", rng.IntN(nAPIs))},
			"dependsOn":    []any{fmt.Sprintf("resource:resource-%05d", rng.IntN(nResources)), fmt.Sprintf("component:component-%05d", rng.IntN(nComponents))}})
	}
	return out
}

// benchPortal is the pages over a catalog of 10,000 generated entities (plus the BillPay fixtures).
func benchPortal(b *testing.B) *portal {
	b.Helper()
	start := time.Now()
	var parts deployParts
	p := mustPortal(b, generated(10000), withDeploys(&parts))
	b.Logf("loaded %d entities in %s", p.catalog.Index().Len(), time.Since(start).Round(time.Millisecond))
	// A release history to page through: 200 successful releases of 50 components in dev.
	admin := auth.Principal{Subject: "user:default/bench", Kind: auth.KindUser, Admin: true}
	for i := range 200 {
		rel, err := parts.svc.Deploy(context.Background(), admin, deploy.DeployInput{Component: fmt.Sprintf("component-%05d", i%50),
			Environment: "dev", Tag: fmt.Sprintf("1.%d.0", i)})
		if err != nil {
			b.Fatal(err)
		}
		markSucceeded(b, &parts, rel.ID)
	}
	return p
}

func benchPage(b *testing.B, p *portal, path string) {
	b.Helper()
	// The first request checks the page and warms nothing the next ones rely on: every request reads the index.
	rec := httptest.NewRecorder()
	p.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, rec.Code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		rec := httptest.NewRecorder()
		p.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(used.Microseconds())/float64(b.N)/1000, "cpu-ms/page")
	}
}

// BenchmarkPages renders each page server-side against the 10,000-entity catalog. The budget is 50 ms a page;
// the figures are recorded in README.md beside this file.
func BenchmarkPages(b *testing.B) {
	p := benchPortal(b)
	for _, c := range []struct{ name, path string }{
		{"Catalog", "/catalog"},
		{"CatalogFiltered", "/catalog?kind=Component&lifecycle=production&tag=java&sort=name"},
		{"CatalogSearch", "/catalog?q=billing&sort=-lifecycle"},
		{"CatalogPage2", ""},
		{"EntityComponent", "/catalog/default/component/component-00042"},
		{"EntityGroup", "/catalog/default/group/team-0001"},
		{"EntityAPIDefinition", "/catalog/default/api/api-00007/api"},
		{"EntityFlags", "/catalog/default/component/payment-service/flags"},
		{"Home", "/?q=payments"},
		{"CatalogErrors", "/catalog/errors"},
		{"Flags", "/flags/dev"},
		{"Deploys", "/deploys"},
		{"DeploysFiltered", "/deploys?component=component-00007&status=succeeded"},
		{"EntityDeployments", "/catalog/default/component/component-00007/deployments"},
	} {
		path := c.path
		if c.name == "CatalogPage2" {
			first := p.guest().get("/catalog?kind=Component&sort=name")
			next := links(first.body, "Next")
			if len(next) != 1 {
				b.Fatal("no next page")
			}
			path = next[0]
		}
		b.Run(c.name, func(b *testing.B) { benchPage(b, p, path) })
	}
}
