package flagdsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"buf.build/gen/go/open-feature/flagd/grpc/go/flagd/sync/v1/syncv1grpc"
	syncv1 "buf.build/gen/go/open-feature/flagd/protocolbuffers/go/flagd/sync/v1"
	"github.com/open-feature/flagd/core/pkg/logger"
	coresync "github.com/open-feature/flagd/core/pkg/sync"
	coregrpc "github.com/open-feature/flagd/core/pkg/sync/grpc"
	"github.com/open-feature/flagd/core/pkg/sync/grpc/credentials"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/flagdsync"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
	"github.com/billpay/portal/internal/store"
)

const (
	stagingServerKey = "staging-server-key-0123456789"
	stagingClientKey = "staging-client-key-0123456789"
	prodServerKey    = "prod-server-key-0123456789"
)

// billpayEnvs are dev (the guest environment, no keys), staging (a client and a server key) and production (a
// server key).
var billpayEnvs = []flagservice.Environment{
	{Name: "dev"},
	{Name: "staging", ClientKeys: []string{stagingClientKey}, ServerKeys: []string{stagingServerKey}},
	{Name: "production", Protected: true, ServerKeys: []string{prodServerKey}},
}

var quiet = slog.New(slog.DiscardHandler)

// admin writes the test's flags; who may change what is the flag service's business, not the sync's.
var admin = auth.Principal{Subject: "flagdsync-test", Kind: auth.KindService, Admin: true}

// MustStartFlags runs the real flag service on a fresh SQLite database until the test ends.
func MustStartFlags(t *testing.T, guest string, envs []flagservice.Environment) *flagservice.Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return mustStartFlagsUntil(t, ctx, guest, envs)
}

// mustStartFlagsUntil runs the flag service until ctx ends.
func mustStartFlagsUntil(t *testing.T, ctx context.Context, guest string, envs []flagservice.Environment) *flagservice.Service {
	t.Helper()
	st, err := store.Open(ctx, "", t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	svc, err := flagservice.New(st, flagservice.Config{Environments: envs, GuestEnvironment: guest,
		PollInterval: time.Hour, Log: quiet})
	require.NoError(t, err)
	require.NoError(t, svc.Start(ctx))
	return svc
}

// MustServe serves svc on a loopback port until the test ends and returns the server and its address.
func MustServe(t *testing.T, svc flagdsync.Flags) (*flagdsync.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := flagdsync.New(flagdsync.Options{Flags: svc, Log: quiet})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
		require.NoError(t, <-served)
	})
	return srv, ln.Addr().String()
}

// MustDial is a plain gRPC client of the sync service.
func MustDial(t *testing.T, addr string) syncv1grpc.FlagSyncServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return syncv1grpc.NewFlagSyncServiceClient(conn)
}

func withMD(kv ...string) context.Context {
	return metadata.NewOutgoingContext(context.Background(), metadata.Pairs(kv...))
}

func mustPut(t *testing.T, svc *flagservice.Service, env, key, def string) {
	t.Helper()
	_, _, err := svc.Put(context.Background(), admin, env, key, json.RawMessage(def), flagservice.Precondition{})
	require.NoError(t, err)
}

const bannerOff = `{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}`
const bannerOn = `{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}`

// recvWithin receives the next message or fails the test after d, so a missing update cannot hang the run.
func recvWithin(t *testing.T, stream grpc.ServerStreamingClient[syncv1.SyncFlagsResponse], d time.Duration) (*syncv1.SyncFlagsResponse, error) {
	t.Helper()
	type result struct {
		msg *syncv1.SyncFlagsResponse
		err error
	}
	ch := make(chan result, 1)
	go func() {
		msg, err := stream.Recv()
		ch <- result{msg, err}
	}()
	select {
	case r := <-ch:
		return r.msg, r.err
	case <-time.After(d):
		t.Fatalf("no sync message within %s", d)
		return nil, nil
	}
}

