// Package httpapi is Portal's HTTP surface: huma v2 operations (documented in the OpenAPI 3.1
// description), Backstage-compatible error bodies on Backstage routes, authentication, metrics and
// health. It talks to domain services only, never to storage or SDK adapters.
package httpapi

import (
	"context"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/errs"
	flagservice "github.com/billpay/portal/internal/flags/service"
	"github.com/billpay/portal/internal/ratelimit"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/search"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

// Options are the parts the HTTP layer serves.
type Options struct {
	Version string
	Catalog *service.Service
	Auth    *auth.Authenticator
	// Flags serves /api/flags and OFREP under /ofrep/v1; nil leaves them out.
	Flags *flagservice.Service
	// Deploy serves /api/deploy and /api/kubernetes; nil leaves them out.
	Deploy *DeployOptions
	// Scaffolder serves /api/scaffolder; nil leaves it out.
	Scaffolder *scaffolder.Service
	// Audit records every mutation; nil records nothing.
	Audit audit.Store
	// SignIn runs people's GitHub sign-in; nil when no OAuth app is configured.
	SignIn *auth.SignInFlow
	// BaseURL is how people reach the portal; an https URL makes cookies Secure.
	BaseURL string
	// MutationsPerSecond and MutationBurst limit each principal's changes; FailedAuthPerMinute limits
	// failed authentications per client address. 0 turns a limit off.
	MutationsPerSecond  float64
	MutationBurst       int
	FailedAuthPerMinute float64
	Ready               func(ctx context.Context) error
	Registry            *prometheus.Registry
	Gatherer            prometheus.Gatherer
	MaxBodyBytes        int64
	Log                 *slog.Logger
	// GitHubWebhook handles GitHub push deliveries; nil when no webhook secret is configured.
	GitHubWebhook WebhookFunc
	// Web serves the portal's pages at WebPaths, beside the API; nil leaves them out.
	Web http.Handler
	// AllowedHosts, when set, are the only Host headers served. With guest access on a loopback
	// address it stops DNS rebinding: a web page whose name resolves to 127.0.0.1 would otherwise
	// act as the guest.
	AllowedHosts []string
	// TechDocs serves /api/techdocs; nil leaves it out.
	TechDocs *tdservice.Service
	// Search serves /api/search/query; nil leaves it out.
	Search *search.Service
}

// WebPaths are where the portal's pages live, at Backstage's URLs: the home page, the catalog and entity pages,
// docs, create, flags, deploys, settings and the pages' static assets. Paths ending in "/" are subtrees.
var WebPaths = []string{"/{$}", "/catalog", "/catalog/", "/docs", "/docs/", "/create", "/create/", "/flags", "/flags/",
	"/deploys", "/deploys/", "/settings", "/settings/", "/static/"}

// Server holds the routes.
type Server struct {
	opts      Options
	mux       *http.ServeMux
	api       huma.API
	metrics   *httpMetrics
	mutations *ratelimit.Keyed
	failures  *ratelimit.Keyed
	// streams ends long-lived event streams when the server shuts down, which would otherwise wait for them.
	streams     context.Context
	stopStreams context.CancelFunc
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func init() { installErrorModel() }

// New registers every route.
func New(opts Options) *Server {
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("Portal API", opts.Version)
	cfg.Info.Description = "BillPay's internal developer platform: the software catalog (Backstage-compatible), " +
		"TechDocs, the scaffolder, feature flags (OpenFeature/OFREP) and deployments."
	cfg.OpenAPIPath = "/api/openapi"
	cfg.DocsPath = "/api/docs"
	cfg.SchemasPath = "/api/schemas"
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "A static token from auth.tokens in portal.yaml."},
	}
	// The $schema link huma adds to bodies would be a foreign root field on entities.
	cfg.CreateHooks = nil
	api := humago.New(mux, cfg)
	s := &Server{opts: opts, mux: mux, api: api}
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	s.mutations = ratelimit.New(opts.MutationsPerSecond, opts.MutationBurst, nil)
	s.failures = ratelimit.New(opts.FailedAuthPerMinute/60, int(math.Max(1, opts.FailedAuthPerMinute)), nil)
	s.metrics = &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portal_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portal_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(s.metrics.requests, s.metrics.latency)
	}
	if s.opts.MaxBodyBytes <= 0 {
		s.opts.MaxBodyBytes = 4 << 20
	}
	api.UseMiddleware(s.requestInfo, s.authenticate, s.authorize, s.requireJSON)
	s.registerHealth()
	s.registerIdentity()
	if opts.Web != nil {
		for _, p := range WebPaths {
			mux.Handle(p, opts.Web)
		}
	}
	if opts.Catalog != nil {
		s.registerCatalog()
	}
	if opts.GitHubWebhook != nil {
		s.registerWebhook()
	}
	if opts.Flags != nil {
		s.registerFlags()
		s.registerOFREP()
	}
	if opts.TechDocs != nil {
		s.registerTechDocs()
	}
	if opts.Search != nil {
		s.registerSearch()
	}
	if opts.Deploy != nil && opts.Deploy.Service != nil {
		s.registerDeploy()
		s.registerKubernetes()
	}
	if opts.Scaffolder != nil {
		s.registerScaffolder()
	}
	return s
}

