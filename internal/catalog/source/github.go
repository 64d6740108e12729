package source

import (
	"context"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/billpay/portal/internal/errs"
)

// DefaultGitHubHost is the host a GitHubHost or GitHubDiscoveryConfig without one stands for.
const DefaultGitHubHost = "github.com"

// DefaultCatalogPath is the file GitHub discovery looks for, and what a tree URL of a directory reads.
const DefaultCatalogPath = "/catalog-info.yaml"

// GitHubFiles is what Portal needs from one GitHub host's REST API; internal/github implements it with
// go-github, one value per host, each with that host's API base URL and token.
type GitHubFiles interface {
	// GetFile returns the contents of the file at path (relative to the repository root) in owner/repo at
	// ref, a branch, tag or commit SHA; "" means the default branch. It returns errs.NotFound when the
	// repository, the ref or the file does not exist, or path is a directory.
	GetFile(ctx context.Context, owner, repo, ref, path string) ([]byte, error)
	// ListOrgRepos returns every repository of organization org the token can see, all pages. It returns
	// errs.NotFound when there is no such organization.
	ListOrgRepos(ctx context.Context, org string) ([]GitHubRepo, error)
}

// GitHubRepo is a repository as discovery needs it.
type GitHubRepo struct {
	Owner         string
	Name          string
	DefaultBranch string
	Archived      bool
	Fork          bool
}

// GitHubURL is a parsed GitHub web URL of a file (blob) or directory (tree):
// https://<host>/<owner>/<repo>/(blob|tree)/<ref>/<path>.
type GitHubURL struct {
	Host  string
	Owner string
	Repo  string
	// Ref is the first path segment after blob/tree. GitHub's web UI splits a ref containing "/" from the
	// path by looking up the repository's refs; without that lookup such refs are not supported for
	// reading (PushPlan.Affects, which knows the pushed ref, does match them).
	Ref string
	// Path is relative to the repository root, without a leading slash; "" is the root of a tree URL.
	Path string
	Tree bool
}

// ParseGitHubURL parses a GitHub blob or tree URL on any host; it returns errs.Invalid for anything else.
func ParseGitHubURL(raw string) (GitHubURL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return GitHubURL{}, errs.E(errs.Invalid, "%q is not an absolute http(s) URL", raw)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 4 || segs[0] == "" || segs[1] == "" || segs[3] == "" || (segs[2] != "blob" && segs[2] != "tree") {
		return GitHubURL{}, errs.E(errs.Invalid, "%q is not a GitHub URL of the form https://<host>/<owner>/<repo>/(blob|tree)/<ref>/<path>", raw)
	}
	g := GitHubURL{
		Host:  strings.ToLower(u.Host),
		Owner: segs[0],
		Repo:  segs[1],
		Ref:   segs[3],
		Path:  strings.Join(segs[4:], "/"),
		Tree:  segs[2] == "tree",
	}
	if g.Path == "" && !g.Tree {
		return GitHubURL{}, errs.E(errs.Invalid, "%q names no file", raw)
	}
	if slices.Contains(segs[4:], "..") {
		return GitHubURL{}, errs.E(errs.Invalid, "%q climbs out of its repository", raw)
	}
	return g, nil
}

// FilePath is the file, relative to the repository root, that reading the URL reads: Path for a blob;
// for a tree, Path/catalog-info.yaml, unless Path itself ends in .yaml, .yml or .json, because
// Backstage's resolveUrl writes tree URLs for files too.
func (u GitHubURL) FilePath() string {
	if !u.Tree || isDataFile(u.Path) {
		return u.Path
	}
	return strings.TrimPrefix(path.Join(u.Path, DefaultCatalogPath), "/")
}

func isDataFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// BlobURL is the https blob URL of the file FilePath names: the canonical form of a GitHub target.
func (u GitHubURL) BlobURL() string {
	u.Path, u.Tree = u.FilePath(), false
	return u.url("https").String()
}

// String is the URL in the form it was parsed from, with https.
func (u GitHubURL) String() string { return u.url("https").String() }

func (u GitHubURL) url(scheme string) *url.URL {
	kind := "blob"
	if u.Tree {
		kind = "tree"
	}
	p := "/" + path.Join(u.Owner, u.Repo, kind, u.Ref, u.Path)
	return &url.URL{Scheme: scheme, Host: u.Host, Path: p}
}

// GitHubHost is one GitHub host Portal reads from: github.com or a GitHub Enterprise Server, with the
// API client (holding that host's API base URL and token) to reach it.
type GitHubHost struct {
	// Host is the web host that appears in URLs, e.g. "github.com" or "ghe.billpay.internal"; "" means
	// github.com.
	Host  string
	Files GitHubFiles
}

