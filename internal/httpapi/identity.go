package httpapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
)

// SessionCookie holds a signed-in person's session.
const SessionCookie = "portal_session"

// signInCookie carries the OAuth state and PKCE verifier between the redirect and the callback.
const signInCookie = "portal_signin"

// readPermissions are what reads need; mutations must be listed in mutatingPermissions, or they are refused:
// a route added without a decision fails closed.
var mutatingPermissions = map[string]auth.Permission{
	"createLocation": auth.CatalogLocationWrite, "updateLocation": auth.CatalogLocationWrite,
	"deleteLocation": auth.CatalogLocationWrite, "deleteEntityByUid": auth.CatalogEntityDelete,
	"refreshEntity": auth.CatalogRefresh,
	// Reads with a body: querying, validating and analysing change nothing.
	"queryEntitiesByPredicate": auth.CatalogRead, "getEntitiesByRefs": auth.CatalogRead, "queryEntityFacets": auth.CatalogRead,
	"validateEntity": auth.CatalogRead, "analyzeLocation": auth.CatalogRead,
	// Flags: the flag service applies the owner and environment rules; this is the coarse gate.
	"putFlag": auth.FlagWrite, "deleteFlag": auth.FlagWrite, "enableFlag": auth.FlagWrite, "disableFlag": auth.FlagWrite,
	"copyFlag": auth.FlagWrite, "importFlags": auth.FlagWrite,
	// Scaffolder: the template's owner rule is applied by the handler, which knows the template.
	"createScaffolderTask": auth.TemplateRun, "dryRunTemplate": auth.TemplateRun,
	"cancelScaffolderTask": auth.TaskCancel, "retryScaffolderTask": auth.TaskCancel,
	// Autocomplete only reads, with the caller's own token, but it is part of filling a template's form.
	"scaffolderAutocomplete": auth.TemplateRun,
	// Deploys: the deploy service applies the owner, protection and second-approver rules; this is the coarse gate.
	"createRelease": auth.DeployRun, "dryRunRelease": auth.DeployRun, "rollbackRelease": auth.DeployRun,
	"provisionService": auth.DeployRun, "planTofuRun": auth.DeployRun,
	"approveRelease": auth.DeployApprove, "approveTofuRun": auth.DeployApprove,
	// Backstage's Kubernetes plugin reads with a body.
	"getKubernetesObjectsByService": auth.CatalogRead, "queryKubernetesWorkloads": auth.CatalogRead,
	// TechDocs: asking for a rebuild changes no content; scoped tokens need docs:write.
	"buildTechDocs":     auth.DocsBuild,
	"createAccessToken": auth.TokenManage, "revokeAccessToken": auth.TokenManage, "signOut": auth.CatalogRead,
}

// PermissionOf is the permission a mutating operation requires, and whether one is declared; reads that carry a
// body declare auth.CatalogRead.
func PermissionOf(operationID string) (auth.Permission, bool) {
	p, ok := mutatingPermissions[operationID]
	return p, ok
}

// coarseResource is what a route-level check knows before the handler reads the resource: enough for scope and
// principal-kind rules, with owner rules left to the services, which know the owner.
func coarseCheck(p auth.Principal, perm auth.Permission) error {
	switch perm {
	case auth.FlagWrite:
		// Owner and protection rules need the flag; here only the token scope is checked.
		if p.Scopes != nil && !containsScope(p.Scopes, auth.ScopeFlagsWrite) {
			return auth.Decide(p, perm, auth.Resource{})
		}
		return nil
	case auth.DeployRun, auth.DeployApprove:
		// Ownership of the component and the approver rule need the release; here only the token scope is checked.
		if p.Scopes != nil && !containsScope(p.Scopes, auth.ScopeDeployRun) {
			return auth.Decide(p, perm, auth.Resource{})
		}
		return nil
	case auth.TokenManage:
		return nil // decided by the token routes, which also allow admins to revoke
	}
	return auth.Decide(p, perm, auth.Resource{})
}

