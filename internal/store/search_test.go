package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/search"
	"github.com/billpay/portal/internal/store"
)

// MustOpenSearch opens a migrated store with the search tables.
func MustOpenSearch(t *testing.T, open func(t *testing.T) *store.Store) *store.Store {
	t.Helper()
	st := open(t)
	require.NoError(t, st.MigrateSearch(context.Background()))
	require.NoError(t, st.MigrateSearch(context.Background()), "migrating twice changes nothing")
	return st
}

func entityDoc(t *testing.T, kind, name, title, description string, tags ...string) search.Document {
	t.Helper()
	md := map[string]any{"name": name, "namespace": "default", "description": description}
	if title != "" {
		md["title"] = title
	}
	if len(tags) > 0 {
		var ts []any
		for _, tag := range tags {
			ts = append(ts, tag)
		}
		md["tags"] = ts
	}
	d, ok := search.CatalogDocument(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": md,
		"spec": map[string]any{"type": "service", "lifecycle": "production", "owner": "group:default/payments-team"}})
	require.True(t, ok)
	return d
}

func results(t *testing.T, svc *search.Service, q search.Query) search.ResultSet {
	t.Helper()
	rs, err := svc.Query(context.Background(), q)
	require.NoError(t, err)
	return rs
}

func titles(rs search.ResultSet) []string {
	var out []string
	for _, r := range rs.Results {
		out = append(out, r.Document["title"])
	}
	return out
}

