package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/store/storetest"
)

// billpayDocsMain starts a portal with BillPay's catalog, whose portal component documents the
// platform from this repository's techdocs/.
func billpayDocsMain(t *testing.T, mutate func(*config.Config)) *Main {
	t.Helper()
	m := MustRunMain(t, func(c *config.Config) {
		c.Catalog.Locations = []config.Location{fileLocation(t, "../../catalog-info/all.yaml")}
		c.Catalog.PollInterval = config.Duration(100 * time.Millisecond)
		if mutate != nil {
			mutate(c)
		}
	})
	waitForTotal(t, m, 56, 30*time.Second)
	return m
}

// apiDo sends a request with the test token and returns the response and its body.
func apiDo(t *testing.T, m *Main, method, path string) (*http.Response, []byte) {
	t.Helper()
	code, h, body := do(t, method, m.URL()+path, testToken, "")
	return &http.Response{StatusCode: code, Header: h}, body
}

type searchAnswer struct {
	Results []struct {
		Type      string            `json:"type"`
		Document  map[string]string `json:"document"`
		Highlight *struct {
			PreTag  string            `json:"preTag"`
			PostTag string            `json:"postTag"`
			Fields  map[string]string `json:"fields"`
		} `json:"highlight"`
		Rank int `json:"rank"`
	} `json:"results"`
	NextPageCursor  string `json:"nextPageCursor"`
	NumberOfResults int    `json:"numberOfResults"`
}

