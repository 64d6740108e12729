package source

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

func TestReadPolicy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("kind: Component\n")) }))
	t.Cleanup(srv.Close)

	t.Run("loopback and private addresses are refused by default", func(t *testing.T) {
		r := NewHTTPReader(ReadPolicy{}.Client(5 * time.Second))
		_, err := r.Read(context.Background(), "url", srv.URL+"/catalog-info.yaml")
		require.True(t, errs.Is(err, errs.Forbidden), "got %v", err)
		require.Contains(t, err.Error(), "private, loopback or link-local")
		for _, target := range []string{"http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/x.yaml", "http://[::1]:1/x.yaml"} {
			_, err := r.Read(context.Background(), "url", target)
			require.True(t, errs.Is(err, errs.Forbidden), "%s: got %v", target, err)
		}
	})

	t.Run("private networks can be allowed", func(t *testing.T) {
		r := NewHTTPReader(ReadPolicy{AllowPrivateNetworks: true}.Client(5 * time.Second))
		b, err := r.Read(context.Background(), "url", srv.URL+"/catalog-info.yaml")
		require.NoError(t, err)
		require.Equal(t, "kind: Component\n", string(b))
	})

	t.Run("the host list admits only its hosts and their subdomains", func(t *testing.T) {
		p := ReadPolicy{AllowHosts: []string{"raw.example.com", "*.billpay.example"}, AllowPrivateNetworks: true}
		require.True(t, p.AllowsHost("raw.example.com"))
		require.True(t, p.AllowsHost("Docs.BillPay.example"))
		require.False(t, p.AllowsHost("billpay.example.evil.com"))
		require.False(t, p.AllowsHost("example.com"))
		_, err := NewHTTPReader(p.Client(5*time.Second)).Read(context.Background(), "url", srv.URL+"/x.yaml")
		require.True(t, errs.Is(err, errs.Forbidden))
		require.Contains(t, err.Error(), "reading.allow")
	})
}
