package github

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
)

// MaxWebhookBytes is GitHub's own cap on a delivery; GitHub drops larger payloads before sending.
const MaxWebhookBytes = 25 << 20

// ParsePush authenticates a webhook delivery with its X-Hub-Signature-256 HMAC and returns the push
// it carries. ok is false, with no error, for a ping or any event other than push, which the caller
// acknowledges and ignores. It returns errs.Unauthenticated when secret is empty (unsigned deliveries
// are never trusted) or the signature is missing or wrong, and errs.Invalid for a delivery that is
// signed correctly but malformed. ParsePush consumes r.Body.
func ParsePush(r *http.Request, secret []byte) (push source.PushEvent, ok bool, err error) {
	if len(secret) == 0 {
		return source.PushEvent{}, false, errs.E(errs.Unauthenticated, "GitHub webhook secret is not configured; refusing the delivery")
	}
	// Without this check ValidatePayload would fall back to the SHA-1 X-Hub-Signature header.
	if r.Header.Get(gh.SHA256SignatureHeader) == "" {
		return source.PushEvent{}, false, errs.E(errs.Unauthenticated, "GitHub webhook delivery has no %s header", gh.SHA256SignatureHeader)
	}
	// ValidatePayload reports a bad content type and a bad signature alike; checking the type first
	// keeps a misconfigured hook from being reported as a forgery.
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/x-www-form-urlencoded") {
		return source.PushEvent{}, false, errs.E(errs.Invalid, "GitHub webhook delivery has content type %q; want application/json", r.Header.Get("Content-Type"))
	}
	r.Body = http.MaxBytesReader(nil, r.Body, MaxWebhookBytes)
	payload, err := gh.ValidatePayload(r, secret)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return source.PushEvent{}, false, errs.Wrap(errs.Invalid, err, "GitHub webhook delivery is over %d bytes", MaxWebhookBytes)
		}
		return source.PushEvent{}, false, errs.Wrap(errs.Unauthenticated, err, "GitHub webhook signature does not match the configured secret")
	}

	event := gh.WebHookType(r)
	switch event {
	case "":
		return source.PushEvent{}, false, errs.E(errs.Invalid, "GitHub webhook delivery has no %s header", gh.EventTypeHeader)
	case "push":
	default: // ping, and every event the catalog does not act on
		return source.PushEvent{}, false, nil
	}
	parsed, err := gh.ParseWebHook(event, payload)
	if err != nil {
		return source.PushEvent{}, false, errs.Wrap(errs.Invalid, err, "GitHub push delivery is malformed: %v", err)
	}
	ev, isPush := parsed.(*gh.PushEvent)
	if !isPush || ev.GetRepo().GetFullName() == "" || ev.GetRef() == "" {
		return source.PushEvent{}, false, errs.E(errs.Invalid, "GitHub push delivery lacks the repository or ref")
	}
	return toPushEvent(ev), true, nil
}

func toPushEvent(ev *gh.PushEvent) source.PushEvent {
	repo := ev.GetRepo()
	out := source.PushEvent{
		Host:          source.DefaultGitHubHost,
		Repo:          repo.GetFullName(),
		Ref:           ev.GetRef(),
		DefaultBranch: repo.GetDefaultBranch(),
	}
	if out.DefaultBranch == "" {
		out.DefaultBranch = repo.GetMasterBranch()
	}
	// html_url is the only place the payload names the web host, which is what location targets use.
	if u, err := url.Parse(repo.GetHTMLURL()); err == nil && u.Host != "" {
		out.Host = strings.ToLower(u.Host)
	}

	commits := ev.Commits
	if len(commits) == 0 && ev.HeadCommit != nil {
		commits = []*gh.HeadCommit{ev.HeadCommit}
	}
	seen := map[string]map[string]bool{"a": {}, "m": {}, "r": {}}
	add := func(kind string, dst *[]string, paths []string) {
		for _, p := range paths {
			if !seen[kind][p] {
				seen[kind][p] = true
				*dst = append(*dst, p)
			}
		}
	}
	for _, c := range commits {
		add("a", &out.Added, c.Added)
		add("m", &out.Modified, c.Modified)
		add("r", &out.Removed, c.Removed)
	}
	return out
}
