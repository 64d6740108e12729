package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	flagd "github.com/open-feature/go-sdk-contrib/providers/flagd/pkg"
	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
)

const syncStagingServerKey = "sync-staging-server-key-0123456789"

// runSyncMain starts a portal with BillPay's seed flags, a server key for staging, and flagd sync served on a
// loopback port the test owns; it returns the portal and the sync address.
func runSyncMain(t *testing.T) (*Main, string) {
	t.Helper()
	seed, err := filepath.Abs("../../flags")
	require.NoError(t, err)
	m := MustRunMain(t, func(c *config.Config) {
		c.Flags.SeedDir = seed
		c.Flags.Environments = []config.FlagEnvironment{
			{Name: "dev"},
			{Name: "staging", ServerKeys: []string{syncStagingServerKey}},
			{Name: "production", Protected: true},
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	m.serveFlagdSync(ctx, &g, ln)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, g.Wait())
	})
	return m, ln.Addr().String()
}

// bearerKey sends an environment's server key with every call. Loopback has no TLS, so it allows plain text; a
// real deployment sends keys over TLS only.
type bearerKey string

func (k bearerKey) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

func (bearerKey) RequireTransportSecurity() bool { return false }

// newInProcessProvider is the flagd Go provider in in-process mode pointed at Portal's sync port, configured the
// way a BillPay backend would be.
func newInProcessProvider(t *testing.T, addr, selector, key string) *flagd.Provider {
	t.Helper()
	host, portText, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	port, err := strconv.ParseUint(portText, 10, 16)
	require.NoError(t, err)
	provider, err := flagd.NewProvider(
		flagd.WithInProcessResolver(),
		flagd.WithHost(host),
		flagd.WithPort(uint16(port)),
		flagd.WithSelector(selector),
		flagd.WithProviderID("payment-service"),
		// A refused key is not worth retrying: fail initialisation instead of waiting for a stream that never comes.
		flagd.WithFatalStatusCodes([]string{"UNAUTHENTICATED", "PERMISSION_DENIED", "INVALID_ARGUMENT", "NOT_FOUND"}),
		flagd.WithDeadline(10_000),
		// The provider has no option for a key; dial options carry it (and replace the provider's own TLS choice).
		flagd.WithGrpcDialOptionsOverride([]grpc.DialOption{
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(bearerKey(key)),
		}),
	)
	require.NoError(t, err)
	return provider
}