// defaultVariantOf parses a synced document the way a client must be able to, and reads one flag's default.
func defaultVariantOf(t *testing.T, doc, key string) string {
	t.Helper()
	parsed, err := flags.Parse([]byte(doc))
	require.NoError(t, err, "the synced document must be a valid flagd document")
	f, ok := parsed.Flags[key]
	require.True(t, ok, "flag %q is in the synced document", key)
	require.NotNil(t, f.DefaultVariant)
	return *f.DefaultVariant
}

func compactJSON(t *testing.T, doc string) string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(doc), &v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return string(out)
}

func TestSyncFlags(t *testing.T) {
	svc := MustStartFlags(t, "dev", billpayEnvs)
	mustPut(t, svc, "production", "maintenance-banner", bannerOff)
	mustPut(t, svc, "staging", "maintenance-banner", bannerOn)
	_, addr := MustServe(t, svc)
	client := MustDial(t, addr)

	t.Run("sends the whole configuration at once, then again after every change", func(t *testing.T) {
		ctx, cancel := context.WithCancel(withMD("authorization", "Bearer "+prodServerKey, flagdsync.SelectorHeader, "production"))
		defer cancel()
		stream, err := client.SyncFlags(ctx, &syncv1.SyncFlagsRequest{ProviderId: "payment-service"})
		require.NoError(t, err)
		first, err := recvWithin(t, stream, 5*time.Second)
		require.NoError(t, err)
		snap, err := svc.Snapshot("production")
		require.NoError(t, err)
		require.Equal(t, string(snap.Document), first.GetFlagConfiguration(), "the configuration is the environment's flagd document")
		require.Nil(t, first.GetSyncContext(), "no static context is added to evaluations")
		require.Equal(t, "off", defaultVariantOf(t, first.GetFlagConfiguration(), "maintenance-banner"))

		mustPut(t, svc, "production", "maintenance-banner", bannerOn)
		next, err := recvWithin(t, stream, 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, "on", defaultVariantOf(t, next.GetFlagConfiguration(), "maintenance-banner"))

		mustPut(t, svc, "staging", "maintenance-banner", bannerOff)
		mustPut(t, svc, "production", "new-checkout-flow", bannerOff)
		next, err = recvWithin(t, stream, 5*time.Second)
		require.NoError(t, err)
		require.Equal(t, "off", defaultVariantOf(t, next.GetFlagConfiguration(), "new-checkout-flow"),
			"a change to another environment sends nothing; the next message is production's own change")
	})

	t.Run("a burst of changes ends with the latest configuration", func(t *testing.T) {
		ctx, cancel := context.WithCancel(withMD("x-api-key", stagingServerKey))
		defer cancel()
		stream, err := client.SyncFlags(ctx, &syncv1.SyncFlagsRequest{})
		require.NoError(t, err)
		_, err = recvWithin(t, stream, 5*time.Second)
		require.NoError(t, err)
		const n = 100
		for i := range n {
			mustPut(t, svc, "staging", "page-size", fmt.Sprintf(`{"state":"ENABLED","variants":{"v%d":%d},"defaultVariant":"v%d"}`, i, i, i))
		}
		want := fmt.Sprintf("v%d", n-1)
		for {
			msg, err := recvWithin(t, stream, 5*time.Second)
			require.NoError(t, err)
			if defaultVariantOf(t, msg.GetFlagConfiguration(), "page-size") == want {
				break
			}
		}
	})

	t.Run("a client that stops reading gets the latest configuration when it reads again", func(t *testing.T) {
		// A small flow-control window and a large document make the server's sends block while the client does
		// not read, so more changes pile up than the flag service buffers for one subscriber, and it drops the
		// subscription. The stream must resubscribe rather than fall silent.
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithInitialWindowSize(1<<16), grpc.WithInitialConnWindowSize(1<<16),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
		require.NoError(t, err)
		defer conn.Close()
		mustPut(t, svc, "production", "terms-text", fmt.Sprintf(`{"state":"ENABLED","variants":{"v1":%q},"defaultVariant":"v1"}`, strings.Repeat("terms ", 15_000)))
		ctx, cancel := context.WithCancel(withMD("x-api-key", prodServerKey))
		defer cancel()
		stream, err := syncv1grpc.NewFlagSyncServiceClient(conn).SyncFlags(ctx, &syncv1.SyncFlagsRequest{})
		require.NoError(t, err)
		const n = 80 // more than the 64 events the flag service buffers per subscriber
		for i := range n {
			mustPut(t, svc, "production", "page-size", fmt.Sprintf(`{"state":"ENABLED","variants":{"v%d":%d},"defaultVariant":"v%d"}`, i, i, i))
		}
		want := fmt.Sprintf(`"defaultVariant":"v%d"`, n-1)
		for {
			msg, err := recvWithin(t, stream, 10*time.Second)
			require.NoError(t, err)
			if strings.Contains(compactJSON(t, msg.GetFlagConfiguration()), want) {
				break
			}
		}
	})

	t.Run("FetchAllFlags returns the current configuration", func(t *testing.T) {
		res, err := client.FetchAllFlags(withMD("authorization", "Bearer "+prodServerKey), &syncv1.FetchAllFlagsRequest{})
		require.NoError(t, err)
		snap, err := svc.Snapshot("production")
		require.NoError(t, err)
		require.Equal(t, string(snap.Document), res.GetFlagConfiguration())
	})

	t.Run("GetMetadata names the environment and its version", func(t *testing.T) {
		//lint:ignore SA1019 the deprecated call is part of the service and must keep working.
		res, err := client.GetMetadata(withMD("authorization", "Bearer "+prodServerKey), &syncv1.GetMetadataRequest{})
		require.NoError(t, err)
		snap, err := svc.Snapshot("production")
		require.NoError(t, err)
		md := res.GetMetadata().AsMap()
		require.Equal(t, "production", md["environment"])
		require.Equal(t, float64(snap.Version), md["version"])
		require.Equal(t, snap.ConfigETag, md["configETag"])
	})

	t.Run("guests sync the guest environment", func(t *testing.T) {
		for _, sel := range []string{"", "dev", "flagSetId=dev", "environment=dev"} {
			res, err := client.FetchAllFlags(withMD(flagdsync.SelectorHeader, sel), &syncv1.FetchAllFlagsRequest{})
			require.NoError(t, err, "selector %q", sel)
			parsed, err := flags.Parse([]byte(res.GetFlagConfiguration()))
			require.NoError(t, err)
			require.Empty(t, parsed.Flags)
		}
	})
}

