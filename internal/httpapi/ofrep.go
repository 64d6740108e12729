package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
)

// OFREP (the OpenFeature Remote Evaluation Protocol, 0.3.0) under /ofrep/v1. Keys, not Portal tokens,
// authenticate these routes: X-API-Key or Authorization: Bearer carries a client or server key, and the key
// selects the environment. Bodies follow the protocol exactly, including its failure shapes, because both the
// Go and the JavaScript providers reject anything else as malformed.

// ofrepOp marks operations that authenticate with flag keys instead of Portal tokens.
const ofrepOp = "ofrep"

// sseInactivityDelaySec tells web providers how long a hidden page keeps its event stream open.
const sseInactivityDelaySec = 120

type ofrepRequest struct {
	Key           string `path:"key" doc:"The flag key" example:"new-checkout"`
	APIKey        string `header:"X-API-Key" doc:"A client or server key of an environment"`
	Authorization string `header:"Authorization" doc:"Bearer <key>, as an alternative to X-API-Key"`
}

type ofrepBulkRequest struct {
	APIKey         string `header:"X-API-Key" doc:"A client or server key of an environment"`
	Authorization  string `header:"Authorization" doc:"Bearer <key>, as an alternative to X-API-Key"`
	IfNoneMatch    string `header:"If-None-Match" doc:"The ETag of the last bulk response; 304 when nothing changed"`
	FlagConfigETag string `query:"flagConfigEtag" doc:"Set by providers re-fetching after a change event; never answered with 304 while it is not the current configuration"`
	FlagConfigLast string `query:"flagConfigLastModified" doc:"Set by providers re-fetching after a change event"`
}

// ofrepContextDoc documents the request body, which handlers read themselves: OFREP clients send any
// content type, an empty body or a context without targetingKey, and all of those must get OFREP's own
// answers rather than a generic validation error.
type ofrepContextDoc struct {
	Context map[string]any `json:"context" doc:"The evaluation context; targetingKey (a string) is used for fractional rollouts"`
}

// ofrepMaxBody bounds an evaluation request; contexts are small.
const ofrepMaxBody = 64 << 10

func readBody(hc huma.Context) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(hc.BodyReader(), ofrepMaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the request body: %v", err)
	}
	if len(body) > ofrepMaxBody {
		return nil, fmt.Errorf("the request body is larger than %d bytes", ofrepMaxBody)
	}
	return body, nil
}

// ofrepResponses documents OFREP's failure responses; 401 and 429 have no body, 429 a Retry-After in seconds.
func ofrepResponses(api huma.API, op *huma.Operation, bodies map[int]any) {
	describe := map[int]string{
		http.StatusNotModified:     "Nothing changed for this context since the ETag in If-None-Match",
		http.StatusBadRequest:      "The context or a targeting rule failed (errorCode says which)",
		http.StatusNotFound:        "No flag with this key (FLAG_NOT_FOUND)",
		http.StatusUnauthorized:    "Missing or unknown key",
		http.StatusTooManyRequests: "Over the key's rate limit; retry after Retry-After seconds",
	}
	bodies[http.StatusUnauthorized], bodies[http.StatusTooManyRequests] = nil, nil
	for status, body := range bodies {
		resp := &huma.Response{Description: describe[status]}
		if body != nil {
			resp.Content = map[string]*huma.MediaType{"application/json": {
				Schema: huma.SchemaFromType(api.OpenAPI().Components.Schemas, reflect.TypeOf(body))}}
		}
		if status == http.StatusTooManyRequests {
			resp.Headers = map[string]*huma.Param{"Retry-After": {Description: "Seconds to wait", Schema: &huma.Schema{Type: "integer"}}}
		}
		op.Responses[strconv.Itoa(status)] = resp
	}
}