// GitHubReader reads GitHub blob and tree URLs through the API of their host, so private repositories
// and GitHub Enterprise work with the host's token.
type GitHubReader struct {
	hosts map[string]GitHubFiles
}

var _ Reader = (*GitHubReader)(nil)

// NewGitHubReader returns a reader for the given hosts. It returns errs.Invalid if a host is listed twice
// or has no client.
func NewGitHubReader(hosts ...GitHubHost) (*GitHubReader, error) {
	r := &GitHubReader{hosts: make(map[string]GitHubFiles, len(hosts))}
	for _, h := range hosts {
		name := strings.ToLower(h.Host)
		if name == "" {
			name = DefaultGitHubHost
		}
		if h.Files == nil {
			return nil, errs.E(errs.Invalid, "GitHub host %s has no API client", name)
		}
		if _, dup := r.hosts[name]; dup {
			return nil, errs.E(errs.Invalid, "GitHub host %s is configured twice", name)
		}
		r.hosts[name] = h.Files
	}
	return r, nil
}

// Handles reports whether target is a URL on one of the reader's hosts. Every URL on such a host is
// the reader's, even one it cannot read, so that a private file is never fetched without the token.
func (r *GitHubReader) Handles(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	_, ok := r.hosts[strings.ToLower(u.Host)]
	return ok
}

// Read returns the file a blob URL names, or the catalog-info.yaml in the directory a tree URL names
// (see GitHubURL.FilePath). It returns errs.Invalid for a URL that is not a blob or tree URL on a
// configured host, and errs.NotFound when the repository, ref or file does not exist.
func (r *GitHubReader) Read(ctx context.Context, _ string, target string) ([]byte, error) {
	u, err := ParseGitHubURL(target)
	if err != nil {
		return nil, err
	}
	files, ok := r.hosts[u.Host]
	if !ok {
		return nil, errs.E(errs.Invalid, "%s is not on a configured GitHub host", target)
	}
	b, err := files.GetFile(ctx, u.Owner, u.Repo, u.Ref, u.FilePath())
	if err != nil {
		return nil, errs.Wrap(errs.CodeOf(err), err, "cannot read %s: %s", target, errs.MessageOf(err))
	}
	return b, nil
}

// Dispatcher is the Reader the catalog uses: it picks a reader by location type and, for URLs, by host.
type Dispatcher struct {
	// File reads "file" locations; nil means they are refused, which suits a server that must not expose
	// its disk.
	File Reader
	// GitHub reads "url" locations on its hosts; nil means none.
	GitHub *GitHubReader
	// HTTP reads every other "url" location; nil means they are refused.
	HTTP Reader
}

var _ Reader = (*Dispatcher)(nil)

// Read routes "file" to File, "url" to GitHub when the URL is on a configured GitHub host and to HTTP
// otherwise. It returns errs.Invalid for any other type, or a type with no reader.
func (d *Dispatcher) Read(ctx context.Context, locType, target string) ([]byte, error) {
	var r Reader
	switch locType {
	case "file":
		r = d.File
	case "url":
		if d.GitHub != nil && d.GitHub.Handles(target) {
			r = d.GitHub
		} else {
			r = d.HTTP
		}
	default:
		return nil, errs.E(errs.Invalid, "unknown location type %q for %s; want file or url", locType, target)
	}
	if r == nil {
		return nil, errs.E(errs.Invalid, "%s locations are not enabled, cannot read %s", locType, target)
	}
	return r.Read(ctx, locType, target)
}

// GitHubDiscoveryConfig says where GitHubDiscovery looks.
type GitHubDiscoveryConfig struct {
	// Host is the web host of the organization; "" means github.com.
	Host string
	// Org is the organization whose repositories are searched; required.
	Org string
	// CatalogPath is the file looked for in each repository's default branch; "" means
	// DefaultCatalogPath.
	CatalogPath string
	// RepoFilter, if set, is a regular expression a repository name must match (unanchored, as in
	// Backstage's filters.repository).
	RepoFilter string
	// IncludeArchived and IncludeForks admit archived repositories and forks, which are skipped by
	// default because their catalog files describe things that are gone or belong to someone else.
	IncludeArchived bool
	IncludeForks    bool
	// Concurrency bounds how many repositories are checked at once; 0 means 8.
	Concurrency int
}

// GitHubDiscovery finds the catalog file of every repository of a GitHub organization.
type GitHubDiscovery struct {
	files       GitHubFiles
	host        string
	org         string
	catalogPath string
	filter      *regexp.Regexp
	archived    bool
	forks       bool
	concurrency int
}