func TestSyncFlagsRefuses(t *testing.T) {
	svc := MustStartFlags(t, "dev", billpayEnvs)
	_, addr := MustServe(t, svc)
	client := MustDial(t, addr)

	cases := []struct {
		name     string
		md       []string
		field    string
		code     codes.Code
		contains string
	}{
		{"production without a key", []string{flagdsync.SelectorHeader, "production"}, "", codes.PermissionDenied, `only the guest environment "dev"`},
		{"an unknown key", []string{"authorization", "Bearer not-a-key-0123456789"}, "", codes.Unauthenticated, "unknown API key"},
		{"an authorization header that is not a bearer token", []string{"authorization", "Basic " + prodServerKey}, "", codes.Unauthenticated, "Bearer"},
		{"two different keys", []string{"authorization", "Bearer " + prodServerKey, "x-api-key", stagingServerKey}, "", codes.Unauthenticated, "more than one"},
		{"a public client key", []string{"x-api-key", stagingClientKey}, "", codes.PermissionDenied, "use a server key"},
		{"another environment's key", []string{"x-api-key", stagingServerKey, flagdsync.SelectorHeader, "flagSetId=production"}, "", codes.PermissionDenied, `belongs to environment "staging"`},
		{"another environment's key in the request field", []string{"x-api-key", stagingServerKey}, "production", codes.PermissionDenied, `not "production"`},
		{"an environment that does not exist", []string{"x-api-key", prodServerKey, flagdsync.SelectorHeader, "qa"}, "", codes.NotFound, `"qa"`},
		{"a selector of flagd's source form", []string{"x-api-key", prodServerKey, flagdsync.SelectorHeader, "source=production"}, "", codes.InvalidArgument, "environment=<name>"},
		{"an empty flagSetId", []string{"x-api-key", prodServerKey, flagdsync.SelectorHeader, "flagSetId="}, "", codes.InvalidArgument, "selector"},
		{"a header and a request field that differ", []string{"x-api-key", prodServerKey, flagdsync.SelectorHeader, "production"}, "staging", codes.InvalidArgument, "differ"},
	}
	for _, c := range cases {
		t.Run("SyncFlags refuses "+c.name, func(t *testing.T) {
			//lint:ignore SA1019 flagd daemons still send the selector in this field, so it is tested.
			stream, err := client.SyncFlags(withMD(c.md...), &syncv1.SyncFlagsRequest{Selector: c.field})
			require.NoError(t, err)
			_, err = recvWithin(t, stream, 5*time.Second)
			requireStatus(t, err, c.code, c.contains)
		})
		t.Run("FetchAllFlags refuses "+c.name, func(t *testing.T) {
			//lint:ignore SA1019 flagd daemons still send the selector in this field, so it is tested.
			_, err := client.FetchAllFlags(withMD(c.md...), &syncv1.FetchAllFlagsRequest{Selector: c.field})
			requireStatus(t, err, c.code, c.contains)
		})
	}

	t.Run("guests are refused an environment that has server keys", func(t *testing.T) {
		envs := []flagservice.Environment{{Name: "dev", ServerKeys: []string{"dev-server-key-0123456789"}}}
		_, addr := MustServe(t, MustStartFlags(t, "dev", envs))
		_, err := MustDial(t, addr).FetchAllFlags(context.Background(), &syncv1.FetchAllFlagsRequest{})
		requireStatus(t, err, codes.Unauthenticated, "has server keys")
	})

	t.Run("without a guest environment a key is required", func(t *testing.T) {
		_, addr := MustServe(t, MustStartFlags(t, "", billpayEnvs))
		_, err := MustDial(t, addr).FetchAllFlags(context.Background(), &syncv1.FetchAllFlagsRequest{})
		requireStatus(t, err, codes.Unauthenticated, "API key is required")
	})
}