// documentRequest describes a body the handler reads itself. It must run after huma.Register: huma reads and
// validates the body of any operation registered with a JSON request schema.
func documentRequest(api huma.API, method, path string, doc any) {
	item := api.OpenAPI().Paths[path]
	if item == nil {
		return
	}
	var op *huma.Operation
	switch method {
	case http.MethodPost:
		op = item.Post
	case http.MethodPut:
		op = item.Put
	}
	if op == nil {
		return
	}
	op.RequestBody = &huma.RequestBody{Content: map[string]*huma.MediaType{"application/json": {
		Schema: huma.SchemaFromType(api.OpenAPI().Components.Schemas, reflect.TypeOf(doc))}}}
}

// ofrepEvaluation is OFREP's evaluationSuccess or evaluationFailure. Value stays absent (never null) when the
// caller's code default applies, and errorCode never appears on a success.
type ofrepEvaluation struct {
	Key          string         `json:"key"`
	Reason       string         `json:"reason,omitempty" enum:"STATIC,TARGETING_MATCH,SPLIT,DISABLED,DEFAULT,UNKNOWN"`
	Variant      string         `json:"variant,omitempty"`
	Value        any            `json:"value,omitempty" doc:"Absent when the application's code default applies (DISABLED, or no default variant)"`
	ErrorCode    string         `json:"errorCode,omitempty" enum:"FLAG_NOT_FOUND,PARSE_ERROR,TARGETING_KEY_MISSING,INVALID_CONTEXT,GENERAL"`
	ErrorDetails string         `json:"errorDetails,omitempty"`
	Metadata     map[string]any `json:"metadata,omitempty"`
}

type ofrepEventStream struct {
	Type               string             `json:"type" enum:"sse"`
	Endpoint           ofrepEventEndpoint `json:"endpoint"`
	InactivityDelaySec int                `json:"inactivityDelaySec"`
}

type ofrepEventEndpoint struct {
	RequestURI string `json:"requestUri" doc:"Relative to the origin of the OFREP base URL"`
}

type ofrepBulkDoc struct {
	Flags        []ofrepEvaluation  `json:"flags"`
	Metadata     map[string]any     `json:"metadata,omitempty"`
	EventStreams []ofrepEventStream `json:"eventStreams,omitempty"`
}

type ofrepBulkFailure struct {
	ErrorCode    string `json:"errorCode" enum:"INVALID_CONTEXT,PARSE_ERROR,GENERAL"`
	ErrorDetails string `json:"errorDetails,omitempty"`
}

// ofrepOutput writes whatever status and headers the handler decides.
type ofrepOutput struct {
	Body func(huma.Context)
}

