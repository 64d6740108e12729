package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
)

var (
	_ action.GitHubRepos        = (*Client)(nil)
	_ scaffolder.GitHubArchives = (*Client)(nil)
)

// CreateRepository implements action.GitHubRepos: POST /orgs/{owner}/repos when owner is an
// organization, POST /user/repos when it is a user (who must be the token's own account). It returns
// errs.Conflict when the repository exists already.
func (c *Client) CreateRepository(ctx context.Context, r action.NewRepository) (action.Repository, error) {
	owner, _, err := c.gh.Users.Get(ctx, r.Owner)
	if err != nil {
		return action.Repository{}, c.mapWriteErr(err, "look up owner "+r.Owner)
	}
	org := r.Owner
	if owner.GetType() == "User" {
		org = "" // POST /user/repos: the token's own account
	}
	repo, _, err := c.gh.Repositories.Create(ctx, org, &gh.Repository{
		Name: gh.String(r.Name), Description: gh.String(r.Description), Homepage: gh.String(r.Homepage),
		Private: gh.Bool(r.Visibility != "public"), Visibility: gh.String(r.Visibility),
		DeleteBranchOnMerge: gh.Bool(r.DeleteBranchOnMerge), AllowMergeCommit: gh.Bool(r.AllowMergeCommit),
		AllowSquashMerge: gh.Bool(r.AllowSquashMerge), AllowRebaseMerge: gh.Bool(r.AllowRebaseMerge),
		AllowAutoMerge: gh.Bool(r.AllowAutoMerge), HasWiki: gh.Bool(r.HasWiki), HasIssues: gh.Bool(r.HasIssues),
		HasProjects: gh.Bool(r.HasProjects),
	})
	if err != nil {
		return action.Repository{}, c.mapWriteErr(err, "create repository "+r.Owner+"/"+r.Name)
	}
	return action.Repository{CloneURL: repo.GetCloneURL(), HTMLURL: repo.GetHTMLURL()}, nil
}

// ReplaceTopics implements action.GitHubRepos.
func (c *Client) ReplaceTopics(ctx context.Context, owner, repo string, topics []string) error {
	_, _, err := c.gh.Repositories.ReplaceAllTopics(ctx, owner, repo, topics)
	return c.mapWriteErr(err, "set the topics of "+owner+"/"+repo)
}

// ProtectBranch implements action.GitHubRepos.
func (c *Client) ProtectBranch(ctx context.Context, owner, repo, branch string, p action.BranchProtection) error {
	req := &gh.ProtectionRequest{
		RequiredPullRequestReviews: &gh.PullRequestReviewsEnforcementRequest{
			DismissStaleReviews: p.DismissStaleReviews, RequireCodeOwnerReviews: p.RequireCodeOwnerReviews,
			RequiredApprovingReviewCount: p.RequiredApprovingReviewCount,
		},
		EnforceAdmins:                  p.EnforceAdmins,
		RequiredConversationResolution: gh.Bool(p.RequiredConversationResolution),
	}
	if p.RequiredStatusCheckContexts != nil || p.RequireBranchesToBeUpToDate {
		contexts := p.RequiredStatusCheckContexts
		if contexts == nil {
			contexts = []string{}
		}
		req.RequiredStatusChecks = &gh.RequiredStatusChecks{Strict: p.RequireBranchesToBeUpToDate, Contexts: &contexts}
	}
	what := "protect branch " + branch + " of " + owner + "/" + repo
	if _, _, err := c.gh.Repositories.UpdateBranchProtection(ctx, owner, repo, branch, req); err != nil {
		return c.mapWriteErr(err, what)
	}
	if p.RequiredCommitSigning {
		_, _, err := c.gh.Repositories.RequireSignaturesOnProtectedBranch(ctx, owner, repo, branch)
		return c.mapWriteErr(err, "require signed commits on "+branch+" of "+owner+"/"+repo)
	}
	return nil
}

// downloads fetches archive links. It sends no Authorization header: the link carries its own grant,
// and Portal's token must not travel to another host.
var downloads = &http.Client{}

// DefaultMaxArchiveBytes bounds a repository archive Tarball downloads.
const DefaultMaxArchiveBytes = 200 << 20