func requireStatus(t *testing.T, err error, code codes.Code, contains string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "a gRPC status: %v", err)
	require.Equal(t, code, st.Code(), "status %v", st)
	require.Contains(t, st.Message(), contains)
}

func TestSelectorByFlagSetID(t *testing.T) {
	svc := MustStartFlags(t, "dev", billpayEnvs)
	seed, err := os.ReadFile(filepath.Join("..", "..", "flags", "production.flagd.json"))
	require.NoError(t, err)
	_, err = svc.Import(context.Background(), admin, "production", seed, flagservice.ImportReplace)
	require.NoError(t, err)
	_, addr := MustServe(t, svc)
	client := MustDial(t, addr)

	t.Run("the flagSetId in the document's metadata selects its environment", func(t *testing.T) {
		res, err := client.FetchAllFlags(withMD("x-api-key", prodServerKey, flagdsync.SelectorHeader, "flagSetId=billpay-production"), &syncv1.FetchAllFlagsRequest{})
		require.NoError(t, err)
		require.Contains(t, res.GetFlagConfiguration(), `"billpay-production"`)
	})
	t.Run("and is still refused to other environments' keys", func(t *testing.T) {
		_, err := client.FetchAllFlags(withMD("x-api-key", stagingServerKey, flagdsync.SelectorHeader, "flagSetId=billpay-production"), &syncv1.FetchAllFlagsRequest{})
		requireStatus(t, err, codes.PermissionDenied, `not "production"`)
	})
}