func (s *Server) registerOFREP() {
	meta := map[string]any{ofrepOp: true}
	security := []map[string][]string{{"ofrepKey": {}}, {"ofrepBearer": {}}, {}}
	single := huma.Operation{
		OperationID: "ofrepEvaluateFlag", Method: http.MethodPost, Path: "/ofrep/v1/evaluate/flags/{key}",
		Tags: []string{"OFREP"}, Summary: "Evaluate one flag (OFREP)", Metadata: meta, Security: security,
		Description: "Evaluates a flag of the environment the key selects for the context in the body. " +
			"404 with FLAG_NOT_FOUND for an unknown flag, 400 for rule errors, 429 with Retry-After in seconds.",
	}
	documentJSON(s.api, &single, ofrepEvaluation{}, "The evaluation")
	ofrepResponses(s.api, &single, map[int]any{
		http.StatusBadRequest: ofrepEvaluation{}, http.StatusNotFound: ofrepEvaluation{}})
	huma.Register(s.api, single, func(ctx context.Context, in *ofrepRequest) (*ofrepOutput, error) {
		req := *in // huma may reuse the input once the handler returns, before the body is written
		return &ofrepOutput{Body: func(hc huma.Context) { s.ofrepSingle(hc, &req) }}, nil
	})
	documentRequest(s.api, single.Method, single.Path, ofrepContextDoc{})
	bulk := huma.Operation{
		OperationID: "ofrepEvaluateFlags", Method: http.MethodPost, Path: "/ofrep/v1/evaluate/flags",
		Tags: []string{"OFREP"}, Summary: "Evaluate every flag (OFREP)", Metadata: meta, Security: security,
		Description: "Evaluates every flag of the key's environment. The ETag is a hash of the evaluations, so " +
			"If-None-Match answers 304 exactly when this context's results are unchanged. eventStreams names a " +
			"server-sent-events stream that emits refetchEvaluation when a flag of the environment changes.",
	}
	documentJSON(s.api, &bulk, ofrepBulkDoc{}, "Every flag's evaluation")
	ofrepResponses(s.api, &bulk, map[int]any{http.StatusNotModified: nil, http.StatusBadRequest: ofrepBulkFailure{}})
	huma.Register(s.api, bulk, func(ctx context.Context, in *ofrepBulkRequest) (*ofrepOutput, error) {
		req := *in
		return &ofrepOutput{Body: func(hc huma.Context) { s.ofrepBulk(hc, &req) }}, nil
	})
	documentRequest(s.api, bulk.Method, bulk.Path, ofrepContextDoc{})
	events := huma.Operation{
		OperationID: "ofrepEvents", Method: http.MethodGet, Path: "/ofrep/v1/events",
		Tags: []string{"OFREP"}, Summary: "Flag change events (server-sent events)", Metadata: meta,
		Description: "The stream a bulk response's eventStreams points at. Each change to the environment sends " +
			"`event: message` with data {\"type\":\"refetchEvaluation\",\"etag\":...,\"lastModified\":...}.",
	}
	events.Responses = map[string]*huma.Response{"200": {Description: "An event stream",
		Content: map[string]*huma.MediaType{"text/event-stream": {}}}}
	huma.Register(s.api, events, func(ctx context.Context, in *struct {
		Token       string `query:"token" required:"true" doc:"The signed token from eventStreams"`
		LastEventID string `header:"Last-Event-ID"`
	}) (*ofrepOutput, error) {
		token, last := in.Token, in.LastEventID
		return &ofrepOutput{Body: func(hc huma.Context) { s.ofrepEvents(hc, token, last) }}, nil
	})
	s.api.OpenAPI().Components.SecuritySchemes["ofrepKey"] = &huma.SecurityScheme{
		Type: "apiKey", In: "header", Name: "X-API-Key", Description: "A flag environment's client or server key (flags.environments in portal.yaml)."}
	s.api.OpenAPI().Components.SecuritySchemes["ofrepBearer"] = &huma.SecurityScheme{
		Type: "http", Scheme: "bearer", Description: "A flag environment's key sent as a bearer token."}
}

