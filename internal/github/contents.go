package github

import (
	"context"

	gh "github.com/google/go-github/v60/github"

	"github.com/billpay/portal/internal/errs"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

var _ tdservice.GitHubContents = (*Client)(nil)

// ListDir implements tdservice.GitHubContents with the contents API, which lists a directory's
// entries with their blob SHAs, enough to tell whether docs changed without downloading them.
func (c *Client) ListDir(ctx context.Context, owner, repo, ref, path string) ([]tdservice.GitHubEntry, error) {
	what := describeFile(owner, repo, ref, path)
	file, dir, _, err := c.gh.Repositories.GetContents(ctx, owner, repo, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, c.mapErr(err, what)
	}
	if file != nil {
		return nil, errs.E(errs.NotFound, "%s is a file, not a directory", what)
	}
	out := make([]tdservice.GitHubEntry, 0, len(dir))
	for _, e := range dir {
		out = append(out, tdservice.GitHubEntry{Name: e.GetName(), Path: e.GetPath(), Type: e.GetType(), SHA: e.GetSHA(), Size: int64(e.GetSize())})
	}
	return out, nil
}