// Tarball implements scaffolder.GitHubArchives: GET /repos/{owner}/{repo}/tarball/{ref} answers with
// a redirect to a short-lived download URL (codeload), which is fetched without Portal's token, since
// the URL itself carries the grant. The body is cut off with an error past DefaultMaxArchiveBytes.
func (c *Client) Tarball(ctx context.Context, owner, repo, ref string) (io.ReadCloser, error) {
	what := fmt.Sprintf("the archive of %s/%s@%s", owner, repo, ref)
	link, _, err := c.gh.Repositories.GetArchiveLink(ctx, owner, repo, gh.Tarball, &gh.RepositoryContentGetOptions{Ref: ref}, 0)
	if err != nil {
		return nil, c.mapErr(err, what)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link.String(), nil)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "GitHub at %s sent an unusable link for %s", c.api, what)
	}
	resp, err := downloads.Do(req)
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "cannot download %s from %s", what, link.Host)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, errs.E(errs.NotFound, "%s not found on %s", what, c.api)
		}
		return nil, errs.E(errs.Unavailable, "downloading %s from %s failed: %s", what, link.Host, resp.Status)
	}
	return &limitedBody{ReadCloser: resp.Body, left: DefaultMaxArchiveBytes, what: what}, nil
}

// limitedBody fails a read past its limit instead of truncating silently.
type limitedBody struct {
	io.ReadCloser
	left int64
	what string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errs.E(errs.Invalid, "%s is over the %d byte limit", b.what, DefaultMaxArchiveBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// RepoSummary is a repository as the scaffolder's autocomplete lists it.
type RepoSummary struct {
	Owner, Name string
}

// ListRepositories lists up to limit repositories of owner (an organization, else a user), most
// recently pushed first.
func (c *Client) ListRepositories(ctx context.Context, owner string, limit int) ([]RepoSummary, error) {
	var out []RepoSummary
	add := func(repos []*gh.Repository) {
		for _, r := range repos {
			if len(out) < limit {
				out = append(out, RepoSummary{Owner: r.GetOwner().GetLogin(), Name: r.GetName()})
			}
		}
	}
	opts := &gh.RepositoryListByOrgOptions{Sort: "pushed", ListOptions: gh.ListOptions{PerPage: 100}}
	for len(out) < limit {
		repos, resp, err := c.gh.Repositories.ListByOrg(ctx, owner, opts)
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound && opts.Page == 0 {
			return c.listUserRepos(ctx, owner, limit)
		}
		if err != nil {
			return nil, c.mapErr(err, "the repositories of "+owner)
		}
		add(repos)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

func (c *Client) listUserRepos(ctx context.Context, user string, limit int) ([]RepoSummary, error) {
	var out []RepoSummary
	opts := &gh.RepositoryListByUserOptions{Sort: "pushed", ListOptions: gh.ListOptions{PerPage: 100}}
	for len(out) < limit {
		repos, resp, err := c.gh.Repositories.ListByUser(ctx, user, opts)
		if err != nil {
			return nil, c.mapErr(err, "the repositories of "+user)
		}
		for _, r := range repos {
			if len(out) < limit {
				out = append(out, RepoSummary{Owner: r.GetOwner().GetLogin(), Name: r.GetName()})
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// ListBranches lists up to limit branch names of owner/repo.
func (c *Client) ListBranches(ctx context.Context, owner, repo string, limit int) ([]string, error) {
	var out []string
	opts := &gh.BranchListOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for len(out) < limit {
		branches, resp, err := c.gh.Repositories.ListBranches(ctx, owner, repo, opts)
		if err != nil {
			return nil, c.mapErr(err, "the branches of "+owner+"/"+repo)
		}
		for _, b := range branches {
			if len(out) < limit {
				out = append(out, b.GetName())
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// mapWriteErr is mapErr for changes: GitHub's 422 (the repository exists, a name is invalid) is a
// conflict the template's author can act on, and its error details are kept in the message.
func (c *Client) mapWriteErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var resp *gh.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		msg := resp.Message
		for _, e := range resp.Errors {
			if e.Message != "" {
				msg += " " + e.Message
			}
		}
		switch resp.Response.StatusCode {
		case http.StatusUnprocessableEntity:
			return errs.Wrap(errs.Conflict, err, "GitHub at %s refused to %s: %s", c.api, what, strings.TrimSpace(msg))
		case http.StatusUnauthorized, http.StatusForbidden:
			return errs.Wrap(errs.Forbidden, err, "GitHub at %s did not let the token %s (%d %s)", c.api, what, resp.Response.StatusCode, strings.TrimSpace(msg))
		case http.StatusNotFound:
			return errs.Wrap(errs.NotFound, err, "GitHub at %s cannot %s: not found (or the token may not see it)", c.api, what)
		}
	}
	return c.mapErr(err, what)
}
