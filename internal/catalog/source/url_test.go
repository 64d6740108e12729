package source_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
)

// TestHTTPReader runs the reader against real httptest servers, so status handling, limits and
// timeouts are those of net/http.
func TestHTTPReader(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/catalog-info.yaml", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("kind: Component\n"))
	})
	mux.HandleFunc("/boom", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "oops", http.StatusInternalServerError)
	})
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 101)))
	})
	mux.HandleFunc("/exact", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 100)))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/catalog-info.yaml", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := context.Background()

	t.Run("reads the body of a 200 response", func(t *testing.T) {
		b, err := source.NewHTTPReader(nil).Read(ctx, "url", srv.URL+"/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component\n", string(b))
	})

	t.Run("follows redirects", func(t *testing.T) {
		b, err := source.NewHTTPReader(nil).Read(ctx, "url", srv.URL+"/moved")
		require.NoError(t, err)
		require.Equal(t, "kind: Component\n", string(b))
	})

	t.Run("reports 404 and 410 as not found", func(t *testing.T) {
		for _, p := range []string{"/missing", "/gone"} {
			_, err := source.NewHTTPReader(nil).Read(ctx, "url", srv.URL+p)
			require.Equal(t, errs.NotFound, errs.CodeOf(err), p)
		}
	})

	t.Run("reports other statuses as invalid, naming the status and URL", func(t *testing.T) {
		for p, status := range map[string]string{"/boom": "500 Internal Server Error", "/forbidden": "403 Forbidden"} {
			_, err := source.NewHTTPReader(nil).Read(ctx, "url", srv.URL+p)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Contains(t, errs.MessageOf(err), status)
			require.Contains(t, errs.MessageOf(err), srv.URL+p)
		}
	})

	t.Run("refuses a body over the limit but takes one exactly at it", func(t *testing.T) {
		r := &source.HTTPReader{MaxBytes: 100}
		_, err := r.Read(ctx, "url", srv.URL+"/big")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
		require.Contains(t, errs.MessageOf(err), "larger than 100 bytes")

		b, err := r.Read(ctx, "url", srv.URL+"/exact")
		require.NoError(t, err)
		require.Len(t, b, 100)
	})

	t.Run("gives up after the timeout as unavailable", func(t *testing.T) {
		r := &source.HTTPReader{Timeout: 50 * time.Millisecond}
		start := time.Now()
		_, err := r.Read(ctx, "url", srv.URL+"/slow")
		require.Equal(t, errs.Unavailable, errs.CodeOf(err))
		require.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("honours the caller's context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := source.NewHTTPReader(nil).Read(cctx, "url", srv.URL+"/catalog-info.yaml")
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("reports an unreachable server as unavailable", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		_, err := source.NewHTTPReader(nil).Read(ctx, "url", dead.URL+"/x.yaml")
		require.Equal(t, errs.Unavailable, errs.CodeOf(err))
	})

	t.Run("refuses targets that are not http(s) URLs", func(t *testing.T) {
		for _, target := range []string{"file:///etc/passwd", "ftp://example.com/x", "./relative.yaml", "https://"} {
			_, err := source.NewHTTPReader(nil).Read(ctx, "url", target)
			require.Equal(t, errs.Invalid, errs.CodeOf(err), target)
		}
	})

	t.Run("keeps credentials in the URL out of messages", func(t *testing.T) {
		target := strings.Replace(srv.URL, "http://", "http://bot:s3cret@", 1) + "/boom"
		_, err := source.NewHTTPReader(nil).Read(ctx, "url", target)
		require.Error(t, err)
		require.NotContains(t, errs.MessageOf(err), "s3cret")
	})

	t.Run("sends requests through the injected client", func(t *testing.T) {
		tls := httptest.NewUnstartedServer(mux)
		// The refused handshake below is the point of the test, not news for the log.
		tls.Config.ErrorLog = log.New(io.Discard, "", 0)
		tls.StartTLS()
		t.Cleanup(tls.Close)

		_, err := source.NewHTTPReader(nil).Read(ctx, "url", tls.URL+"/catalog-info.yaml")
		require.Equal(t, errs.Unavailable, errs.CodeOf(err), "the default client must not trust the test CA")

		b, err := source.NewHTTPReader(tls.Client()).Read(ctx, "url", tls.URL+"/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component\n", string(b))
	})
}

func TestResolveURL(t *testing.T) {
	const blob = "https://github.com/billpay/payments/blob/main/services/api/catalog-info.yaml"
	cases := []struct {
		name, base, target, want string
	}{
		{"keeps an absolute target", blob, "https://example.com/x.yaml", "https://example.com/x.yaml"},
		{"resolves a sibling in the same repository and ref", blob, "./openapi.yaml",
			"https://github.com/billpay/payments/blob/main/services/api/openapi.yaml"},
		{"resolves a bare relative name like ./", blob, "docs/api.yaml",
			"https://github.com/billpay/payments/blob/main/services/api/docs/api.yaml"},
		{"resolves a parent directory within the repository", blob, "../../catalog/all.yaml",
			"https://github.com/billpay/payments/blob/main/catalog/all.yaml"},
		{"resolves a rooted target against the repository root", blob, "/catalog/all.yaml",
			"https://github.com/billpay/payments/blob/main/catalog/all.yaml"},
		{"resolves against the directory of a tree URL", "https://github.com/billpay/payments/tree/v2/services/api", "./openapi.yaml",
			"https://github.com/billpay/payments/blob/v2/services/api/openapi.yaml"},
		{"treats a tree URL of a YAML file as that file", "https://github.com/billpay/payments/tree/main/services/api/catalog-info.yaml", "./openapi.yaml",
			"https://github.com/billpay/payments/blob/main/services/api/openapi.yaml"},
		{"works for GitHub Enterprise hosts", "https://ghe.billpay.test/platform/infra/blob/main/catalog-info.yaml", "./envs/dev.yaml",
			"https://ghe.billpay.test/platform/infra/blob/main/envs/dev.yaml"},
		{"resolves an empty target to the base file", "https://github.com/billpay/payments/tree/main/services/api", "",
			"https://github.com/billpay/payments/blob/main/services/api/catalog-info.yaml"},
		{"resolves a plain URL per RFC 3986", "https://docs.billpay.test/catalog/all.yaml", "./teams.yaml",
			"https://docs.billpay.test/catalog/teams.yaml"},
		{"resolves a rooted plain URL against the host", "https://docs.billpay.test/catalog/all.yaml", "/other/x.yaml",
			"https://docs.billpay.test/other/x.yaml"},
		{"keeps the base query, as Backstage does", "https://store.billpay.test/c/all.yaml?sig=abc", "./teams.yaml",
			"https://store.billpay.test/c/teams.yaml?sig=abc"},
		{"prefers the target's own query", "https://store.billpay.test/c/all.yaml?sig=abc", "./teams.yaml?sig=def",
			"https://store.billpay.test/c/teams.yaml?sig=def"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := source.ResolveURL(c.base, c.target)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}

	t.Run("refuses a target that climbs out of the repository", func(t *testing.T) {
		_, err := source.ResolveURL(blob, "../../../../other-repo/blob/main/catalog-info.yaml")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})

	t.Run("refuses a target that names the repository root", func(t *testing.T) {
		_, err := source.ResolveURL(blob, "../..")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})

	t.Run("refuses a base that is not an absolute URL", func(t *testing.T) {
		_, err := source.ResolveURL("catalog/all.yaml", "./x.yaml")
		require.Equal(t, errs.Invalid, errs.CodeOf(err))
	})
}