var _ Provider = (*GitHubDiscovery)(nil)

// NewGitHubDiscovery returns a provider that lists cfg.Org through files. It returns errs.Invalid if
// Org is missing or RepoFilter does not compile.
func NewGitHubDiscovery(files GitHubFiles, cfg GitHubDiscoveryConfig) (*GitHubDiscovery, error) {
	if files == nil {
		return nil, errs.E(errs.Invalid, "GitHub discovery needs an API client")
	}
	if cfg.Org == "" || strings.Contains(cfg.Org, "/") {
		return nil, errs.E(errs.Invalid, "GitHub discovery needs an organization name, got %q", cfg.Org)
	}
	d := &GitHubDiscovery{
		files:       files,
		host:        strings.ToLower(cfg.Host),
		org:         cfg.Org,
		catalogPath: normalizeCatalogPath(cfg.CatalogPath),
		archived:    cfg.IncludeArchived,
		forks:       cfg.IncludeForks,
		concurrency: cfg.Concurrency,
	}
	if d.host == "" {
		d.host = DefaultGitHubHost
	}
	if d.concurrency <= 0 {
		d.concurrency = 8
	}
	if slices.Contains(strings.Split(cfg.CatalogPath, "/"), "..") {
		return nil, errs.E(errs.Invalid, "GitHub discovery catalog path %q climbs out of the repository", cfg.CatalogPath)
	}
	if cfg.RepoFilter != "" {
		re, err := regexp.Compile(cfg.RepoFilter)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, err, "GitHub discovery repository filter %q: %v", cfg.RepoFilter, err)
		}
		d.filter = re
	}
	return d, nil
}

// normalizeCatalogPath returns p as "/dir/file", defaulting to DefaultCatalogPath.
func normalizeCatalogPath(p string) string {
	if strings.Trim(p, "/") == "" {
		return DefaultCatalogPath
	}
	return path.Clean("/" + p)
}

// Name is "github-discovery:<host>/<org><catalog path>", so two discoveries of one organization for
// different files keep separate sets.
func (d *GitHubDiscovery) Name() string {
	return "github-discovery:" + d.host + "/" + d.org + d.catalogPath
}

// Discover returns a url location, the blob URL of the catalog file on the default branch, for every
// admitted repository that has the file, sorted by target. Any error other than a missing file fails
// the whole call, since a partial list would make the catalog delete the entities of the repositories
// it left out.
func (d *GitHubDiscovery) Discover(ctx context.Context) ([]Location, error) {
	repos, err := d.files.ListOrgRepos(ctx, d.org)
	if err != nil {
		return nil, errs.Wrap(errs.CodeOf(err), err, "cannot list repositories of %s/%s: %s", d.host, d.org, errs.MessageOf(err))
	}
	repos = slices.DeleteFunc(repos, func(r GitHubRepo) bool { return !d.admits(r) })

	checkCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		found    []Location
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, d.concurrency)
	)
	for _, repo := range repos {
		sem <- struct{}{}
		if checkCtx.Err() != nil { // a check failed or ctx ended; the rest would only fail too
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := d.hasCatalogFile(checkCtx, repo)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && firstErr == nil:
				firstErr = err
				cancel()
			case ok:
				found = append(found, Location{Type: "url", Target: d.target(repo)})
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "discovery of %s/%s stopped: %v", d.host, d.org, err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Target < found[j].Target })
	return found, nil
}

func (d *GitHubDiscovery) admits(r GitHubRepo) bool {
	switch {
	case r.DefaultBranch == "": // an empty repository has no branch, hence no file
		return false
	case r.Archived && !d.archived, r.Fork && !d.forks:
		return false
	case d.filter != nil && !d.filter.MatchString(r.Name):
		return false
	}
	return true
}

func (d *GitHubDiscovery) hasCatalogFile(ctx context.Context, r GitHubRepo) (bool, error) {
	_, err := d.files.GetFile(ctx, d.owner(r), r.Name, r.DefaultBranch, strings.TrimPrefix(d.catalogPath, "/"))
	switch {
	case errs.Is(err, errs.NotFound):
		return false, nil
	case err != nil:
		return false, errs.Wrap(errs.CodeOf(err), err, "cannot check %s in %s/%s: %s", d.catalogPath, d.owner(r), r.Name, errs.MessageOf(err))
	}
	return true, nil
}

