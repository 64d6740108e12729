// Package flagdsync serves Portal's flag environments over flagd's sync protocol, flagd.sync.v1.FlagSyncService on
// gRPC, so that flagd daemons (a "grpc" sync source) and flagd providers in in-process mode evaluate Portal's flags
// locally and follow every change without polling.
//
// What the service answers:
//   - SyncFlags: a server stream. The first message is the environment's whole flag configuration (the flagd JSON
//     document that `portal flags export` prints); after every committed change to that environment the whole
//     configuration is sent again. Only whole documents are sent, so a client that missed a message is never out
//     of step. The stream ends with status OK when the server shuts down; clients then reconnect (to this or
//     another replica) and get the whole configuration again.
//   - FetchAllFlags: the same document once, for clients that re-sync after an error.
//   - GetMetadata (deprecated by flagd, kept because the service still defines it): the environment's name,
//     version and configuration ETag.
//
// sync_context is never set: the protocol defines it as static context that in-process providers add to every
// evaluation, and Portal's flags are defined to be evaluated on exactly the context the application passes.
//
// Who may read what (the flag configuration includes targeting rules, which can name customers and staff, so this
// is stricter than OFREP evaluation):
//   - A server key of an environment, sent as gRPC metadata "authorization: Bearer <key>" or "x-api-key: <key>",
//     reads that environment.
//   - Client keys are public (they ship in browsers), so they are refused with PERMISSION_DENIED.
//   - Without a key, only the guest environment can be read, and only while it has no server keys: configuring a
//     server key on an environment is taken as saying that its rules are not public.
//
// Which environment (the selector, from the "flagd-selector" metadata header, which flagd providers send, or the
// deprecated request field "selector", which flagd daemons still send; when both are present they must agree):
//   - "" selects the key's own environment (or the guest environment);
//   - "<name>", "environment=<name>" or "flagSetId=<name>" select the environment with that name;
//   - "flagSetId=<id>" also selects the environment whose document metadata has that flagSetId (BillPay's
//     production flags say "billpay-production").
//
// Any other selector is INVALID_ARGUMENT; a selector naming another environment than the key's is
// PERMISSION_DENIED; one naming no environment is NOT_FOUND; an unknown key is UNAUTHENTICATED; an environment
// still loading is UNAVAILABLE.
package flagdsync

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"buf.build/gen/go/open-feature/flagd/grpc/go/flagd/sync/v1/syncv1grpc"
	syncv1 "buf.build/gen/go/open-feature/flagd/protocolbuffers/go/flagd/sync/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	flagservice "github.com/billpay/portal/internal/flags/service"
)

// Flags is what the sync service needs from the flag service: keys, environments, the current compiled
// environment, and a feed of committed changes.
type Flags interface {
	// ResolveKey maps a key to its environment; "" is the guest key when guest access is on.
	ResolveKey(key string) (flagservice.Key, error)
	// Environments lists the configured environments.
	Environments() []flagservice.EnvironmentInfo
	// Snapshot returns an environment's current flags; Document is its flagd JSON.
	Snapshot(environment string) (*flagservice.Snapshot, error)
	// Subscribe follows committed changes of an environment. The channel closes when the subscriber lags too far
	// behind or the service stops.
	Subscribe(environment string) (<-chan flagservice.Event, func())
}

var _ Flags = (*flagservice.Service)(nil)

// Options configures a Server.
type Options struct {
	Flags Flags
	// Log receives one debug line per stream opened and closed, and warnings; nil discards.
	Log *slog.Logger
}

// Server serves flagd.sync.v1.FlagSyncService. Create it with New, run it with Serve, stop it with Shutdown.
type Server struct {
	syncv1grpc.UnimplementedFlagSyncServiceServer

	flags Flags
	log   *slog.Logger
	grpc  *grpc.Server
	// done ends every open SyncFlags stream; without it a graceful stop would wait for streams that never end.
	done     chan struct{}
	stopOnce sync.Once
}

// New builds a server; nothing listens until Serve.
func New(opts Options) *Server {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{flags: opts.Flags, log: log, done: make(chan struct{})}
	s.grpc = grpc.NewServer(
		// flagd providers ping every 30 s even without a stream (keepalive PermitWithoutStream). gRPC's default
		// policy allows one ping per 5 minutes and answers more with GOAWAY "too_many_pings", which would cut every
		// provider off after a few minutes, so allow them.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// Ping idle connections ourselves, so streams to clients that vanished without closing (a killed pod, a
		// dropped NAT entry) are noticed and their subscriptions released.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
	)
	syncv1grpc.RegisterFlagSyncServiceServer(s.grpc, s)
	return s
}

