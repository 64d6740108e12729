package github

import (
	"context"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
)

// Autocomplete answers the scaffolder's /v2/autocomplete/github/:resource with the caller's own
// token, as Backstage's GitHub module does: repositoriesWithOwner (what the token can see, as
// owner/name) and branches (of context.owner/context.repository). context.host picks the
// integration; github.com by default.
type Autocomplete struct {
	// APIBaseURLs maps integration hosts ("github.com") to their REST API base URL.
	APIBaseURLs map[string]string
	// Limit bounds the results; 0 means 1000.
	Limit int
}

var _ scaffolder.Autocompleter = Autocomplete{}

// Autocomplete implements scaffolder.Autocompleter.
func (a Autocomplete) Autocomplete(ctx context.Context, resource, token string, params map[string]string) ([]scaffolder.AutocompleteResult, error) {
	host := params["host"]
	if host == "" {
		host = "github.com"
	}
	base, ok := a.APIBaseURLs[strings.ToLower(host)]
	if !ok {
		return nil, errs.E(errs.Invalid, "No matching integration configuration for host %s, please check your integrations config", host)
	}
	c, err := NewClient(base, token, nil)
	if err != nil {
		return nil, err
	}
	limit := a.Limit
	if limit <= 0 {
		limit = 1000
	}
	var out []scaffolder.AutocompleteResult
	switch resource {
	case "repositoriesWithOwner":
		opts := &gh.RepositoryListByAuthenticatedUserOptions{Sort: "full_name", ListOptions: gh.ListOptions{PerPage: 100}}
		for len(out) < limit {
			repos, resp, err := c.gh.Repositories.ListByAuthenticatedUser(ctx, opts)
			if err != nil {
				return nil, c.mapWriteErr(err, "list the token's repositories")
			}
			for _, r := range repos {
				if len(out) < limit {
					out = append(out, scaffolder.AutocompleteResult{ID: r.GetFullName()})
				}
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
	case "branches":
		if params["owner"] == "" || params["repository"] == "" {
			return nil, errs.E(errs.Invalid, "Missing owner and/or repository context parameter")
		}
		names, err := c.ListBranches(ctx, params["owner"], params["repository"], limit)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			out = append(out, scaffolder.AutocompleteResult{ID: n})
		}
	default:
		return nil, errs.E(errs.Invalid, "Invalid resource: %s", resource)
	}
	return out, nil
}