func TestSearch(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := MustOpenSearch(t, open)
			svc := search.New(st, nil, search.Options{Owner: "replica-a"})
			require.NoError(t, svc.Replace(ctx, "catalog:1", 1, []search.Document{entityDoc(t, "Component", "payment-service", "Payment Service",
				"Takes card payments and settles them with the acquirer.", "go", "payments")}))
			require.NoError(t, svc.Replace(ctx, "catalog:2", 1, []search.Document{entityDoc(t, "Component", "user-service", "User Service",
				"Accounts, sign-up and profiles.")}))
			require.NoError(t, svc.Replace(ctx, "catalog:3", 1, []search.Document{entityDoc(t, "API", "payments-api", "",
				"HTTP API of the payment service.")}))
			portal := catalog.Entity{"kind": "Component", "metadata": map[string]any{"name": "portal", "title": "Portal"},
				"spec": map[string]any{"type": "service", "owner": "group:default/platform-team", "lifecycle": "production"}}
			require.NoError(t, svc.Replace(ctx, search.TechDocsSource(portal.Ref()), 100, search.TechDocsDocuments(portal, []search.DocsPage{
				{Path: "runbooks/incidents/", Title: "Handling incidents", Headings: []string{"Escalation", "Rolling back"},
					Text: strings.Repeat("When the payment flow fails, page the on-call engineer. ", 20)},
				{Path: "", Title: "Home", Text: "Welcome to the BillPay platform documentation."},
			})))

			t.Run("ranks titles and names above body text", func(t *testing.T) {
				rs := results(t, svc, search.Query{Term: "payment"})
				got := titles(rs)
				require.Len(t, got, 3)
				require.ElementsMatch(t, []string{"Payment Service", "payments-api"}, got[:2], "entities named for payments first")
				require.Equal(t, "Handling incidents", got[2], "a page that only mentions payments comes last")
				require.Equal(t, 3, rs.NumberOfResults)
			})

			t.Run("stems English words", func(t *testing.T) {
				require.Contains(t, titles(results(t, svc, search.Query{Term: "settling"})), "Payment Service")
				require.Contains(t, titles(results(t, svc, search.Query{Term: "fails"})), "Handling incidents")
			})

			t.Run("matches words as prefixes while typing", func(t *testing.T) {
				require.Contains(t, titles(results(t, svc, search.Query{Term: "paym", Filters: map[string][]string{"kind": {"component"}}})), "Payment Service")
				require.Equal(t, []string{"Handling incidents"}, titles(results(t, svc, search.Query{Term: "escal"})))
			})

			t.Run("corrects a misspelt service name", func(t *testing.T) {
				rs := results(t, svc, search.Query{Term: "paymnt servce"})
				require.NotEmpty(t, rs.Results)
				require.Equal(t, "Payment Service", rs.Results[0].Document["title"])
				require.Equal(t, "payment-service", rs.Results[0].Document["name"])
				require.Equal(t, "User Service", titles(results(t, svc, search.Query{Term: "usr-service"}))[0])
				require.Contains(t, titles(results(t, svc, search.Query{Term: "inicdents"})), "Handling incidents")
			})

			t.Run("puts the entity whose whole name was typed first", func(t *testing.T) {
				require.NoError(t, svc.Replace(ctx, "catalog:4", 1, []search.Document{entityDoc(t, "Resource", "billpay-ecr-payment-service",
					"ECR repository payment-service", "Images of the Payment Service; every payment service release is pushed here.")}))
				defer func() { require.NoError(t, svc.Remove(ctx, "catalog:4", 2)) }()
				for _, term := range []string{"payment-service", "payment service", "paymnt-servce", "Payment Service"} {
					rs := results(t, svc, search.Query{Term: term, Types: []string{search.TypeCatalog}})
					require.GreaterOrEqual(t, len(rs.Results), 2, term)
					require.Equal(t, "payment-service", rs.Results[0].Document["name"], term)
				}
				rs := results(t, svc, search.Query{Term: "billpay-ecr-payment-service"})
				require.Equal(t, "billpay-ecr-payment-service", rs.Results[0].Document["name"])
			})

			t.Run("finds nothing for a word nobody wrote", func(t *testing.T) {
				rs := results(t, svc, search.Query{Term: "kubernetes"})
				require.Empty(t, rs.Results)
				require.Zero(t, rs.NumberOfResults)
			})

			t.Run("highlights matches between the answer's tags", func(t *testing.T) {
				rs := results(t, svc, search.Query{Term: "payment", Types: []string{search.TypeCatalog}, Filters: map[string][]string{"kind": {"component"}}})
				require.Len(t, rs.Results, 1)
				h := rs.Results[0].Highlight
				require.NotNil(t, h)
				require.True(t, strings.HasPrefix(h.PreTag, "<") && strings.HasPrefix(h.PostTag, "</"))
				require.Equal(t, h.PreTag+"Payment"+h.PostTag+" Service", h.Fields["title"])
				require.Contains(t, h.Fields["text"], h.PreTag+"payments"+h.PostTag)
			})

			t.Run("filters by type and by field, case-insensitively", func(t *testing.T) {
				require.Equal(t, []string{"Handling incidents"}, titles(results(t, svc, search.Query{Term: "payment", Types: []string{search.TypeTechDocs}})))
				require.Equal(t, []string{"payments-api"}, titles(results(t, svc, search.Query{Term: "payment", Filters: map[string][]string{"kind": {"API"}}})))
				require.Len(t, results(t, svc, search.Query{Term: "payment", Types: []string{search.TypeCatalog},
					Filters: map[string][]string{"kind": {"api", "Component"}}}).Results, 2)
				require.Len(t, results(t, svc, search.Query{Term: "payment", Filters: map[string][]string{"kind": {"component"},
					"owner": {"group:default/platform-team"}}}).Results, 1, "filters on several fields all apply")
				rs := results(t, svc, search.Query{Filters: map[string][]string{"owner": {"group:default/platform-team"}}})
				require.Equal(t, []string{"Handling incidents", "Home"}, titles(rs), "no term lists by title")
			})

			t.Run("returns the document's fields as Backstage's collators do", func(t *testing.T) {
				rs := results(t, svc, search.Query{Term: "escalation"})
				require.Len(t, rs.Results, 1)
				r := rs.Results[0]
				require.Equal(t, search.TypeTechDocs, r.Type)
				require.Equal(t, "/docs/default/component/portal/runbooks/incidents/", r.Document["location"])
				require.Equal(t, "Portal", r.Document["entityTitle"])
				require.Equal(t, "Component", r.Document["kind"])
				require.Equal(t, "runbooks/incidents/", r.Document["path"])
				require.Equal(t, 1, r.Rank)
			})

			t.Run("pages with Backstage's cursors", func(t *testing.T) {
				first := results(t, svc, search.Query{Term: "service", PageLimit: 1})
				require.Len(t, first.Results, 1)
				require.NotEmpty(t, first.NextPageCursor)
				require.Empty(t, first.PreviousPageCursor)
				second := results(t, svc, search.Query{Term: "service", PageLimit: 1, PageCursor: first.NextPageCursor})
				require.Len(t, second.Results, 1)
				require.Equal(t, 2, second.Results[0].Rank)
				require.Equal(t, search.EncodePageCursor(1), first.NextPageCursor)
				require.Equal(t, search.EncodePageCursor(0), second.PreviousPageCursor)
				require.NotEqual(t, first.Results[0].Document["title"], second.Results[0].Document["title"])
				_, err := svc.Query(ctx, search.Query{Term: "x", PageCursor: "%%%"})
				require.True(t, errs.Is(err, errs.Invalid))
				_, err = svc.Query(ctx, search.Query{Term: "x", PageLimit: 1000})
				require.True(t, errs.Is(err, errs.Invalid))
			})

			t.Run("treats query syntax as words", func(t *testing.T) {
				for _, term := range []string{`"payment`, `payment*`, `payment OR user`, `NEAR(payment user)`, `payment:* & !user`,
					`'); DROP TABLE search_documents; --`, `the`, `*`, `"`} {
					_, err := svc.Query(ctx, search.Query{Term: term})
					require.NoError(t, err, term)
				}
				require.Empty(t, results(t, svc, search.Query{Term: "the"}).Results, "stop words alone match nothing on either engine")
			})

			t.Run("keeps the newest version of a source", func(t *testing.T) {
				require.NoError(t, svc.Replace(ctx, "catalog:2", 3, []search.Document{entityDoc(t, "Component", "user-service", "Identity Service", "")}))
				require.NoError(t, svc.Replace(ctx, "catalog:2", 2, []search.Document{entityDoc(t, "Component", "user-service", "Stale Title", "")}))
				require.Equal(t, []string{"Identity Service"}, titles(results(t, svc, search.Query{Term: "user-service"})))
				require.Empty(t, results(t, svc, search.Query{Term: "stale"}).Results)
			})

			t.Run("forgets the vocabulary of removed documents", func(t *testing.T) {
				require.NotEmpty(t, results(t, svc, search.Query{Term: "identiti"}).Results)
				require.NoError(t, svc.Remove(ctx, "catalog:2", 4))
				require.Empty(t, results(t, svc, search.Query{Term: "identity"}).Results)
				terms, err := st.SimilarTerms(ctx, search.Trigrams("identity"), 10)
				require.NoError(t, err)
				require.NotContains(t, terms, "identity")
				require.Contains(t, terms, "incidents", "shared trigrams still find other words")
			})
		})
	}
}