// owner prefers the login GitHub reports, whose case is canonical, over the configured name.
func (d *GitHubDiscovery) owner(r GitHubRepo) string {
	if r.Owner != "" {
		return r.Owner
	}
	return d.org
}

func (d *GitHubDiscovery) target(r GitHubRepo) string {
	return GitHubURL{
		Host:  d.host,
		Owner: d.owner(r),
		Repo:  r.Name,
		Ref:   r.DefaultBranch,
		Path:  strings.TrimPrefix(d.catalogPath, "/"),
	}.BlobURL()
}

// PushEvent is what a GitHub push webhook says that matters to the catalog.
type PushEvent struct {
	// Host is the web host of the repository, e.g. "github.com".
	Host string
	// Repo is the repository's full name, "owner/name".
	Repo string
	// Ref is the pushed ref, e.g. "refs/heads/main" or "refs/tags/v1".
	Ref           string
	DefaultBranch string
	// Added, Modified and Removed are paths relative to the repository root, gathered over every commit
	// of the push.
	Added, Modified, Removed []string
}

// PushPlan is what a push asks of the catalog.
type PushPlan struct {
	// Refresh holds the blob URL, on the pushed ref, of every file the push added, modified or removed,
	// sorted: the refresh keys ("url:" + target) of locations and placeholders that read those files.
	// Targets spelled differently (tree URLs, HEAD for the default branch) are matched by Affects.
	Refresh []string
	// Rediscover is set when a push to the default branch added or removed the catalog file, which
	// changes the set GitHub discovery of the repository's organization returns.
	Rediscover bool

	host, owner, repo, ref string
	isDefault              bool
	touched                map[string]bool
}

// PlanPush decides what a push means for the catalog. catalogPath is the discovery's catalog file ("" means
// DefaultCatalogPath). A push without a repository or ref plans nothing.
func PlanPush(ev PushEvent, catalogPath string) PushPlan {
	owner, repo, ok := strings.Cut(ev.Repo, "/")
	ref := strings.TrimPrefix(strings.TrimPrefix(ev.Ref, "refs/heads/"), "refs/tags/")
	if !ok || owner == "" || repo == "" || ref == "" {
		return PushPlan{}
	}
	host := strings.ToLower(ev.Host)
	if host == "" {
		host = DefaultGitHubHost
	}
	p := PushPlan{
		host:      host,
		owner:     owner,
		repo:      repo,
		ref:       ref,
		isDefault: ev.DefaultBranch != "" && ev.Ref == "refs/heads/"+ev.DefaultBranch,
		touched:   map[string]bool{},
	}
	for _, list := range [][]string{ev.Added, ev.Modified, ev.Removed} {
		for _, f := range list {
			f = strings.TrimPrefix(path.Clean("/"+f), "/")
			if f == "" || p.touched[f] {
				continue
			}
			p.touched[f] = true
			p.Refresh = append(p.Refresh, GitHubURL{Host: host, Owner: owner, Repo: repo, Ref: ref, Path: f}.BlobURL())
		}
	}
	sort.Strings(p.Refresh)

	catalogFile := strings.TrimPrefix(normalizeCatalogPath(catalogPath), "/")
	if p.isDefault && (containsPath(ev.Added, catalogFile) || containsPath(ev.Removed, catalogFile)) {
		p.Rediscover = true
	}
	return p
}

func containsPath(list []string, file string) bool {
	return slices.ContainsFunc(list, func(f string) bool { return strings.TrimPrefix(path.Clean("/"+f), "/") == file })
}

// Affects reports whether target, a url location target, reads a file the push touched: same host and
// repository (compared case-insensitively, as GitHub does), the pushed ref (or HEAD when the default
// branch was pushed), and a file in the push. Knowing the pushed ref lets it match refs containing "/",
// which ParseGitHubURL cannot split from the path on its own.
func (p PushPlan) Affects(target string) bool {
	if p.touched == nil {
		return false
	}
	u, err := ParseGitHubURL(target)
	if err != nil {
		return false
	}
	if u.Host != p.host || !strings.EqualFold(u.Owner, p.owner) || !strings.EqualFold(u.Repo, p.repo) {
		return false
	}
	refAndPath := strings.TrimSuffix(u.Ref+"/"+u.Path, "/")
	refs := []string{p.ref}
	if p.isDefault {
		refs = append(refs, "HEAD")
	}
	for _, ref := range refs {
		rest, ok := strings.CutPrefix(refAndPath, ref)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		u.Ref, u.Path = ref, strings.TrimPrefix(rest, "/")
		if u.Path == "" && !u.Tree {
			continue
		}
		return p.touched[u.FilePath()]
	}
	return false
}