func containsScope(list []auth.Scope, s auth.Scope) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isMutation(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// writeStatus answers with the route family's error body.
func (s *Server) writeStatus(ctx huma.Context, status int, msg string) {
	var se huma.StatusError
	if isBackstagePath(ctx.URL().Path) {
		se = huma.NewErrorWithContext(ctx, status, msg)
	} else {
		se = huma.NewError(status, msg)
	}
	_ = huma.WriteErr(s.api, ctx, se.GetStatus(), se.Error())
}

func retryAfter(ctx huma.Context, wait time.Duration) {
	ctx.SetHeader("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
}

// authorize runs after authenticate for every /api operation: it applies the route's permission, the CSRF
// check for cookie-authenticated changes, the per-principal rate limit, and records mutations in the audit log.
func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	p, ok := PrincipalFrom(ctx.Context())
	if op == nil || !ok {
		next(ctx)
		return
	}
	if !isMutation(ctx.Method()) {
		if err := auth.Decide(p, auth.CatalogRead, auth.Resource{}); err != nil {
			s.writeStatus(ctx, http.StatusForbidden, errs.MessageOf(err))
			return
		}
		next(ctx)
		return
	}
	perm, listed := mutatingPermissions[op.OperationID]
	if !listed {
		s.writeStatus(ctx, http.StatusForbidden, "not allowed: no permission rule covers "+op.OperationID)
		return
	}
	if err := coarseCheck(p, perm); err != nil {
		s.writeStatus(ctx, http.StatusForbidden, errs.MessageOf(err))
		return
	}
	if err := auth.CheckCSRF(p, ctx.Header("X-CSRF-Token")); err != nil {
		s.writeStatus(ctx, http.StatusForbidden, errs.MessageOf(err))
		return
	}
	if perm != auth.CatalogRead {
		if ok, wait := s.mutations.Allow(p.Subject); !ok {
			retryAfter(ctx, wait)
			s.writeStatus(ctx, http.StatusTooManyRequests, "too many changes from "+p.Subject+"; slow down")
			return
		}
	}
	if perm == auth.CatalogRead || s.opts.Audit == nil {
		next(ctx)
		return
	}
	auditCtx, detail := audit.WithDetail(ctx.Context())
	next(huma.WithContext(ctx, auditCtx))
	s.record(ctx, op.OperationID, p, detail)
}

func (s *Server) record(ctx huma.Context, action string, p auth.Principal, d *audit.Detail) {
	status := ctx.Status()
	if status == 0 {
		status = http.StatusOK
	}
	u := ctx.URL()
	e := audit.Event{At: time.Now(), Actor: p.Subject, Via: p.Via, Action: action, Method: ctx.Method(), Path: u.Path,
		Resource: d.Resource, Status: status, Remote: remoteHost(ctx.RemoteAddr())}
	e.Before, e.After = auditJSON(d.Before), auditJSON(d.After)
	// The change is already made; an audit write that fails must be loud but cannot undo it.
	if err := s.opts.Audit.RecordAudit(context.WithoutCancel(ctx.Context()), e); err != nil {
		s.opts.Log.Error("cannot record audit event", "action", action, "actor", p.Subject, "err", err)
	}
}

// sessionCookieValue reads the session cookie, if any.
func sessionCookieValue(ctx huma.Context) string {
	header := ctx.Header("Cookie")
	if header == "" {
		return ""
	}
	for _, c := range (&http.Request{Header: http.Header{"Cookie": {header}}}).Cookies() {
		if c.Name == SessionCookie {
			return c.Value
		}
	}
	return ""
}

func failedAuthKey(ctx huma.Context) string { return remoteHost(ctx.RemoteAddr()) }

// secureCookies tells whether cookies get the Secure attribute: always, except on plain-HTTP local setups.
func (s *Server) secureCookies() bool { return !strings.HasPrefix(s.opts.BaseURL, "http://") }

// auditJSON encodes a state for the log; a nil state (a typed nil included) is no state at all.
func auditJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil
	}
	return b
}