func TestSearchIndexesTheCatalog(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := MustOpenSearch(t, open)
			h := newHarness(t, st)
			path := h.write("catalog-info.yaml", component("payment-service", "team-a")+"---\n"+component("user-service", "team-b"))
			h.configLocation(path)
			h.drain()

			a := search.New(st, st, search.Options{Owner: "replica-a", Lease: time.Minute})
			b := search.New(st, st, search.Options{Owner: "replica-b", Lease: time.Minute})
			require.NoError(t, b.IndexCatalog(ctx))
			require.NoError(t, a.IndexCatalog(ctx), "a replica without the lease stands by")
			rs := results(t, a, search.Query{Term: "paymnt", Types: []string{search.TypeCatalog}})
			require.Equal(t, []string{"payment-service"}, titles(rs))
			require.Equal(t, "/catalog/default/component/payment-service", rs.Results[0].Document["location"])
			require.Equal(t, "team-a", rs.Results[0].Document["owner"])
			require.Empty(t, results(t, a, search.Query{Filters: map[string][]string{"kind": {"location"}}}).Results, "locations are not documents")

			t.Run("follows changes and deletions", func(t *testing.T) {
				h.write("catalog-info.yaml", component("payment-service", "team-c"))
				h.reprocessAll()
				require.NoError(t, st.DeleteEntityByUID(ctx, h.entity("component:default/user-service").UID()))
				h.drain()
				require.NoError(t, b.IndexCatalog(ctx))
				require.Equal(t, "team-c", results(t, a, search.Query{Term: "payment"}).Results[0].Document["owner"])
				require.Empty(t, results(t, a, search.Query{Term: "user-service"}).Results)
			})

			t.Run("refuses a cursor move from a replica that lost the lease", func(t *testing.T) {
				err := st.ApplySearch(ctx, nil, &search.Cursor{Owner: "replica-a", Version: 1})
				require.True(t, errs.Is(err, errs.Conflict), "%v", err)
			})

			t.Run("rebuilds when deletions it never saw were purged", func(t *testing.T) {
				h.write("catalog-info.yaml", component("payment-service", "team-c")+"---\n"+component("ledger-service", "team-c"))
				h.reprocessAll()
				require.NoError(t, b.IndexCatalog(ctx))
				require.Len(t, results(t, a, search.Query{Term: "ledger"}).Results, 1)
				require.NoError(t, b.Replace(ctx, search.CatalogSource("ghost"), 1, []search.Document{entityDoc(t, "Component", "ghost-service", "", "")}))

				h.write("catalog-info.yaml", component("payment-service", "team-c"))
				h.reprocessAll()
				require.NoError(t, st.DeleteEntityByUID(ctx, h.entity("component:default/ledger-service").UID()))
				h.drain()
				require.NoError(t, st.PurgeTombstones(ctx, -time.Hour))
				require.NoError(t, b.IndexCatalog(ctx))
				require.Empty(t, results(t, a, search.Query{Term: "ledger"}).Results, "a deletion only the purge knew of")
				require.Empty(t, results(t, a, search.Query{Term: "ghost"}).Results)
				require.Len(t, results(t, a, search.Query{Term: "payment"}).Results, 1)
			})
		})
	}
}
