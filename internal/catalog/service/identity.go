package service

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

// maxGroupDepth stops a parent cycle in badly written org data from looping.
const maxGroupDepth = 32

type relationsDoc struct {
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

func (s *Service) relationTargets(ref, relType string) []string {
	raw, ok := s.Index().Get(strings.ToLower(ref))
	if !ok {
		return nil
	}
	var doc relationsDoc
	if json.Unmarshal(raw, &doc) != nil {
		return nil
	}
	var out []string
	for _, r := range doc.Relations {
		if r.Type == relType {
			out = append(out, r.TargetRef)
		}
	}
	return out
}

// Ownership returns the refs a user acts for: the user itself, the groups it is a member of, and their parent
// groups, transitively. It implements auth.OwnershipResolver from the live catalog, so a change to org data
// applies from the next request on.
func (s *Service) Ownership(userRef string) []string {
	user := strings.ToLower(userRef)
	out := []string{user}
	seen := map[string]bool{user: true}
	frontier := s.relationTargets(user, catalog.RelationMemberOf)
	for depth := 0; len(frontier) > 0 && depth < maxGroupDepth; depth++ {
		var next []string
		for _, g := range frontier {
			g = strings.ToLower(g)
			if seen[g] {
				continue
			}
			seen[g] = true
			out = append(out, g)
			next = append(next, s.relationTargets(g, catalog.RelationChildOf)...)
		}
		frontier = next
	}
	return out
}

// FindByAnnotation returns the refs of entities of kind whose annotation key has value (case-insensitive).
func (s *Service) FindByAnnotation(kind, key, value string) []string {
	items, _ := s.Index().List(catalog.ListRequest{
		Filter: catalog.FilterAllOf(catalog.FilterKeyIn("kind", kind), catalog.FilterKeyIn("metadata.annotations."+key, value)),
		Fields: []string{"kind", "metadata.namespace", "metadata.name"},
	})
	var refs []string
	for _, raw := range items {
		var e struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"metadata"`
		}
		if json.Unmarshal(raw, &e) == nil {
			ns := e.Metadata.Namespace
			if ns == "" {
				ns = catalog.DefaultNamespace
			}
			refs = append(refs, strings.ToLower(e.Kind+":"+ns+"/"+e.Metadata.Name))
		}
	}
	return refs
}

// Exists reports whether an entity is in the catalog.
func (s *Service) Exists(ref string) bool {
	ok := s.Index().Has(strings.ToLower(ref))
	return ok
}

// AnnotationGitHubLogin links a User entity to its GitHub account, as Backstage's GitHub resolvers read it.
const AnnotationGitHubLogin = "github.com/user-login"

// GitHubUsers resolves GitHub sign-ins to catalog Users: by the github.com/user-login annotation, or, when
// MatchName is set, by a User named like the login (Backstage's usernameMatchingUserEntityName resolver).
type GitHubUsers struct {
	Catalog   *Service
	MatchName bool
}

// ResolveUser implements auth.UserResolver.
func (r GitHubUsers) ResolveUser(_ context.Context, id auth.ExternalIdentity) (string, error) {
	refs := r.Catalog.FindByAnnotation("User", AnnotationGitHubLogin, id.Login)
	switch {
	case len(refs) == 1:
		return refs[0], nil
	case len(refs) > 1:
		return "", errs.E(errs.Forbidden, "several catalog Users claim GitHub login %s (%s); fix the %s annotations", id.Login, strings.Join(refs, ", "), AnnotationGitHubLogin)
	}
	if r.MatchName {
		ref := "user:default/" + strings.ToLower(id.Login)
		if r.Catalog.Exists(ref) {
			return ref, nil
		}
	}
	return "", errs.E(errs.Forbidden, "no catalog User has the annotation %s: %s; ask your platform team to add you to the catalog", AnnotationGitHubLogin, id.Login)
}
