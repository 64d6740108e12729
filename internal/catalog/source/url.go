package source

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/billpay/portal/internal/errs"
)

// Defaults for HTTPReader; a catalog file is a few KiB, so these only stop a misconfigured location from
// tying up a worker or its memory.
const (
	DefaultMaxBytes    = 10 << 20
	DefaultReadTimeout = 30 * time.Second
)

// HTTPReader reads url locations from plain HTTP(S) servers, without credentials.
type HTTPReader struct {
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// MaxBytes bounds a response body; 0 means DefaultMaxBytes.
	MaxBytes int64
	// Timeout bounds one read, redirects included; 0 means DefaultReadTimeout.
	Timeout time.Duration
}

var _ Reader = (*HTTPReader)(nil)

// NewHTTPReader returns a reader that sends its requests through client (nil means http.DefaultClient),
// with the default size and time limits.
func NewHTTPReader(client *http.Client) *HTTPReader {
	return &HTTPReader{Client: client}
}

// Read GETs target, an http or https URL. It returns errs.NotFound for 404 and 410, errs.Invalid for any
// other non-2xx status, a body over MaxBytes or a target that is not an http(s) URL, and errs.Unavailable
// when the server cannot be reached in time.
func (r *HTTPReader) Read(ctx context.Context, _ string, target string) ([]byte, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errs.E(errs.Invalid, "url location %q is not an absolute http(s) URL", target)
	}
	// Credentials in a URL must not reach messages, which end up on entities and in API responses.
	shown := u.Redacted()

	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultReadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "cannot request %s: %v", shown, err)
	}
	req.Header.Set("User-Agent", "billpay-portal")

	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var refused *errs.Error
		if errors.As(err, &refused) && refused.Code == errs.Forbidden {
			return nil, errs.Wrap(errs.Forbidden, err, "cannot fetch %s: %s", shown, refused.Message)
		}
		return nil, errs.Wrap(errs.Unavailable, err, "cannot fetch %s: %v", shown, unwrapURLError(err))
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, errs.E(errs.NotFound, "%s does not exist (%s)", shown, resp.Status)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, errs.E(errs.Invalid, "cannot fetch %s: server answered %s", shown, resp.Status)
	}

	limit := r.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	// Reading one byte past the limit tells a body of exactly limit bytes from a longer one.
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "cannot read %s: %v", shown, unwrapURLError(err))
	}
	if int64(len(b)) > limit {
		return nil, errs.E(errs.Invalid, "%s is larger than %d bytes", shown, limit)
	}
	return b, nil
}

// unwrapURLError drops the "Get <url>:" prefix of *url.Error, whose URL may carry credentials, so the
// caller can name the redacted URL itself.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ResolveURL resolves target, written inside the file at URL base (a Location entity's target, a $text
// placeholder), the way Backstage's SCM integrations do:
//   - an absolute URL is returned unchanged;
//   - when base is a GitHub blob or tree URL, target stays in the same repository and ref: "/x" is
//     relative to the repository root, anything else to the directory of the file base names (for a tree
//     URL of a directory, that directory), and the result is a blob URL; a target that climbs out of the
//     repository is errs.Invalid;
//   - otherwise target is resolved per RFC 3986.
//
// Like Backstage, the result keeps base's query unless target has its own, so a token in a signed base
// URL carries over to its neighbours.
func ResolveURL(base, target string) (string, error) {
	if t, err := url.Parse(target); err == nil && t.Scheme != "" {
		return target, nil
	}
	b, err := url.Parse(base)
	if err != nil || b.Scheme == "" || b.Host == "" {
		return "", errs.E(errs.Invalid, "cannot resolve %q against %q: base is not an absolute URL", target, base)
	}
	t, err := url.Parse(target)
	if err != nil {
		return "", errs.Wrap(errs.Invalid, err, "cannot resolve %q against %q: %v", target, base, err)
	}

	if gh, err := ParseGitHubURL(base); err == nil {
		file := gh.FilePath()
		var p string
		switch {
		case t.Path == "": // "" or a bare query names the base file itself, as in URL resolution
			p = "/" + file
		case strings.HasPrefix(t.Path, "/"):
			p = path.Clean(t.Path)
		default:
			p = path.Join("/", path.Dir(file), t.Path)
		}
		// path.Join cleans "/.." to "/", so a climb out of the repository shows only in the raw join.
		if escapesRoot(path.Dir(file), t.Path) {
			return "", errs.E(errs.Invalid, "%q leaves repository %s/%s of %s", target, gh.Owner, gh.Repo, base)
		}
		gh.Path = strings.TrimPrefix(p, "/")
		if gh.Path == "" {
			return "", errs.E(errs.Invalid, "%q resolves to the root of repository %s/%s, not a file", target, gh.Owner, gh.Repo)
		}
		gh.Tree = false
		out := gh.url(b.Scheme)
		out.RawQuery = b.RawQuery
		if t.RawQuery != "" {
			out.RawQuery = t.RawQuery
		}
		return out.String(), nil
	}

	out := b.ResolveReference(t)
	if t.RawQuery == "" && !t.ForceQuery {
		out.RawQuery = b.RawQuery
	}
	return out.String(), nil
}

// escapesRoot reports whether joining rel onto dir (both relative to a repository root) climbs above
// the root. Absolute rel values are cleaned against the root and never escape.
func escapesRoot(dir, rel string) bool {
	return !strings.HasPrefix(rel, "/") && ClimbsAbove(dir, rel)
}

// ClimbsAbove reports whether following the segments of rel from dir (a path below some root) goes
// above that root at any point, even if it comes back down afterwards.
func ClimbsAbove(dir, rel string) bool {
	depth := 0
	for _, seg := range strings.Split(dir, "/") {
		if seg != "" && seg != "." {
			depth++
		}
	}
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}