// Serve accepts connections on ln until Shutdown; it returns nil after Shutdown and the listener's error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	err := s.grpc.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown ends every SyncFlags stream with status OK, lets unary calls in flight finish, and closes the
// listeners. If ctx ends first, remaining connections are closed at once (a client that stopped reading can hold a
// send forever) and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.done) })
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
		return ctx.Err()
	}
}

// ShutdownTimeout is how long Serve gives open streams and calls to end once its context is done.
const ShutdownTimeout = 5 * time.Second

// Serve runs a server on ln until ctx ends, then shuts it down (within ShutdownTimeout). It returns nil after a
// clean stop, for use under an errgroup.
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	s := New(opts)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	select {
	case err := <-served:
		// The listener failed; stop what is still running before reporting it.
		_ = s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := s.Shutdown(stopCtx); err != nil {
		s.log.Warn("flagd sync: streams did not end in time and were closed", "err", err)
	}
	return <-served
}

// SyncFlags sends the environment's configuration now and again after every change, until the client goes away
// or the server shuts down.
func (s *Server) SyncFlags(req *syncv1.SyncFlagsRequest, stream grpc.ServerStreamingServer[syncv1.SyncFlagsResponse]) error {
	ctx := stream.Context()
	//lint:ignore SA1019 flagd daemons (core v0.16 grpc sync) still send the selector only in this field.
	env, err := s.authorize(ctx, req.GetSelector())
	if err != nil {
		return err
	}
	log := s.log.With("environment", env, "provider_id", req.GetProviderId())
	log.Debug("flagd sync: stream opened")
	defer log.Debug("flagd sync: stream closed")

	// Subscribe before reading the snapshot, so a change committed in between is announced rather than lost.
	events, cancel := s.flags.Subscribe(env)
	defer func() { cancel() }()
	var sent int64 = -1
	send := func() error {
		snap, err := s.flags.Snapshot(env)
		if err != nil {
			return statusOf(err)
		}
		// Events can outrun reads (several changes, one reload), so send only what is newer than the last send.
		if snap.Version <= sent {
			return nil
		}
		if err := stream.Send(&syncv1.SyncFlagsResponse{FlagConfiguration: string(snap.Document)}); err != nil {
			return err
		}
		sent = snap.Version
		return nil
	}
	if err := send(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case _, open := <-events:
			if !open {
				// The service dropped us for lagging behind (we resubscribe and send the current state, so nothing
				// is lost) or it is stopping, which happens only as the portal shuts down: then the new
				// subscription is closed at once, and the stream ends as it does on Shutdown.
				cancel()
				events, cancel = s.flags.Subscribe(env)
				if subscriptionClosed(events) {
					return nil
				}
			}
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// subscriptionClosed reports whether a fresh subscription was closed at once, which the service does only once it
// has stopped. An event that is already waiting is put back by re-sending the current state, so it is dropped here.
func subscriptionClosed(events <-chan flagservice.Event) bool {
	select {
	case _, open := <-events:
		return !open
	default:
		return false
	}
}

// FetchAllFlags returns the environment's configuration once.
func (s *Server) FetchAllFlags(ctx context.Context, req *syncv1.FetchAllFlagsRequest) (*syncv1.FetchAllFlagsResponse, error) {
	//lint:ignore SA1019 flagd daemons (core v0.16 grpc sync) still send the selector only in this field.
	env, err := s.authorize(ctx, req.GetSelector())
	if err != nil {
		return nil, err
	}
	snap, err := s.flags.Snapshot(env)
	if err != nil {
		return nil, statusOf(err)
	}
	return &syncv1.FetchAllFlagsResponse{FlagConfiguration: string(snap.Document)}, nil
}

// GetMetadata describes the selected environment: {"environment", "version", "configETag"}, plus "flagSetId" when
// the document's metadata names one.
//
//lint:ignore SA1019 deprecated by flagd in favour of sync_context, but part of the service clients may call.
func (s *Server) GetMetadata(ctx context.Context, _ *syncv1.GetMetadataRequest) (*syncv1.GetMetadataResponse, error) {
	env, err := s.authorize(ctx, "")
	if err != nil {
		return nil, err
	}
	snap, err := s.flags.Snapshot(env)
	if err != nil {
		return nil, statusOf(err)
	}
	fields := map[string]any{"environment": snap.Environment, "version": float64(snap.Version), "configETag": snap.ConfigETag}
	if id, ok := snap.Set.Metadata()["flagSetId"].(string); ok {
		fields["flagSetId"] = id
	}
	md, err := structpb.NewStruct(fields)
	if err != nil {
		return nil, status.Error(codes.Internal, "cannot encode metadata")
	}
	//lint:ignore SA1019 see above.
	return &syncv1.GetMetadataResponse{Metadata: md}, nil
}
