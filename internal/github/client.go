// Package github is Portal's go-github adapter: it implements the GitHub ports declared by the domain
// packages (source.GitHubFiles so far) and parses webhook deliveries. Nothing outside this package
// sees a go-github type; errors leave it as errs codes.
package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
)

// DefaultMaxFileBytes bounds a file read through the API, as source.HTTPReader bounds a URL.
const DefaultMaxFileBytes = source.DefaultMaxBytes

// Client talks to one GitHub host's REST API with one token.
type Client struct {
	gh *gh.Client
	// api names the API host in messages, so an operator can tell which integration failed.
	api string
	// MaxFileBytes bounds GetFile; 0 means DefaultMaxFileBytes.
	MaxFileBytes int64
}

var _ source.GitHubFiles = (*Client)(nil)

// NewClient returns a client for the REST API at baseURL: "" or "https://api.github.com/" for
// github.com, otherwise a GitHub Enterprise Server URL such as "https://ghe.example.com" (go-github adds
// "/api/v3/" unless the URL already ends with it). token may be empty for anonymous access; httpClient
// nil means http.DefaultClient's transport. It returns errs.Invalid for a malformed baseURL.
func NewClient(baseURL, token string, httpClient *http.Client) (*Client, error) {
	c := gh.NewClient(httpClient)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if baseURL != "" && strings.TrimSuffix(baseURL, "/") != strings.TrimSuffix(c.BaseURL.String(), "/") {
		u, err := url.Parse(baseURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, errs.E(errs.Invalid, "GitHub API URL %q is not an absolute http(s) URL", baseURL)
		}
		// The upload URL is unused; passing baseURL keeps go-github from guessing a host we never call.
		c, err = c.WithEnterpriseURLs(baseURL, baseURL)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "GitHub API URL %q: %v", baseURL, err)
		}
	}
	return &Client{gh: c, api: c.BaseURL.Host}, nil
}

// GetFile implements source.GitHubFiles with the contents API. Files over the API's 1 MB inline limit
// come back without content; those are fetched again with the raw media type, in one request that
// honours ctx (go-github's DownloadContents lists the whole directory and then downloads without ctx).
func (c *Client) GetFile(ctx context.Context, owner, repo, ref, path string) ([]byte, error) {
	what := describeFile(owner, repo, ref, path)
	file, dir, _, err := c.gh.Repositories.GetContents(ctx, owner, repo, path, &gh.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, c.mapErr(err, what)
	}
	if dir != nil || file == nil {
		return nil, errs.E(errs.NotFound, "%s is a directory, not a file", what)
	}
	if t := file.GetType(); t != "file" {
		return nil, errs.E(errs.NotFound, "%s is a %s, not a file", what, t)
	}
	limit := c.maxBytes()
	if int64(file.GetSize()) > limit {
		return nil, errs.E(errs.Invalid, "%s is %d bytes, over the %d byte limit", what, file.GetSize(), limit)
	}
	if file.GetEncoding() == "none" || (file.Content == nil && file.GetSize() > 0) {
		return c.getRaw(ctx, owner, repo, ref, path, what, limit)
	}
	s, err := file.GetContent()
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "GitHub at %s sent %s in a form Portal cannot decode: %v", c.api, what, err)
	}
	return []byte(s), nil
}

func (c *Client) getRaw(ctx context.Context, owner, repo, ref, path, what string, limit int64) ([]byte, error) {
	u := fmt.Sprintf("repos/%s/%s/contents/%s", url.PathEscape(owner), url.PathEscape(repo), (&url.URL{Path: path}).EscapedPath())
	if ref != "" {
		u += "?ref=" + url.QueryEscape(ref)
	}
	req, err := c.gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "cannot request %s: %v", what, err)
	}
	req.Header.Set("Accept", "application/vnd.github.raw+json")
	buf := &limitedBuffer{limit: limit}
	if _, err := c.gh.Do(ctx, req, buf); err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, errs.E(errs.Invalid, "%s is over the %d byte limit", what, limit)
		}
		return nil, c.mapErr(err, what)
	}
	return buf.Bytes(), nil
}