// searchUntil queries until the first result satisfies ok: the index follows the catalog and the
// builds in the background.
func searchUntil(t *testing.T, m *Main, query string, ok func(searchAnswer) bool) searchAnswer {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got searchAnswer
	for time.Now().Before(deadline) {
		got = searchAnswer{}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/search/query?"+query, &got))
		if ok(got) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("search %s never answered as expected; last answer: %+v", query, got)
	return got
}

func TestTechDocsEndToEnd(t *testing.T) {
	m := billpayDocsMain(t, nil)

	// The reader's first visit: Backstage's client opens /sync with EventSource and waits for finish.
	stream := openSSEAuth(t, m.URL()+"/api/techdocs/sync/default/component/portal", "", testToken)
	var logLines []string
	for {
		ev := stream.next(t, 60*time.Second)
		if ev.event == "log" {
			var line string
			require.NoError(t, json.Unmarshal([]byte(ev.data), &line), "log data is a JSON string: %s", ev.data)
			logLines = append(logLines, line)
			continue
		}
		require.Equal(t, "finish", ev.event, "log: %v; data: %s", logLines, ev.data)
		var finish struct {
			Updated *bool `json:"updated"`
		}
		require.NoError(t, json.Unmarshal([]byte(ev.data), &finish))
		require.NotNil(t, finish.Updated, "finish says whether new docs were published: %s", ev.data)
		break
	}

	t.Run("metadata of the built site", func(t *testing.T) {
		var meta struct {
			SiteName       string   `json:"site_name"`
			Etag           string   `json:"etag"`
			BuildTimestamp int64    `json:"build_timestamp"`
			Files          []string `json:"files"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/techdocs/metadata/techdocs/default/component/portal", &meta))
		require.Equal(t, "BillPay Platform", meta.SiteName)
		require.NotEmpty(t, meta.Etag)
		require.Contains(t, meta.Files, "runbooks/payment-service/index.html")
		require.Equal(t, "techdocs_metadata.json", meta.Files[len(meta.Files)-1])

		var viaDomain map[string]any
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/techdocs/metadata/techdocs/default/domain/billpay", &viaDomain),
			"the billpay domain shows the portal's site")
		require.Equal(t, "BillPay Platform", viaDomain["site_name"])
	})

	t.Run("the entity and where its docs come from", func(t *testing.T) {
		var e struct {
			Kind             string `json:"kind"`
			LocationMetadata struct {
				Type   string `json:"type"`
				Target string `json:"target"`
			} `json:"locationMetadata"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/techdocs/metadata/entity/default/component/portal", &e))
		require.Equal(t, "Component", e.Kind)
		require.Equal(t, "dir", e.LocationMetadata.Type)
		abs, err := filepath.Abs("../../techdocs")
		require.NoError(t, err)
		require.Equal(t, abs, e.LocationMetadata.Target)
	})

	t.Run("pages are served so that no browser runs them", func(t *testing.T) {
		resp, body := apiDo(t, m, http.MethodGet, "/api/techdocs/static/docs/default/component/portal/runbooks/payment-service/index.html")
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
		require.Contains(t, string(body), `<h1 id="payment-service-runbook">Payment Service runbook`)
		require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "sandbox")

		resp, body = apiDo(t, m, http.MethodGet, "/api/techdocs/static/docs/default/Component/Portal/nav.json")
		require.Equal(t, http.StatusOK, resp.StatusCode, "the triplet is case-insensitive, as Backstage lowercases it")
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		require.True(t, json.Valid(body))
	})

	t.Run("refuses paths out of the site", func(t *testing.T) {
		for _, p := range []string{"..%2f..%2f..%2fportal.db", "%2e%2e/%2e%2e/x", "a/..%2f..%2f..%2fb"} {
			resp, body := apiDo(t, m, http.MethodGet, "/api/techdocs/static/docs/default/component/portal/"+p)
			require.NotEqual(t, http.StatusOK, resp.StatusCode, "%s: %s", p, body)
		}
	})

	t.Run("answers in Backstage's error body", func(t *testing.T) {
		resp, body := apiDo(t, m, http.MethodGet, "/api/techdocs/static/docs/default/component/portal/no-such-page/index.html")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Equal(t, "NotFoundError", backstageErrorName(t, body))
		resp, body = apiDo(t, m, http.MethodGet, "/api/techdocs/sync/default/component/no-such-entity")
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Equal(t, "NotFoundError", backstageErrorName(t, body))
		resp, body = apiDo(t, m, http.MethodGet, "/api/techdocs/metadata/techdocs/default/component/payment-service")
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	})

	t.Run("reports build status, and rebuilds on request", func(t *testing.T) {
		var st struct {
			Items []struct {
				EntityRef string `json:"entityRef"`
				State     string `json:"state"`
				Etag      string `json:"etag"`
				Warnings  []any  `json:"warnings"`
			} `json:"items"`
		}
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/techdocs/status?entity=component:default/portal", &st))
		require.Len(t, st.Items, 1)
		require.Equal(t, "succeeded", st.Items[0].State)
		require.NotNil(t, st.Items[0].Warnings)

		code, _, body := do(t, http.MethodPost, m.URL()+"/api/techdocs/build/default/component/portal", "", "")
		require.Equal(t, http.StatusUnauthorized, code, "%s", body)
		code, _, body = do(t, http.MethodPost, m.URL()+"/api/techdocs/build/default/component/portal", testToken, "")
		require.Equal(t, http.StatusAccepted, code, "%s", body)
		var b struct {
			State            string `json:"state"`
			RebuildRequested bool   `json:"rebuildRequested"`
		}
		require.NoError(t, json.Unmarshal(body, &b))
		require.True(t, b.RebuildRequested || b.State == "building")
	})

	t.Run("search finds a docs page", func(t *testing.T) {
		got := searchUntil(t, m, "term=stop+taking+new+payments&types[0]=techdocs", func(a searchAnswer) bool { return len(a.Results) > 0 })
		top := got.Results[0]
		require.Equal(t, "techdocs", top.Type)
		require.Equal(t, "/docs/default/component/portal/runbooks/payment-service/", top.Document["location"])
		require.Equal(t, "Payment Service", top.Document["title"], "the nav title, as mkdocs names the page")
		require.Equal(t, "Portal", top.Document["entityTitle"])
		require.NotNil(t, top.Highlight)
		require.Contains(t, top.Highlight.Fields["text"], top.Highlight.PreTag)
	})

	t.Run("search finds a misspelt service", func(t *testing.T) {
		got := searchUntil(t, m, "term=paymnt+servce&types[0]=software-catalog", func(a searchAnswer) bool { return len(a.Results) > 0 })
		require.Equal(t, "/catalog/default/component/payment-service", got.Results[0].Document["location"])
		require.Equal(t, "Payment Service", got.Results[0].Document["title"])
	})

	t.Run("search filters and pages as Backstage's client asks", func(t *testing.T) {
		q := url.Values{"term": {"service"}, "filters[kind]": {"Component"}, "pageLimit": {"2"}}
		first := searchUntil(t, m, q.Encode(), func(a searchAnswer) bool { return len(a.Results) == 2 })
		require.NotEmpty(t, first.NextPageCursor)
		for _, r := range first.Results {
			require.Equal(t, "Component", r.Document["kind"])
		}
		q.Set("pageCursor", first.NextPageCursor)
		var second searchAnswer
		require.Equal(t, http.StatusOK, apiGet(t, m, "/api/search/query?"+q.Encode(), &second))
		require.Equal(t, 3, second.Results[0].Rank)
		code, _, body := do(t, http.MethodGet, m.URL()+"/api/search/query?term=x&pageCursor=%25%25", testToken, "")
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "InputError", backstageErrorName(t, body))
	})
}