// CloseStreams ends every open event stream; call it before shutting the HTTP server down.
func (s *Server) CloseStreams() { s.stopStreams() }

// API exposes the huma API, for tests and the OpenAPI export.
func (s *Server) API() huma.API { return s.api }

// Handler returns the root handler with body limits, metrics and panic recovery.
func (s *Server) Handler() http.Handler {
	limit := s.opts.MaxBodyBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		if r.Body != nil {
			// A backstop for routes outside huma; huma operations enforce the same limit themselves
			// and answer 413 in the route family's error format.
			r.Body = http.MaxBytesReader(rec, r.Body, limit+1)
		}
		defer func() {
			if p := recover(); p != nil {
				s.opts.Log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
				if !rec.wrote {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			} else if _, pattern, ok := strings.Cut(route, " "); ok {
				route = pattern
			}
			s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.code)).Inc()
			s.metrics.latency.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
			s.opts.Log.Debug("request", "method", r.Method, "route", route, "code", rec.code, "duration", time.Since(start))
		}()
		if !s.hostAllowed(r.Host) {
			http.Error(rec, "unknown host: use an address this portal is configured for (baseUrl)", http.StatusMisdirectedRequest)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/ofrep/") {
			if ofrepCORS(rec, r) {
				return
			}
			// flagd accepts the bulk path with a trailing slash; so do clients built against it.
			if r.URL.Path == "/ofrep/v1/evaluate/flags/" {
				r.URL.Path = "/ofrep/v1/evaluate/flags"
			}
		}
		s.mux.ServeHTTP(rec, r)
	})
}