func TestShutdown(t *testing.T) {
	svc := MustStartFlags(t, "dev", billpayEnvs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := flagdsync.New(flagdsync.Options{Flags: svc})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := MustDial(t, ln.Addr().String())

	stream, err := client.SyncFlags(context.Background(), &syncv1.SyncFlagsRequest{})
	require.NoError(t, err)
	_, err = recvWithin(t, stream, 5*time.Second)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx), "open streams end without waiting for the deadline")
	_, err = recvWithin(t, stream, 5*time.Second)
	require.ErrorIs(t, err, io.EOF, "the stream ends with status OK")
	require.NoError(t, <-served)
}

func TestStreamsEndWhenTheFlagServiceStops(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	svc := mustStartFlagsUntil(t, ctx, "dev", billpayEnvs)
	_, addr := MustServe(t, svc)
	stream, err := MustDial(t, addr).SyncFlags(context.Background(), &syncv1.SyncFlagsRequest{})
	require.NoError(t, err)
	_, err = recvWithin(t, stream, 5*time.Second)
	require.NoError(t, err)
	stop()
	_, err = recvWithin(t, stream, 5*time.Second)
	require.ErrorIs(t, err, io.EOF, "the stream ends with status OK, as on shutdown")
}

func TestServeStopsWithItsContext(t *testing.T) {
	svc := MustStartFlags(t, "dev", billpayEnvs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- flagdsync.Serve(ctx, ln, flagdsync.Options{Flags: svc}) }()

	stream, err := MustDial(t, ln.Addr().String()).SyncFlags(context.Background(), &syncv1.SyncFlagsRequest{})
	require.NoError(t, err)
	_, err = recvWithin(t, stream, 5*time.Second)
	require.NoError(t, err)
	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(flagdsync.ShutdownTimeout):
		t.Fatal("Serve did not return after its context ended")
	}
	_, err = recvWithin(t, stream, 5*time.Second)
	require.ErrorIs(t, err, io.EOF)
}

// TestFlagdDaemonSource syncs with flagd's own gRPC sync source (what `flagd start --sources` runs for a "grpc"
// source), which sends the selector in the request field and the key as a configured header.
func TestFlagdDaemonSource(t *testing.T) {
	svc := MustStartFlags(t, "dev", billpayEnvs)
	mustPut(t, svc, "production", "maintenance-banner", bannerOff)
	_, addr := MustServe(t, svc)

	source := &coregrpc.Sync{
		URI:               addr,
		Selector:          "production",
		ProviderID:        "flagd-daemon",
		Headers:           map[string]string{"authorization": "Bearer " + prodServerKey},
		CredentialBuilder: &credentials.CredentialBuilder{},
		Logger:            logger.NewLogger(nil, false),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, source.Init(ctx))
	updates := make(chan coresync.DataSync, 4)
	synced := make(chan error, 1)
	go func() { synced <- source.Sync(ctx, updates) }()

	next := func() coresync.DataSync {
		t.Helper()
		select {
		case d := <-updates:
			return d
		case err := <-synced:
			t.Fatalf("flagd's sync ended: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("flagd's sync received nothing")
		}
		return coresync.DataSync{}
	}
	require.Equal(t, "off", defaultVariantOf(t, next().FlagData, "maintenance-banner"))
	mustPut(t, svc, "production", "maintenance-banner", bannerOn)
	require.Equal(t, "on", defaultVariantOf(t, next().FlagData, "maintenance-banner"))

	t.Run("its re-sync uses FetchAllFlags", func(t *testing.T) {
		require.NoError(t, source.ReSync(ctx, updates))
		require.Equal(t, "on", defaultVariantOf(t, next().FlagData, "maintenance-banner"))
	})
	cancel()
	select {
	case err := <-synced:
		if err != nil && !errors.Is(err, context.Canceled) {
			require.NoError(t, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("flagd's sync did not stop")
	}
}
