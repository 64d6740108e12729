package auth

import (
	"slices"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Scope limits what a personal access token may do. Sessions and static tokens are not limited by scope:
// people are limited by what they own, automation by what its configuration trusts it with.
type Scope string

const (
	ScopeCatalogRead   Scope = "catalog:read"
	ScopeCatalogWrite  Scope = "catalog:write"
	ScopeScaffolderRun Scope = "scaffolder:run"
	ScopeFlagsWrite    Scope = "flags:write"
	ScopeDeployRun     Scope = "deploy:run"
	ScopeDocsWrite     Scope = "docs:write"
)

// AllScopes lists every scope, in the order the portal shows them.
var AllScopes = []Scope{ScopeCatalogRead, ScopeCatalogWrite, ScopeScaffolderRun, ScopeFlagsWrite, ScopeDeployRun, ScopeDocsWrite}

// ParseScopes checks requested scope names.
func ParseScopes(names []string) ([]Scope, error) {
	out := make([]Scope, 0, len(names))
	for _, n := range names {
		s := Scope(strings.TrimSpace(n))
		if !slices.Contains(AllScopes, s) {
			return nil, errs.E(errs.Invalid, "unknown scope %q; scopes are %s", n, joinScopes(AllScopes))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Invalid, "a token needs at least one scope: %s", joinScopes(AllScopes))
	}
	return out, nil
}

func joinScopes(s []Scope) string {
	names := make([]string, len(s))
	for i, x := range s {
		names[i] = string(x)
	}
	return strings.Join(names, ", ")
}

// Permission is one thing a route does. Its name is what a denial reports.
type Permission string

const (
	CatalogRead          Permission = "catalog.read"
	CatalogLocationWrite Permission = "catalog.location.write"
	CatalogEntityDelete  Permission = "catalog.entity.delete"
	CatalogRefresh       Permission = "catalog.entity.refresh"
	DocsRead             Permission = "docs.read"
	DocsBuild            Permission = "docs.build"
	TemplateRun          Permission = "scaffolder.template.run"
	TaskCancel           Permission = "scaffolder.task.cancel"
	FlagRead             Permission = "flags.read"
	FlagWrite            Permission = "flags.flag.write"
	DeployRun            Permission = "deploy.run"
	DeployApprove        Permission = "deploy.approve"
	TokenManage          Permission = "auth.token.manage"
	AuditRead            Permission = "audit.read"
)

// scopeFor is the token scope each permission needs.
var scopeFor = map[Permission]Scope{
	CatalogRead: ScopeCatalogRead, DocsRead: ScopeCatalogRead, FlagRead: ScopeCatalogRead, AuditRead: ScopeCatalogRead,
	CatalogLocationWrite: ScopeCatalogWrite, CatalogEntityDelete: ScopeCatalogWrite, CatalogRefresh: ScopeCatalogWrite,
	DocsBuild: ScopeDocsWrite, TemplateRun: ScopeScaffolderRun, TaskCancel: ScopeScaffolderRun,
	FlagWrite: ScopeFlagsWrite, DeployRun: ScopeDeployRun, DeployApprove: ScopeDeployRun,
}

// Resource is what a decision is about, as far as the policy cares.
type Resource struct {
	// Owner is the owning entity's ref (a Group, User or Component); "" when nobody owns it.
	Owner string
	// NewOwner is the owner a change would give the resource, when it changes owners.
	NewOwner string
	// Protected marks production-like environments.
	Protected bool
	// OwnersOnly restricts the resource to its owners even where others could act (templates that say so).
	OwnersOnly bool
	// RequestedBy is who asked for what is being approved.
	RequestedBy string
}

// Decide is the one permission policy. It returns nil to allow, or a Forbidden error naming the permission and
// what is missing. Rules:
//   - every permission needs its scope when the principal is a scoped token;
//   - admins may do anything their token's scopes allow;
//   - reading is open to every authenticated principal;
//   - catalog writes, doc builds and template runs are open to people and automation; a template marked
//     owners-only may be run by its owners alone;
//   - a flag may be changed by the owners of its owner entity; a flag nobody owns by anyone, except in a
//     protected environment, where only owners and admins act and guests never do;
//   - a deploy needs ownership of the component; approving one needs ownership too and must not be the
//     requester's own.
func Decide(p Principal, perm Permission, r Resource) error {
	if err := CheckScope(p, perm); err != nil {
		return err
	}
	if perm == TokenManage {
		if p.Kind != KindUser {
			return deny(perm, "only signed-in people manage personal access tokens")
		}
		return nil
	}
	if p.Admin {
		if perm == DeployApprove && r.RequestedBy != "" && r.RequestedBy == p.Subject {
			return deny(perm, "a deploy cannot be approved by the person who requested it")
		}
		return nil
	}
	switch perm {
	case CatalogRead, DocsRead, FlagRead, AuditRead:
		return nil
	case CatalogLocationWrite, CatalogEntityDelete, CatalogRefresh, DocsBuild, TaskCancel:
		return nil
	case TemplateRun:
		if r.OwnersOnly && !p.Owns(r.Owner) {
			return deny(perm, "this template may only be run by members of %s", r.Owner)
		}
		return nil
	case FlagWrite:
		if r.Protected && p.Kind == KindGuest {
			return deny(perm, "guests cannot change flags in a protected environment")
		}
		if r.Owner == "" {
			if r.Protected {
				return deny(perm, "flags without an owner in a protected environment may only be changed by admins")
			}
		} else if !p.Owns(r.Owner) {
			return deny(perm, "you are not a member of %s, which owns this flag", r.Owner)
		}
		if r.NewOwner != "" && r.NewOwner != r.Owner && !p.Owns(r.NewOwner) {
			return deny(perm, "you cannot hand the flag to %s, which you are not a member of", r.NewOwner)
		}
		return nil
	case DeployRun:
		if !p.Owns(r.Owner) {
			return deny(perm, "you are not a member of %s, which owns this component", r.Owner)
		}
		return nil
	case DeployApprove:
		if !p.Owns(r.Owner) {
			return deny(perm, "you are not a member of %s, which owns this component", r.Owner)
		}
		if r.RequestedBy != "" && r.RequestedBy == p.Subject {
			return deny(perm, "a deploy needs a second owner's approval, not the requester's")
		}
		return nil
	}
	return deny(perm, "no rule allows it")
}

// CheckScope is the token-scope rule of Decide alone: whether the credentials may be used for perm at all,
// before the resource it will act on is known (a template whose steps will deploy, say).
func CheckScope(p Principal, perm Permission) error {
	if scope, ok := scopeFor[perm]; ok && p.Scopes != nil && !slices.Contains(p.Scopes, scope) {
		return deny(perm, "the token lacks the %s scope", scope)
	}
	return nil
}

func deny(perm Permission, format string, args ...any) error {
	return errs.E(errs.Forbidden, "not allowed to %s: %s", perm, fmtMsg(format, args...))
}