func (s *Server) hostAllowed(hostport string) bool {
	if len(s.opts.AllowedHosts) == 0 {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(strings.ToLower(host), "[]")
	for _, allowed := range s.opts.AllowedHosts {
		if strings.EqualFold(allowed, host) {
			return true
		}
	}
	return false
}

// requireJSON refuses bodies that are not declared JSON on Backstage routes, as Backstage does;
// it also means a browser cannot post to them from another site without a CORS preflight.
func (s *Server) requireJSON(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	method := ctx.Method()
	if op == nil || op.RequestBody == nil || (method != http.MethodPost && method != http.MethodPut) ||
		!isBackstagePath(ctx.URL().Path) || op.Metadata[signedOp] == true {
		next(ctx)
		return
	}
	ct := ctx.Header("Content-Type")
	if ct == "" {
		writeHumaErr(s.api, ctx, http.StatusBadRequest, "Content-Type missing")
		return
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		writeHumaErr(s.api, ctx, http.StatusBadRequest, "Illegal Content-Type")
		return
	}
	next(ctx)
}

func writeHumaErr(api huma.API, ctx huma.Context, status int, msg string) {
	se := huma.NewErrorWithContext(ctx, status, msg)
	_ = huma.WriteErr(api, ctx, se.GetStatus(), se.Error())
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// requestInfo keeps method and URL for Backstage's error body, and the client address for handlers.
func (s *Server) requestInfo(ctx huma.Context, next func(huma.Context)) {
	u := ctx.URL()
	ctx = huma.WithValue(ctx, remoteAddrKey{}, remoteHost(ctx.RemoteAddr()))
	next(huma.WithValue(ctx, requestInfoKey{}, backstageRequest{Method: ctx.Method(), URL: redactedURI(u)}))
}

// sensitiveParams are query parameters whose values error bodies never repeat: a token pasted into a URL by
// mistake must not come back in a message that ends up in a ticket or a screenshot.
var sensitiveParams = []string{"token", "key", "secret", "password", "code", "state", "auth", "signature"}

func redactedURI(u url.URL) string {
	q := u.Query()
	changed := false
	for name, values := range q {
		lower := strings.ToLower(name)
		for _, s := range sensitiveParams {
			if strings.Contains(lower, s) {
				for i := range values {
					values[i] = "REDACTED"
				}
				changed = true
				break
			}
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.RequestURI()
}

type remoteAddrKey struct{}

func remoteAddrFrom(ctx context.Context) string {
	addr, _ := ctx.Value(remoteAddrKey{}).(string)
	return addr
}

type principalKey struct{}

// publicOp marks operations that need no credentials (health, metrics); signedOp those that
// authenticate the request by its own signature (webhooks).
const (
	publicOp = "public"
	signedOp = "signed"
)

// authenticate resolves the caller of every /api operation; guest access stands in for a missing
// token only when config enables it.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if op := ctx.Operation(); op != nil && (op.Metadata[publicOp] == true || op.Metadata[signedOp] == true || op.Metadata[ofrepOp] == true) {
		next(ctx)
		return
	}
	key := failedAuthKey(ctx)
	if blocked, wait := s.failures.Exhausted(key); blocked {
		retryAfter(ctx, wait)
		s.writeStatus(ctx, http.StatusTooManyRequests, "too many failed sign-in attempts from this address; try again later")
		return
	}
	p, err := s.opts.Auth.AuthenticateRequest(ctx.Context(), auth.Credentials{
		Authorization: ctx.Header("Authorization"), Session: sessionCookieValue(ctx), BackstageRoute: isBackstagePath(ctx.URL().Path)})
	if err != nil {
		if errs.Is(err, errs.Unauthenticated) && ctx.Header("Authorization") != "" {
			s.failures.Allow(key)
		}
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="portal"`)
		var status huma.StatusError
		if isBackstagePath(ctx.URL().Path) {
			status = huma.NewErrorWithContext(ctx, http.StatusUnauthorized, errs.MessageOf(err))
		} else {
			status = huma.Error401Unauthorized(errs.MessageOf(err))
		}
		_ = huma.WriteErr(s.api, ctx, status.GetStatus(), status.Error())
		return
	}
	next(huma.WithValue(ctx, principalKey{}, p))
}

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func (s *Server) registerHealth() {
	public := map[string]any{publicOp: true}
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"Health"},
		Summary: "Liveness: the process is serving", Metadata: public,
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "ok"
		return out, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"Health"},
		Summary: "Readiness: database reachable, migrations done, catalog loaded", Metadata: public,
		Errors: []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		if s.opts.Ready != nil {
			if err := s.opts.Ready(ctx); err != nil {
				return nil, huma.Error503ServiceUnavailable(errs.MessageOf(err))
			}
		}
		out := &healthOutput{}
		out.Body.Status = "ready"
		return out, nil
	})
	gatherer := s.opts.Gatherer
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
}