func TestTechDocsCLI(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, "techdocs", "build", "../../techdocs", "--out", out, "--strict")
	require.Equal(t, 0, code, "BillPay's docs build cleanly, even in strict mode: %s", stderr)
	require.Contains(t, stdout, `built "BillPay Platform"`)
	for _, f := range []string{"index.html", "nav.json", "search/search_index.json", "techdocs_metadata.json", "runbooks/payment-service/index.html"} {
		_, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err, f)
	}

	broken := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(broken, "docs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "mkdocs.yml"), []byte("site_name: Broken\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "docs", "index.md"), []byte("# Home\n\nSee [missing](missing.md).\n"), 0o644))

	t.Run("prints warnings as FILE:LINE and fails on them in strict mode", func(t *testing.T) {
		code, _, stderr := runCLI(t, "techdocs", "build", broken, "--out", filepath.Join(t.TempDir(), "site"))
		require.Equal(t, 0, code)
		require.Contains(t, stderr, filepath.ToSlash(filepath.Join(broken, "docs", "index.md"))+":3: ")
		dest := filepath.Join(t.TempDir(), "strict")
		code, _, stderr = runCLI(t, "techdocs", "build", "--strict", broken, "--out", dest)
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, "strict mode")
		_, err := os.Stat(dest)
		require.True(t, os.IsNotExist(err), "nothing is written when strict mode fails")
	})

	t.Run("publishes a built site through the configured publisher", func(t *testing.T) {
		data := t.TempDir()
		cfgPath := filepath.Join(t.TempDir(), "portal.yaml")
		require.NoError(t, os.WriteFile(cfgPath, []byte("dataDir: "+data+"\ncatalog:\n  locations: []\n"), 0o644))
		code, stdout, stderr := runCLI(t, "techdocs", "publish", "--entity", "component:default/portal", "--dir", out, "--config", cfgPath)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stdout, "component:default/portal")
		_, err := os.Stat(filepath.Join(data, "techdocs", "default", "component", "portal", "runbooks", "payment-service", "index.html"))
		require.NoError(t, err)

		code, _, stderr = runCLI(t, "techdocs", "publish", "--entity", "default/Component/payments", "--dir", out, "--config", cfgPath)
		require.Equal(t, 0, code, "techdocs-cli's namespace/kind/name form: %s", stderr)
		_, err = os.Stat(filepath.Join(data, "techdocs", "default", "component", "payments", "index.html"))
		require.NoError(t, err)

		code, _, stderr = runCLI(t, "techdocs", "publish", "--entity", "component:default/portal", "--dir", broken, "--config", cfgPath)
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "techdocs_metadata.json")
	})

	t.Run("usage", func(t *testing.T) {
		code, _, stderr := runCLI(t, "techdocs")
		require.Equal(t, 2, code)
		require.Contains(t, stderr, "portal techdocs build SRC --out DIR")
		code, _, _ = runCLI(t, "techdocs", "build", "../../techdocs")
		require.Equal(t, 2, code, "--out is required")
	})
}

