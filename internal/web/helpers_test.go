package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/service"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/flags"
	flagservice "github.com/billpay/portal/internal/flags/service"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/memstore"
	"github.com/billpay/portal/internal/web"
)

// feed serves stitched entities to the catalog service as its change feed, as the store does.
type feed struct{ changes []service.Change }

func (f *feed) ChangesSince(_ context.Context, version int64, limit int) ([]service.Change, error) {
	var out []service.Change
	for _, c := range f.changes {
		if c.Version > version && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *feed) CatalogVersion(context.Context) (int64, int64, error) {
	return int64(len(f.changes)), 0, nil
}

// catalogStore answers the two storage calls the pages make (ancestry and refresh); any other call panics, which
// is how a test notices a page reaching for more than it should.
type catalogStore struct {
	service.Store
	mu        sync.Mutex
	parents   map[string][]string
	refreshed []string
}

func (s *catalogStore) EntityParents(_ context.Context, ref string) ([]string, error) {
	return s.parents[ref], nil
}

func (s *catalogStore) ScheduleRefresh(_ context.Context, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshed = append(s.refreshed, ref)
	return nil
}

// stitched is one entity to put in the test catalog, with the processing errors it carries.
type stitched struct {
	entity catalog.Entity
	errors []catalog.StatusItem
}

// mustStitch runs the catalog's own relation and stitching code over entities, so the pages read what a real
// catalog serves.
func mustStitch(t testing.TB, entities []stitched) [][]byte {
	t.Helper()
	rels := map[string][]catalog.Relation{}
	for _, s := range entities {
		edges, err := catalog.Relations(s.entity)
		require.NoError(t, err)
		for _, e := range edges {
			src := e.Source.String()
			rels[src] = append(rels[src], catalog.Relation{Type: e.Type, TargetRef: e.Target.String()})
		}
	}
	out := make([][]byte, 0, len(entities))
	for i, s := range entities {
		raw, _, err := catalog.Stitch(catalog.StitchInput{UID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Processed: s.entity,
			Relations: rels[s.entity.Ref().String()], Errors: s.errors, OmitLegacyTarget: true})
		require.NoError(t, err)
		out = append(out, raw)
	}
	return out
}

func mustCatalog(t testing.TB, raws [][]byte, store *catalogStore) *service.Service {
	t.Helper()
	f := &feed{}
	for i, raw := range raws {
		f.changes = append(f.changes, service.Change{UID: fmt.Sprint(i), Raw: raw, Version: int64(i + 1)})
	}
	svc := service.New(store, f, nil, nil, slog.New(slog.DiscardHandler), service.Options{})
	require.NoError(t, svc.Sync(context.Background()))
	return svc
}

func entity(kind, name string, metadata, spec map[string]any) catalog.Entity {
	md := map[string]any{"name": name, "namespace": "default"}
	for k, v := range metadata {
		md[k] = v
	}
	apiVersion := "backstage.io/v1alpha1"
	if kind == "Template" {
		apiVersion = catalog.APIVersionTemplate
	}
	e := catalog.Entity{"apiVersion": apiVersion, "kind": kind, "metadata": md}
	if spec != nil {
		e["spec"] = spec
	}
	return e
}

// hostile is text that would run as script if a page ever printed it unescaped.
const hostile = `<script>alert("pwned")</script>`

const paymentsOpenAPI = `openapi: 3.0.3
info:
  title: Payments API
  version: 1.4.0
  description: Create, read and refund payments.
servers:
  - url: https://api.billpay.example.com/payments
tags:
  - name: payments
    description: Payments and their status
paths:
  /payments:
    post:
      tags: [payments]
      summary: Create a payment
      operationId: createPayment
      parameters:
        - $ref: '#/components/parameters/IdempotencyKey'
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/NewPayment'
      responses:
        201:
          description: The payment was created
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Payment'
        400:
          description: The request is invalid
  /payments/{paymentId}:
    parameters:
      - name: paymentId
        in: path
        required: true
        description: The payment's id
        schema:
          type: string
          format: uuid
    get:
      tags: [payments]
      summary: Get a payment
      operationId: getPayment
      responses:
        "200":
          description: The payment
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Payment'
        "404":
          description: No such payment
components:
  parameters:
    IdempotencyKey:
      name: Idempotency-Key
      in: header
      required: true
      schema:
        type: string
  schemas:
    NewPayment:
      type: object
      required: [amount, currency]
      properties:
        amount:
          type: integer
          format: int64
          description: Minor units
        currency:
          type: string
          enum: [EUR, USD]
    Payment:
      allOf:
        - $ref: '#/components/schemas/NewPayment'
        - type: object
          properties:
            id:
              type: string
              readOnly: true
            status:
              type: string
              enum: [pending, authorised, refunded]
            refunds:
              type: array
              items:
                $ref: '#/components/schemas/Refund'
    Refund:
      type: object
      properties:
        amount:
          type: integer
`

// billpay is a small BillPay catalog: teams, a person, a system, two components, APIs, a resource, a location that
// failed, and an entity whose every free-text field is hostile.
func billpay() []stitched {
	return []stitched{
		{entity: entity("Group", "payments-team", map[string]any{"title": "Payments team"}, map[string]any{"type": "team", "children": []any{}, "parent": "engineering"})},
		{entity: entity("Group", "admin-team", nil, map[string]any{"type": "team", "children": []any{}, "parent": "engineering"})},
		{entity: entity("Group", "engineering", nil, map[string]any{"type": "department", "children": []any{}})},
		{entity: entity("User", "lucia.fernandez", nil, map[string]any{"memberOf": []any{"payments-team"},
			"profile": map[string]any{"displayName": "Lucía Fernández", "email": "lucia@billpay.example"}})},
		{entity: entity("User", "omar.haddad", nil, map[string]any{"memberOf": []any{"admin-team"}})},
		{entity: entity("Domain", "money", nil, map[string]any{"owner": "group:payments-team"})},
		{entity: entity("System", "payments", map[string]any{"description": "Everything that moves money."},
			map[string]any{"owner": "group:payments-team", "domain": "money"})},
		{entity: entity("Component", "payment-service", map[string]any{
			"title":       "Payment Service",
			"description": "Core payment processing: creates and authorises payments.",
			"tags":        []any{"java", "spring-boot"},
			"links":       []any{map[string]any{"url": "https://grafana.billpay.example.com/d/payment-service", "title": "Service dashboard", "icon": "dashboard"}},
			"annotations": map[string]any{"backstage.io/techdocs-ref": "dir:.", "backstage.io/kubernetes-id": "payment-service",
				"github.com/project-slug": "billpay/payment-service"},
		}, map[string]any{"type": "service", "lifecycle": "production", "owner": "group:payments-team", "system": "payments",
			"providesApis": []any{"payments-api"}, "consumesApis": []any{"users-api"}, "dependsOn": []any{"resource:payments-db"}})},
		{entity: entity("Component", "payment-app", map[string]any{"description": "The checkout front end."},
			map[string]any{"type": "website", "lifecycle": "experimental", "owner": "group:payments-team", "system": "payments",
				"consumesApis": []any{"payments-api"}})},
		{entity: entity("Component", "admin-panel", nil, map[string]any{"type": "website", "lifecycle": "production", "owner": "group:admin-team"})},
		{entity: entity("API", "payments-api", map[string]any{"title": "Payments API", "description": "REST API of the Payment Service."},
			map[string]any{"type": "openapi", "lifecycle": "production", "owner": "group:payments-team", "system": "payments", "definition": paymentsOpenAPI})},
		{entity: entity("API", "users-api", nil, map[string]any{"type": "graphql", "lifecycle": "production", "owner": "group:admin-team",
			"definition": "type Query { user(id: ID!): User }"})},
		{entity: entity("Resource", "payments-db", nil, map[string]any{"type": "database", "owner": "group:payments-team", "system": "payments"})},
		{entity: entity("Component", "evil-service", map[string]any{
			"title":       `<img src=x onerror=alert(1)>`,
			"description": hostile,
			"tags":        []any{"x-script"},
			"links":       []any{map[string]any{"url": "javascript:alert(1)", "title": hostile}},
			"annotations": map[string]any{"example.com/note": `"><script>alert(2)</script>`},
			"labels":      map[string]any{"tier": "one"},
		}, map[string]any{"type": hostile, "lifecycle": "production", "owner": "group:admin-team"}),
			errors: []catalog.StatusItem{catalog.ErrorItem("InputError", "spec.owner: "+hostile)}},
		{entity: entity("Template", "go-service", map[string]any{"title": "Go service", "description": "A Go HTTP service with CI and a Helm chart."},
			map[string]any{"type": "service", "owner": "group:platform-team", "parameters": []any{}, "steps": []any{}})},
		{entity: helloTemplate("hello-service", "Hello service", "")},
		{entity: helloTemplate("platform-only", "Platform-only service", "owners")},
		{entity: entity("Location", "broken-location", nil, map[string]any{"type": "url", "target": "https://github.com/billpay/missing/catalog-info.yaml"}),
			errors: []catalog.StatusItem{catalog.ErrorItem("NotFoundError", "https://github.com/billpay/missing/catalog-info.yaml could not be read")}},
	}
}

// helloTemplate is a template whose form uses every kind of field the wizard draws and whose step only logs, so
// a task runs to the end anywhere.
func helloTemplate(name, title, runPolicy string) catalog.Entity {
	md := map[string]any{"title": title, "description": "A service that says **hello**.",
		"annotations": map[string]any{catalog.AnnotationManagedByLocation: "file:/srv/templates/" + name + "/template.yaml"}}
	if runPolicy != "" {
		md["annotations"].(map[string]any)["portal.billpay.io/run-policy"] = runPolicy
	}
	return entity("Template", name, md, map[string]any{
		"type": "service", "owner": "group:platform-team",
		"parameters": []any{
			map[string]any{"title": "About the service", "required": []any{"name", "owner"}, "properties": map[string]any{
				"name":        map[string]any{"type": "string", "title": "Name", "description": "Lowercase letters, digits and dashes", "pattern": "^[a-z][a-z0-9-]*$", "ui:autofocus": true},
				"owner":       map[string]any{"type": "string", "title": "Owner", "ui:field": "OwnerPicker", "ui:options": map[string]any{"catalogFilter": map[string]any{"kind": "Group"}}},
				"description": map[string]any{"type": "string", "title": "Description", "ui:widget": "textarea"},
			}},
			map[string]any{"title": "How it runs", "properties": map[string]any{
				"language": map[string]any{"type": "string", "title": "Language", "enum": []any{"go", "java"}, "enumNames": []any{"Go", "Java"}, "default": "go"},
				"replicas": map[string]any{"type": "integer", "title": "Replicas", "minimum": 1, "maximum": 10, "default": 2},
				"public":   map[string]any{"type": "boolean", "title": "Reachable from the internet"},
				"tags":     map[string]any{"type": "array", "title": "Tags", "items": map[string]any{"type": "string"}},
				"features": map[string]any{"type": "array", "title": "Features", "items": map[string]any{"type": "string", "enum": []any{"metrics", "tracing"}}},
				"settings": map[string]any{"type": "object", "title": "Extra settings"},
			}},
		},
		"steps": []any{
			map[string]any{"id": "greet", "name": "Say hello", "action": "debug:log", "input": map[string]any{"message": "hello ${{ parameters.name }} in ${{ parameters.language }} x${{ parameters.replicas }}"}},
		},
		"output": map[string]any{
			"links": []any{map[string]any{"title": "Open in catalog", "entityRef": "component:default/${{ parameters.name }}"}},
			"text":  []any{map[string]any{"title": "Next", "content": "Push to **main** to deploy."}},
		},
	})
}

// billpayFlags is dev's flag set: one flag of payments-team's, one of admin-team's, one with a hostile description.
const billpayFlags = `{
  "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@billpay.example"]}},
  "flags": {
    "new-checkout-flow": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "off",
      "targeting": {"if": [{"$ref": "staff"}, "on", "off"]},
      "metadata": {"owner": "group:default/payments-team", "description": "The redesigned checkout"}
    },
    "refunds-enabled": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "on",
      "metadata": {"owner": "group:default/admin-team"}
    },
    "payment-history-page-size": {
      "state": "DISABLED",
      "variants": {"small": 10, "large": 50},
      "defaultVariant": "small",
      "metadata": {"owner": "component:default/payment-service", "description": "<script>alert(3)</script>"}
    }
  }
}`

// memFlags is flags.Repository in memory, for page tests; the store's own suite covers the real databases.
type memFlags struct {
	mu       sync.Mutex
	envs     map[string]*flags.StoredEnvironment
	audit    []flags.AuditEntry
	settings map[string]string
}

var _ flags.Repository = (*memFlags)(nil)

func (m *memFlags) EnsureEnvironments(_ context.Context, names []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.envs == nil {
		m.envs, m.settings = map[string]*flags.StoredEnvironment{}, map[string]string{}
	}
	for _, n := range names {
		if m.envs[n] == nil {
			m.envs[n] = &flags.StoredEnvironment{Name: n, Evaluators: json.RawMessage("{}"), Metadata: json.RawMessage("{}")}
		}
	}
	return nil
}

func (m *memFlags) EnvironmentVersions(context.Context) (map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{}
	for n, e := range m.envs {
		out[n] = e.Version
	}
	return out, nil
}

func (m *memFlags) LoadEnvironment(_ context.Context, name string) (flags.StoredEnvironment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.envs[name]
	if !ok {
		return flags.StoredEnvironment{}, errs.E(errs.NotFound, "no environment %s", name)
	}
	out := *e
	out.Flags = slices.Clone(e.Flags)
	return out, nil
}

func (m *memFlags) Apply(ctx context.Context, name string, plan func(flags.StoredEnvironment) (*flags.Mutation, error)) (flags.StoredEnvironment, error) {
	cur, err := m.LoadEnvironment(ctx, name)
	if err != nil {
		return cur, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mut, err := plan(cur)
	if err != nil || mut == nil || mut.Empty() {
		return cur, err
	}
	e := m.envs[name]
	e.Version++
	now := time.Now().UTC()
	record := func(key string, action flags.Action, before, after json.RawMessage) {
		m.audit = append(m.audit, flags.AuditEntry{ID: int64(len(m.audit) + 1), Environment: name, Version: e.Version, FlagKey: key,
			Action: action, Actor: mut.Actor, At: now, Before: before, After: after})
	}
	for _, key := range sortedKeys(mut.Put) {
		p := mut.Put[key]
		f := flags.StoredFlag{Environment: name, Key: key, Definition: p.Definition, Owner: p.Owner, Revision: e.Version,
			CreatedAt: now, UpdatedAt: now, UpdatedBy: mut.Actor}
		i := slices.IndexFunc(e.Flags, func(x flags.StoredFlag) bool { return x.Key == key })
		if i >= 0 {
			f.CreatedAt = e.Flags[i].CreatedAt
			record(key, p.Action, e.Flags[i].Definition, p.Definition)
			e.Flags[i] = f
		} else {
			record(key, p.Action, nil, p.Definition)
			e.Flags = append(e.Flags, f)
		}
	}
	for _, key := range sortedKeys(mut.Delete) {
		if i := slices.IndexFunc(e.Flags, func(x flags.StoredFlag) bool { return x.Key == key }); i >= 0 {
			record(key, mut.Delete[key], e.Flags[i].Definition, nil)
			e.Flags = slices.Delete(e.Flags, i, i+1)
		}
	}
	if mut.Evaluators != nil {
		e.Evaluators = mut.Evaluators
	}
	if mut.Metadata != nil {
		e.Metadata = mut.Metadata
	}
	sort.Slice(e.Flags, func(i, j int) bool { return e.Flags[i].Key < e.Flags[j].Key })
	e.UpdatedAt = now
	out := *e
	out.Flags = slices.Clone(e.Flags)
	return out, nil
}

func (m *memFlags) AuditSince(_ context.Context, name string, after int64) ([]flags.AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []flags.AuditEntry
	for _, a := range m.audit {
		if a.Environment == name && a.Version > after {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memFlags) AuditAfterID(_ context.Context, id int64, limit int) ([]flags.AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []flags.AuditEntry
	for _, a := range m.audit {
		if a.ID > id && len(out) < limit {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memFlags) Audit(_ context.Context, q flags.AuditQuery) ([]flags.AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []flags.AuditEntry
	for i := len(m.audit) - 1; i >= 0 && len(out) < limit; i-- {
		a := m.audit[i]
		if (q.Environment == "" || a.Environment == q.Environment) && (q.FlagKey == "" || a.FlagKey == q.FlagKey) &&
			(q.BeforeID == 0 || a.ID < q.BeforeID) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memFlags) Setting(_ context.Context, key string, create func() (string, error)) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.settings[key]; ok {
		return v, nil
	}
	v, err := create()
	if err == nil {
		m.settings[key] = v
	}
	return v, err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// memAuth is auth.Store in memory.
type memAuth struct {
	mu       sync.Mutex
	sessions map[string]auth.Session
	tokens   map[string]auth.AccessToken
	hashes   map[string]string
}

var _ auth.Store = (*memAuth)(nil)

func newMemAuth() *memAuth {
	return &memAuth{sessions: map[string]auth.Session{}, tokens: map[string]auth.AccessToken{}, hashes: map[string]string{}}
}

func (m *memAuth) CreateSession(_ context.Context, s auth.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.ID] = s
	return nil
}

func (m *memAuth) FindSession(_ context.Context, id string, now time.Time) (auth.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || !now.Before(s.ExpiresAt) {
		return auth.Session{}, errs.E(errs.NotFound, "no session")
	}
	return s, nil
}

func (m *memAuth) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

func (m *memAuth) CreateAccessToken(_ context.Context, t auth.AccessToken, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[t.ID], m.hashes[hash] = t, t.ID
	return nil
}

func (m *memAuth) FindAccessToken(_ context.Context, hash string) (auth.AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.hashes[hash]
	if !ok {
		return auth.AccessToken{}, errs.E(errs.NotFound, "no token")
	}
	return m.tokens[id], nil
}

func (m *memAuth) TouchAccessToken(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tokens[id]
	t.LastUsedAt = &at
	m.tokens[id] = t
	return nil
}

func (m *memAuth) ListAccessTokens(_ context.Context, owner string) ([]auth.AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []auth.AccessToken{}
	for _, t := range m.tokens {
		if strings.EqualFold(t.Owner, owner) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (m *memAuth) RevokeAccessToken(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok {
		return errs.E(errs.NotFound, "No token %s", id)
	}
	t.RevokedAt = &at
	m.tokens[id] = t
	return nil
}

func (m *memAuth) GetAccessToken(_ context.Context, id string) (auth.AccessToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok {
		return auth.AccessToken{}, errs.E(errs.NotFound, "No token %s", id)
	}
	return t, nil
}

// memAudit is audit.Store in memory.
type memAudit struct {
	mu     sync.Mutex
	events []audit.Event
}

func (m *memAudit) RecordAudit(_ context.Context, e audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memAudit) ListAudit(context.Context, audit.Query) ([]audit.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events), nil
}

func (m *memAudit) actions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.events {
		out = append(out, e.Action)
	}
	return out
}

// portal is the pages over real services with in-memory storage.
type portal struct {
	t       testing.TB
	handler *web.Handler
	catalog *service.Service
	store   *catalogStore
	flags   *flagservice.Service
	auth    *auth.Authenticator
	audit   *memAudit
	tokens  *memAuth
	// scaffolder is set by withScaffolder.
	scaffolder *scaffolder.Service
}

// portalOption changes what the pages are built with; it runs once the catalog and flags exist.
type portalOption func(*portal, *web.Options, *auth.Options)

func withoutGuest(_ *portal, _ *web.Options, a *auth.Options) { a.Guest = false }

func withSignIn(_ *portal, o *web.Options, _ *auth.Options) { o.SignIn = true }

func withoutFlags(_ *portal, o *web.Options, _ *auth.Options) { o.Flags = nil }

// withScaffolder runs templates through the real scaffolder service, an in-memory task store and a worker.
func withScaffolder(p *portal, o *web.Options, _ *auth.Options) {
	t := p.t
	reg, err := scaffolder.NewRegistry(action.Builtins(action.Options{})...)
	require.NoError(t, err)
	runner := &scaffolder.Runner{Actions: reg, Templater: scaffolder.NewTemplater(scaffolder.TemplaterOptions{}), WorkDir: t.TempDir()}
	svc := scaffolder.NewService(scaffolder.ServiceOptions{Store: memstore.New(), Runner: runner, Catalog: p.catalog, PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := &scaffolder.Worker{Store: svc.Store(), Runner: runner, ID: "web-test", PollInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	o.Scaffolder, p.scaffolder = svc, svc
}

// mustPortal builds the pages over the BillPay fixture catalog (plus extra entities) and dev/production flags.
func mustPortal(t testing.TB, extra []stitched, options ...portalOption) *portal {
	t.Helper()
	p := &portal{t: t, store: &catalogStore{parents: map[string][]string{
		"component:default/payment-service": {"location:default/billpay"},
		"location:default/billpay":          {},
	}}, audit: &memAudit{}, tokens: newMemAuth()}
	p.catalog = mustCatalog(t, mustStitch(t, append(billpay(), extra...)), p.store)
	fs, err := flagservice.New(&memFlags{}, flagservice.Config{Environments: []flagservice.Environment{{Name: "dev"}, {Name: "production", Protected: true}},
		PollInterval: time.Hour, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, fs.Start(ctx))
	admin := auth.Principal{Subject: "portal:seed", Kind: auth.KindService, Via: "config", Admin: true}
	_, err = fs.Import(ctx, admin, "dev", []byte(billpayFlags), flagservice.ImportMerge)
	require.NoError(t, err)
	p.flags = fs
	ao := auth.Options{Guest: true, Store: p.tokens, Ownership: p.catalog, AdminGroups: []string{"group:default/admin-team"}}
	wo := web.Options{Catalog: p.catalog, Flags: fs, Audit: p.audit, Version: "test", SessionCookie: "portal_session"}
	for _, o := range options {
		o(p, &wo, &ao)
	}
	p.auth = auth.New(ao)
	wo.Auth = p.auth
	p.handler, err = web.New(wo)
	require.NoError(t, err)
	return p
}

// session signs a person in directly, as sign-in would, and returns a browser for them.
func (p *portal) session(userRef string) *browser {
	p.t.Helper()
	cookie, sess, err := p.auth.StartSession(context.Background(), userRef, "", time.Hour)
	require.NoError(p.t, err)
	return &browser{p: p, cookies: map[string]string{"portal_session": cookie}, csrf: sess.CSRF}
}

// guest is a browser without a session.
func (p *portal) guest() *browser { return &browser{p: p, cookies: map[string]string{}} }

// browser keeps cookies between requests to the handler, as a browser would.
type browser struct {
	p       *portal
	cookies map[string]string
	csrf    string
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	for name, value := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	rec := httptest.NewRecorder()
	b.p.handler.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	body, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, body: string(body), header: res.Header}
}

func (b *browser) get(path string) page {
	return b.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post submits a form from the portal's own pages, with the CSRF token the page carries.
func (b *browser) post(path string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", b.formToken())
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// formToken is the token a page's forms carry: the session's, or the guest's double-submit cookie.
func (b *browser) formToken() string {
	if b.csrf != "" {
		return b.csrf
	}
	if b.cookies["portal_csrf"] == "" {
		b.get("/")
	}
	return b.cookies["portal_csrf"]
}