func TestFlagdProviderInProcess(t *testing.T) {
	m, addr := runSyncMain(t)
	ctx := context.Background()

	api := isolated.NewAPI()
	require.NoError(t, api.SetProviderAndWait(ctx, newInProcessProvider(t, addr, "flagSetId=billpay-staging", syncStagingServerKey)))
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	client := api.NewClient()
	changes := make(chan openfeature.EventDetails, 16)
	onChange := func(d openfeature.EventDetails) { changes <- d }
	client.AddHandler(openfeature.ProviderConfigChange, &onChange)

	t.Run("evaluates BillPay's flags exactly as Portal does", func(t *testing.T) {
		snap, err := m.Flags.Snapshot("staging")
		require.NoError(t, err)
		contexts := []openfeature.EvaluationContext{
			openfeature.NewEvaluationContext("user-1", map[string]any{"email": "ann@billpay.example", "roles": []any{"admin"}, "country": "BR", "appVersion": "2.3.9"}),
			openfeature.NewEvaluationContext("user-2", map[string]any{"email": "bob@example.com", "country": "DE", "appVersion": "2.5.0"}),
			openfeature.NewEvaluationContext("user-3", map[string]any{"country": "MX"}),
			openfeature.NewTargetlessEvaluationContext(nil),
		}
		for _, ec := range contexts {
			flat := map[string]any{}
			for k, v := range ec.Attributes() {
				flat[k] = v
			}
			if ec.TargetingKey() != "" {
				flat["targetingKey"] = ec.TargetingKey()
			}
			want := func(key string) flags.Result { return snap.Set.Resolve(key, flags.TypeAny, flat) }

			for _, key := range []string{"new-checkout-flow", "refunds-enabled", "bulk-refunds", "mobile-app-min-version"} {
				got, err := client.BooleanValueDetails(ctx, key, false, ec)
				require.NoError(t, err, key)
				w := want(key)
				require.Equal(t, w.Variant, got.Variant, "%s for %v", key, flat)
				require.Equal(t, string(w.Reason), string(got.Reason), "%s for %v", key, flat)
				if w.Value != nil {
					require.Equal(t, w.Value, got.Value, "%s for %v", key, flat)
				}
			}
			provider, err := client.StringValue(ctx, "payment-provider", "none", ec)
			require.NoError(t, err)
			require.Equal(t, want("payment-provider").Value, provider)
			size, err := client.IntValue(ctx, "payment-history-page-size", 0, ec)
			require.NoError(t, err)
			require.EqualValues(t, want("payment-history-page-size").Value, size)
			banner, err := client.ObjectValue(ctx, "maintenance-banner", nil, ec)
			require.NoError(t, err)
			require.Equal(t, want("maintenance-banner").Value, banner)
		}
		search, err := client.BooleanValueDetails(ctx, "no-such-flag", true, openfeature.EvaluationContext{})
		require.Error(t, err)
		require.Equal(t, openfeature.FlagNotFoundCode, search.ErrorCode)
	})

	t.Run("sees a change made through the management API", func(t *testing.T) {
		ec := openfeature.NewEvaluationContext("user-2", map[string]any{"email": "bob@example.com"})
		_, err := client.StringValueDetails(ctx, "checkout-copy", "code-default", ec)
		require.Error(t, err, "the flag does not exist yet")

		syncPutFlag(t, m, "staging", "checkout-copy", `{"state":"ENABLED","variants":{"old":"Pay now","new":"Pay securely"},"defaultVariant":"old"}`)
		requireChange(t, changes, "checkout-copy")
		got, err := client.StringValue(ctx, "checkout-copy", "code-default", ec)
		require.NoError(t, err)
		require.Equal(t, "Pay now", got)

		syncPutFlag(t, m, "staging", "checkout-copy", `{"state":"ENABLED","variants":{"old":"Pay now","new":"Pay securely"},"defaultVariant":"old",
			"targeting":{"if":[{"ends_with":[{"var":"email"},"@example.com"]},"new",null]}}`)
		requireChange(t, changes, "checkout-copy")
		details, err := client.StringValueDetails(ctx, "checkout-copy", "code-default", ec)
		require.NoError(t, err)
		require.Equal(t, "Pay securely", details.Value)
		require.Equal(t, openfeature.TargetingMatchReason, details.Reason)
	})

	t.Run("sees a flag switched off through the service", func(t *testing.T) {
		_, err := m.Flags.SetState(ctx, auth.Principal{Subject: "flagdsync-test", Kind: auth.KindService, Admin: true}, "staging", "refunds-enabled", false, flagservice.Precondition{})
		require.NoError(t, err)
		requireChange(t, changes, "refunds-enabled")
		details, err := client.BooleanValueDetails(ctx, "refunds-enabled", false, openfeature.EvaluationContext{})
		require.NoError(t, err)
		require.False(t, details.Value)
		require.Equal(t, openfeature.DisabledReason, details.Reason)
	})
}

func TestFlagdProviderRefused(t *testing.T) {
	_, addr := runSyncMain(t)
	// The provider reports either the fatal status or, when its connection monitor wins the race, "connection
	// error"; the status codes themselves are tested with a raw client in internal/flagdsync.
	for name, c := range map[string]struct{ selector, key string }{
		"an unknown key":                    {"staging", "not-a-key-0123456789"},
		"a selector of another environment": {"production", syncStagingServerKey},
		"production without a key":          {"production", ""},
	} {
		t.Run(name, func(t *testing.T) {
			api := isolated.NewAPI()
			t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
			err := api.SetProviderAndWait(context.Background(), newInProcessProvider(t, addr, c.selector, c.key))
			require.Error(t, err, "initialisation fails instead of waiting for flags forever")
		})
	}
}

func TestStartFlagdSync(t *testing.T) {
	m := MustRunMain(t, nil)

	t.Run("does nothing when flags.syncListen is empty", func(t *testing.T) {
		var g errgroup.Group
		m.Config.Flags.SyncListen = ""
		require.NoError(t, m.startFlagdSync(context.Background(), &g))
		require.NoError(t, g.Wait())
	})
	t.Run("serves until its context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var g errgroup.Group
		m.Config.Flags.SyncListen = "127.0.0.1:0"
		require.NoError(t, m.startFlagdSync(ctx, &g))
		cancel()
		require.NoError(t, g.Wait())
	})
	t.Run("fails start-up on a port in use, naming the setting", func(t *testing.T) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer busy.Close()
		var g errgroup.Group
		m.Config.Flags.SyncListen = busy.Addr().String()
		err = m.startFlagdSync(context.Background(), &g)
		require.ErrorContains(t, err, "flags.syncListen")
	})
}

func syncPutFlag(t *testing.T, m *Main, env, key, def string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, m.URL()+"/api/flags/environments/"+env+"/flags/"+key, strings.NewReader(def))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, resp.StatusCode)
}

// requireChange waits for PROVIDER_CONFIGURATION_CHANGED naming key.
func requireChange(t *testing.T, changes <-chan openfeature.EventDetails, key string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case d := <-changes:
			for _, k := range d.FlagChanges {
				if k == key {
					return
				}
			}
		case <-deadline:
			t.Fatalf("no PROVIDER_CONFIGURATION_CHANGED for %q", key)
		}
	}
}