// TestTechDocsOnS3 publishes through the awsS3 publisher made from config, to an S3-compatible
// server on loopback, and serves the docs back from it.
func TestTechDocsOnS3(t *testing.T) {
	endpoint := startFakeS3(t, "billpay-techdocs")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	m := billpayDocsMain(t, func(c *config.Config) {
		c.TechDocs.Publisher = "awsS3"
		c.TechDocs.S3 = config.TechDocsS3{Bucket: "billpay-techdocs", Region: "us-east-1", Endpoint: endpoint, RootPath: "portal", ForcePathStyle: true}
	})
	stream := openSSEAuth(t, m.URL()+"/api/techdocs/sync/default/component/portal", "", testToken)
	ev := stream.next(t, 60*time.Second)
	for ev.event == "log" {
		ev = stream.next(t, 60*time.Second)
	}
	require.Equal(t, "finish", ev.event, ev.data)
	resp, body := apiDo(t, m, http.MethodGet, "/api/techdocs/static/docs/default/component/portal/index.html")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	require.True(t, strings.Contains(string(body), "BillPay"), "%s", body)
}

// startFakeS3 serves an S3-compatible store on loopback with one bucket and returns its endpoint.
func startFakeS3(t *testing.T, bucket string) string {
	t.Helper()
	backend := s3mem.New()
	require.NoError(t, backend.CreateBucket(bucket))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTechDocsReplicasOnPostgres runs two replicas on one PostgreSQL database and one S3 bucket, as
// in production: a site built through one replica is served, reported and found by the other.
func TestTechDocsReplicasOnPostgres(t *testing.T) {
	dbURL := storetest.PostgresSchema(t, storetest.PostgresURL(t))
	endpoint := startFakeS3(t, "billpay-techdocs")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	mutate := func(c *config.Config) {
		c.Database.URL = dbURL
		c.TechDocs.Publisher = "awsS3"
		c.TechDocs.S3 = config.TechDocsS3{Bucket: "billpay-techdocs", Region: "us-east-1", Endpoint: endpoint, ForcePathStyle: true}
	}
	a := billpayDocsMain(t, mutate)
	b := billpayDocsMain(t, mutate)

	stream := openSSEAuth(t, a.URL()+"/api/techdocs/sync/default/component/portal", "", testToken)
	ev := stream.next(t, 60*time.Second)
	for ev.event == "log" {
		ev = stream.next(t, 60*time.Second)
	}
	require.Equal(t, "finish", ev.event, ev.data)

	var st struct {
		Items []struct {
			State string `json:"state"`
			Etag  string `json:"etag"`
		} `json:"items"`
	}
	require.Equal(t, http.StatusOK, apiGet(t, b, "/api/techdocs/status?entity=component:default/portal", &st))
	require.Equal(t, "succeeded", st.Items[0].State, "the other replica reports the build")
	var meta struct {
		Etag string `json:"etag"`
	}
	require.Equal(t, http.StatusOK, apiGet(t, b, "/api/techdocs/metadata/techdocs/default/component/portal", &meta))
	require.Equal(t, st.Items[0].Etag, meta.Etag)
	resp, body := apiDo(t, b, http.MethodGet, "/api/techdocs/static/docs/default/component/portal/runbooks/user-service/index.html")
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	searchUntil(t, b, "term=stop+taking+new+payments&types[0]=techdocs", func(a searchAnswer) bool { return len(a.Results) > 0 })
	searchUntil(t, b, "term=paymnt+servce&types[0]=software-catalog", func(a searchAnswer) bool {
		return len(a.Results) > 0 && a.Results[0].Document["name"] == "payment-service"
	})
}