var errTooLarge = errors.New("response over the size limit")

// limitedBuffer stops go-github's io.Copy of a response body once limit bytes have arrived.
type limitedBuffer struct {
	bytes.Buffer
	limit int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if int64(b.Len()+len(p)) > b.limit {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

func (c *Client) maxBytes() int64 {
	if c.MaxFileBytes > 0 {
		return c.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// ListOrgRepos implements source.GitHubFiles, following the Link header page by page.
func (c *Client) ListOrgRepos(ctx context.Context, org string) ([]source.GitHubRepo, error) {
	opts := &gh.RepositoryListByOrgOptions{Type: "all", ListOptions: gh.ListOptions{PerPage: 100}}
	var out []source.GitHubRepo
	for {
		repos, resp, err := c.gh.Repositories.ListByOrg(ctx, org, opts)
		if err != nil {
			return nil, c.mapErr(err, fmt.Sprintf("organization %s", org))
		}
		for _, r := range repos {
			out = append(out, source.GitHubRepo{
				Owner:         r.GetOwner().GetLogin(),
				Name:          r.GetName(),
				DefaultBranch: r.GetDefaultBranch(),
				Archived:      r.GetArchived(),
				Fork:          r.GetFork(),
			})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func describeFile(owner, repo, ref, path string) string {
	if ref == "" {
		ref = "default branch"
	}
	return fmt.Sprintf("file %s in %s/%s@%s", path, owner, repo, ref)
}

// mapErr turns a go-github error about what into an errs code. Credential and permission failures are
// errs.Unavailable, not Unauthenticated or Forbidden: they are Portal's token failing, and the caller
// whose request needed the file is not to blame.
func (c *Client) mapErr(err error, what string) error {
	var (
		rate  *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
		resp  *gh.ErrorResponse
	)
	switch {
	case errors.As(err, &rate):
		return errs.Wrap(errs.Unavailable, err, "GitHub API rate limit for Portal's token on %s is used up until %s; cannot read %s",
			c.api, rate.Rate.Reset.Time.UTC().Format(time.RFC3339), what)
	case errors.As(err, &abuse):
		after := "a while"
		if abuse.RetryAfter != nil {
			after = abuse.RetryAfter.String()
		}
		return errs.Wrap(errs.Unavailable, err, "GitHub secondary rate limit hit on %s, retry after %s; cannot read %s", c.api, after, what)
	case errors.Is(err, gh.ErrPathForbidden):
		return errs.Wrap(errs.Invalid, err, "%s: path must not contain \"..\"", what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.Unavailable, err, "reading %s from GitHub at %s stopped: %v", what, c.api, err)
	case errors.As(err, &resp) && resp.Response != nil:
		status := resp.Response.StatusCode
		msg := resp.Message
		if msg == "" {
			msg = http.StatusText(status)
		}
		switch {
		case status == http.StatusNotFound:
			return errs.Wrap(errs.NotFound, err, "%s not found on %s", what, c.api)
		case status == http.StatusUnauthorized:
			return errs.Wrap(errs.Unavailable, err, "GitHub at %s rejected Portal's token (%d %s); cannot read %s", c.api, status, msg, what)
		case status == http.StatusForbidden:
			return errs.Wrap(errs.Unavailable, err, "GitHub at %s refused Portal's token access (%d %s); cannot read %s", c.api, status, msg, what)
		case status == http.StatusTooManyRequests:
			return errs.Wrap(errs.Unavailable, err, "GitHub at %s is rate limiting Portal (%d %s); cannot read %s", c.api, status, msg, what)
		case status >= 500:
			return errs.Wrap(errs.Unavailable, err, "GitHub at %s failed (%d %s); cannot read %s", c.api, status, msg, what)
		default:
			return errs.Wrap(errs.Invalid, err, "GitHub at %s refused to read %s (%d %s)", c.api, what, status, msg)
		}
	default:
		return errs.Wrap(errs.Unavailable, err, "cannot reach GitHub at %s to read %s: %v", c.api, what, err)
	}
}