// ofrepCORS lets browser apps on other origins call OFREP with keys in headers (the header list forces a
// preflight) and read the ETag and Retry-After they need; without exposing them the web provider never sees
// its ETag. Keys are not cookies, so any origin may call.
func ofrepCORS(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag, Retry-After")
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-API-Key, If-None-Match, Last-Event-ID")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func presentedKey(apiKey, authorization string) string {
	if apiKey != "" {
		return strings.TrimSpace(apiKey)
	}
	if scheme, token, ok := strings.Cut(authorization, " "); ok && strings.EqualFold(scheme, "bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// ofrepAuthorize resolves the key and applies its rate limit, answering 401 or 429 itself. The protocol
// defines no body for either; the web provider treats 401/403 at start-up as fatal, as a bad key is.
func (s *Server) ofrepAuthorize(hc huma.Context, apiKey, authorization string) (flagservice.Key, bool) {
	key, err := s.opts.Flags.ResolveKey(presentedKey(apiKey, authorization))
	if err != nil {
		hc.SetHeader("WWW-Authenticate", `Bearer realm="ofrep"`)
		hc.SetStatus(http.StatusUnauthorized)
		return key, false
	}
	if ok, wait := s.opts.Flags.Allow(key, remoteHost(hc.RemoteAddr())); !ok {
		// Whole seconds: the JavaScript provider parses the header with parseInt, so a date would be misread.
		hc.SetHeader("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
		hc.SetStatus(http.StatusTooManyRequests)
		return key, false
	}
	return key, true
}

func remoteHost(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i > 0 {
		return addr[:i]
	}
	return addr
}

// decodeContext reads {"context": {...}}. An empty body is an empty context, as flagd allows; a context without
// targetingKey is fine, and only rules that need one fail.
func decodeContext(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	var req struct {
		Context json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("the request body is not a JSON object: %v", err)
	}
	if len(req.Context) == 0 || string(req.Context) == "null" {
		return map[string]any{}, nil
	}
	var ctx map[string]any
	if err := json.Unmarshal(req.Context, &ctx); err != nil {
		return nil, errors.New("context must be a JSON object")
	}
	if tk, ok := ctx["targetingKey"]; ok && tk != nil {
		if _, isString := tk.(string); !isString {
			return nil, errors.New("context.targetingKey must be a string")
		}
	}
	return ctx, nil
}

func toOFREP(r flags.Result) ofrepEvaluation {
	if r.ErrorCode != "" {
		return ofrepEvaluation{Key: r.Key, ErrorCode: string(r.ErrorCode), ErrorDetails: r.ErrorDetails, Metadata: r.Metadata}
	}
	return ofrepEvaluation{Key: r.Key, Reason: string(r.Reason), Variant: r.Variant, Value: r.Value, Metadata: r.Metadata}
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func writeOFREP(hc huma.Context, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	hc.SetHeader("Content-Type", "application/json")
	hc.SetStatus(status)
	_, _ = hc.BodyWriter().Write(buf.Bytes())
	bufPool.Put(buf)
}

func (s *Server) ofrepSingle(hc huma.Context, in *ofrepRequest) {
	key, ok := s.ofrepAuthorize(hc, in.APIKey, in.Authorization)
	if !ok {
		return
	}
	body, err := readBody(hc)
	if err == nil {
		var evalCtx map[string]any
		evalCtx, err = decodeContext(body)
		if err == nil {
			s.ofrepEvaluateOne(hc, key, in.Key, evalCtx)
			return
		}
	}
	writeOFREP(hc, http.StatusBadRequest, ofrepEvaluation{Key: in.Key, ErrorCode: "INVALID_CONTEXT", ErrorDetails: err.Error()})
}

func (s *Server) ofrepEvaluateOne(hc huma.Context, key flagservice.Key, flagKey string, evalCtx map[string]any) {
	snap, err := s.opts.Flags.Snapshot(key.Environment)
	if err != nil {
		writeOFREP(hc, http.StatusInternalServerError, map[string]string{"errorDetails": errs.MessageOf(err)})
		return
	}
	res := toOFREP(snap.Set.Evaluate(flagKey, evalCtx))
	switch res.ErrorCode {
	case "":
		writeOFREP(hc, http.StatusOK, res)
	case string(flags.ErrFlagNotFound):
		writeOFREP(hc, http.StatusNotFound, res)
	default:
		writeOFREP(hc, http.StatusBadRequest, res)
	}
}

func (s *Server) ofrepBulk(hc huma.Context, in *ofrepBulkRequest) {
	key, ok := s.ofrepAuthorize(hc, in.APIKey, in.Authorization)
	if !ok {
		return
	}
	body, err := readBody(hc)
	var evalCtx map[string]any
	if err == nil {
		evalCtx, err = decodeContext(body)
	}
	if err != nil {
		writeOFREP(hc, http.StatusBadRequest, ofrepBulkFailure{ErrorCode: "INVALID_CONTEXT", ErrorDetails: err.Error()})
		return
	}
	snap, err := s.opts.Flags.Snapshot(key.Environment)
	if err != nil {
		writeOFREP(hc, http.StatusInternalServerError, map[string]string{"errorDetails": errs.MessageOf(err)})
		return
	}
	// A change event told the client of a configuration this replica may not have loaded yet: catch up first.
	changeDriven := in.FlagConfigETag != "" && in.FlagConfigETag != snap.ConfigETag
	if changeDriven {
		if fresh, err := s.opts.Flags.Refresh(hc.Context(), key.Environment); err == nil {
			snap = fresh
		}
	}
	results := snap.Set.EvaluateAll(evalCtx)
	doc := ofrepBulkDoc{Flags: make([]ofrepEvaluation, len(results)), Metadata: snap.Set.Metadata()}
	for i, r := range results {
		doc.Flags[i] = toOFREP(r)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(doc)
	// The ETag covers the evaluations and metadata, not the stream URL, whose token is renewed over time: a
	// context whose results did not change gets its 304 even across a token renewal.
	sum := sha256.Sum256(buf.Bytes())
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	hc.SetHeader("ETag", etag)
	// Protocol rule: a re-fetch that a change event asked for is never downgraded to 304.
	if in.IfNoneMatch != "" && !changeDriven && flagservice.ETagMatches(in.IfNoneMatch, etag) {
		hc.SetStatus(http.StatusNotModified)
		return
	}
	doc.EventStreams = []ofrepEventStream{{Type: "sse", InactivityDelaySec: sseInactivityDelaySec,
		Endpoint: ofrepEventEndpoint{RequestURI: "/ofrep/v1/events?token=" + url.QueryEscape(s.opts.Flags.StreamToken(key))}}}
	writeOFREP(hc, http.StatusOK, doc)
}

// sseKeepAlive is shorter than the idle timeouts of common proxies and load balancers (60 s on an ALB).
const sseKeepAlive = 25 * time.Second

func (s *Server) ofrepEvents(hc huma.Context, token, lastEventID string) {
	env, err := s.opts.Flags.VerifyStreamToken(token)
	if err != nil {
		// A plain 401 makes EventSource give up; the web provider then re-fetches, which renews the token.
		hc.SetStatus(http.StatusUnauthorized)
		return
	}
	events, cancel := s.opts.Flags.Subscribe(env)
	defer cancel()
	snap, err := s.opts.Flags.Snapshot(env)
	if err != nil {
		hc.SetStatus(http.StatusServiceUnavailable)
		return
	}
	w := startSSE(hc)
	send := func(version int64, etag string, at time.Time) bool {
		data, _ := json.Marshal(map[string]any{"type": "refetchEvaluation", "etag": etag, "lastModified": at.Unix()})
		fmt.Fprintf(w, "id: %d\nevent: message\ndata: %s\n\n", version, data)
		return w.Flush() == nil
	}
	// A client reconnecting after missing changes is told at once.
	if last, err := strconv.ParseInt(lastEventID, 10, 64); err == nil && last < snap.Version {
		if !send(snap.Version, snap.ConfigETag, snap.Stored.UpdatedAt) {
			return
		}
	}
	s.pumpSSE(hc.Context(), w, events, func(ev flagservice.Event) bool {
		at := time.Now()
		if n := len(ev.Entries); n > 0 {
			at = ev.Entries[n-1].At
		}
		return send(ev.Version, ev.ConfigETag, at)
	})
}

// sseWriter flushes each event through to the client.
type sseWriter struct {
	*bufio.Writer
	flush func()
}

func (w *sseWriter) Flush() error {
	if err := w.Writer.Flush(); err != nil {
		return err
	}
	w.flush()
	return nil
}

func startSSE(hc huma.Context) *sseWriter {
	hc.SetHeader("Content-Type", "text/event-stream")
	hc.SetHeader("Cache-Control", "no-cache")
	// Proxies such as nginx would otherwise buffer the stream.
	hc.SetHeader("X-Accel-Buffering", "no")
	hc.SetStatus(http.StatusOK)
	bw := hc.BodyWriter()
	flush := func() {}
	if f, ok := bw.(http.Flusher); ok {
		flush = f.Flush
	}
	w := &sseWriter{Writer: bufio.NewWriter(bw), flush: flush}
	// retry: how long EventSource waits before reconnecting; a comment opens the stream through proxies.
	_, _ = w.WriteString("retry: 3000\n: connected\n\n")
	_ = w.Flush()
	return w
}

// pumpSSE forwards events until the client leaves, the subscription ends or the server shuts down.
func (s *Server) pumpSSE(ctx context.Context, w *sseWriter, events <-chan flagservice.Event, send func(flagservice.Event) bool) {
	ping := time.NewTicker(sseKeepAlive)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.streams.Done():
			return
		case ev, ok := <-events:
			if !ok || !send(ev) {
				return
			}
		case <-ping.C:
			if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
				return
			}
		}
	}
}
