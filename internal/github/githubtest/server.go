// Package githubtest is a fake GitHub for tests: an httptest server speaking GitHub's REST wire protocol
// for the endpoints Portal's adapter calls, over an in-memory model of organizations, repositories and
// files, plus helpers to build and sign webhook deliveries. It encodes the wire format by hand, never
// with go-github's types, so a test through go-github checks the adapter against the protocol rather
// than against go-github's own idea of it.
//
// Served (with or without the /api/v3 prefix of GitHub Enterprise):
//
//	GET /repos/{owner}/{repo}                     repository
//	GET /repos/{owner}/{repo}/contents/{path}?ref= file (base64, or raw with Accept: application/vnd.github.raw*), or directory listing
//	GET /orgs/{org}/repos?type=&per_page=&page=   repositories, paginated with a Link header
//	GET /raw/{owner}/{repo}/{ref}/{path}          download_url of a file
//
// and, after EnableOAuth, GitHub's OAuth web flow with PKCE and the signed-in user's /user, /user/orgs and
// /user/teams (see oauth.go).
package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake GitHub. Its model methods panic on a repository that was never added: that is a
// mistake in the test, not a condition to handle.
type Server struct {
	srv *httptest.Server

	mu          sync.Mutex
	repos       []*repo // in creation order, which is GitHub's default listing order
	nextID      int64
	requests    []string
	maxPerPage  int
	inlineLimit int
	token       string
	rateReset   time.Time
	webHost     string
	oauth       *oauthState
}

type repo struct {
	id            int64
	owner, name   string
	defaultBranch string
	archived      bool
	fork          bool
	// refs maps a branch or tag to its tree: file path (no leading slash) to contents.
	refs map[string]map[string][]byte
}

// NewServer starts a fake GitHub that t closes when it ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{maxPerPage: 100, inlineLimit: 1 << 20, webHost: "github.com", nextID: 1000}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's root; give it to the adapter as a GitHub Enterprise base URL, to which go-github
// appends /api/v3/.
func (s *Server) URL() string { return s.srv.URL }

// AddRepo adds owner/name, creating the organization owner if needed, with an empty default branch.
func (s *Server) AddRepo(owner, name, defaultBranch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(owner, name) != nil {
		panic(fmt.Sprintf("githubtest: repository %s/%s added twice", owner, name))
	}
	s.nextID++
	s.repos = append(s.repos, &repo{
		id: s.nextID, owner: owner, name: name, defaultBranch: defaultBranch,
		refs: map[string]map[string][]byte{defaultBranch: {}},
	})
}

// PutFile writes path on the repository's default branch.
func (s *Server) PutFile(owner, repoName, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustFind(owner, repoName)
	r.refs[r.defaultBranch][cleanPath(path)] = []byte(content)
}

// PutFileAt writes path on ref, creating the branch or tag if needed.
func (s *Server) PutFileAt(owner, repoName, ref, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustFind(owner, repoName)
	if r.refs[ref] == nil {
		r.refs[ref] = map[string][]byte{}
	}
	r.refs[ref][cleanPath(path)] = []byte(content)
}

// DeleteFile removes path from the default branch.
func (s *Server) DeleteFile(owner, repoName, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustFind(owner, repoName)
	delete(r.refs[r.defaultBranch], cleanPath(path))
}

// Archive marks the repository archived.
func (s *Server) Archive(owner, repoName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustFind(owner, repoName).archived = true
}

// MarkFork marks the repository a fork.
func (s *Server) MarkFork(owner, repoName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustFind(owner, repoName).fork = true
}

// SetMaxPerPage caps page sizes below GitHub's 100, so a test can cross pages with a few repositories.
func (s *Server) SetMaxPerPage(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxPerPage = n
}

// SetInlineLimit sets the size above which the contents API omits a file's content (GitHub's is 1 MB).
func (s *Server) SetInlineLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inlineLimit = n
}

// RequireToken makes every request without "Authorization: Bearer <token>" (or "token <token>") fail
// with 401 Bad credentials; "" accepts anonymous requests again.
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// ExhaustRateLimit makes every API request fail with GitHub's 403 rate limit response until reset; the
// zero time restores the limit.
func (s *Server) ExhaustRateLimit(reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateReset = reset
}

// SetWebHost sets the host of html_url fields (github.com by default), which a GitHub Enterprise server
// would report as its own host.
func (s *Server) SetWebHost(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webHost = host
}

// RequestCount is the number of requests served so far, failed ones included.
func (s *Server) RequestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Requests lists the requests served so far as "METHOD /path?query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests forgets the requests served so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func cleanPath(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func (s *Server) find(owner, name string) *repo {
	for _, r := range s.repos {
		if strings.EqualFold(r.owner, owner) && strings.EqualFold(r.name, name) {
			return r
		}
	}
	return nil
}

func (s *Server) mustFind(owner, name string) *repo {
	r := s.find(owner, name)
	if r == nil {
		panic(fmt.Sprintf("githubtest: no repository %s/%s; call AddRepo first", owner, name))
	}
	return r
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())

	p := strings.TrimPrefix(r.URL.Path, "/api/v3")
	if s.serveOAuth(w, r, p) {
		return
	}
	if rest, ok := strings.CutPrefix(p, "/raw/"); ok {
		s.serveRaw(w, rest)
		return
	}
	if s.token != "" {
		got := r.Header.Get("Authorization")
		if got != "Bearer "+s.token && got != "token "+s.token {
			writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
			return
		}
	}
	if !s.rateReset.IsZero() && time.Now().Before(s.rateReset) {
		s.setRateHeaders(w, 0)
		writeError(w, http.StatusForbidden, "API rate limit exceeded for installation.",
			"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting")
		return
	}
	s.setRateHeaders(w, 4999)
	if r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}

	segs := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(segs) == 3 && segs[0] == "orgs" && segs[2] == "repos":
		s.serveOrgRepos(w, r, segs[1])
	case len(segs) == 3 && segs[0] == "repos":
		rp := s.find(segs[1], segs[2])
		if rp == nil {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository")
			return
		}
		writeJSON(w, http.StatusOK, s.repoJSON(rp))
	case len(segs) >= 4 && segs[0] == "repos" && segs[3] == "contents":
		s.serveContents(w, r, segs[1], segs[2], strings.Join(segs[4:], "/"))
	default:
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

func (s *Server) setRateHeaders(w http.ResponseWriter, remaining int) {
	reset := s.rateReset
	if reset.IsZero() || time.Now().After(reset) {
		reset = time.Now().Add(time.Hour)
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) serveOrgRepos(w http.ResponseWriter, r *http.Request, org string) {
	var all []*repo
	for _, rp := range s.repos {
		if strings.EqualFold(rp.owner, org) {
			all = append(all, rp)
		}
	}
	if len(all) == 0 {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/repos#list-organization-repositories")
		return
	}
	q := r.URL.Query()
	switch q.Get("type") {
	case "forks":
		all = slices.DeleteFunc(all, func(rp *repo) bool { return !rp.fork })
	case "sources":
		all = slices.DeleteFunc(all, func(rp *repo) bool { return rp.fork })
	case "private":
		all = nil // every fake repository is public
	}

	perPage := 30
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	perPage = min(perPage, s.maxPerPage)
	page := 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	last := max(1, (len(all)+perPage-1)/perPage)

	link := func(n int) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = v.Encode()
		return "<" + u.String() + ">"
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1)+`; rel="prev"`)
	}
	if page < last {
		links = append(links, link(page+1)+`; rel="next"`, link(last)+`; rel="last"`)
	}
	if page > 1 {
		links = append(links, link(1)+`; rel="first"`)
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}

	out := []map[string]any{}
	for i := (page - 1) * perPage; i < len(all) && i < page*perPage; i++ {
		out = append(out, s.repoJSON(all[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveContents(w http.ResponseWriter, r *http.Request, owner, name, p string) {
	const docs = "https://docs.github.com/rest/repos/contents#get-repository-content"
	rp := s.find(owner, name)
	if rp == nil {
		writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = rp.defaultBranch
	}
	tree, ok := rp.refs[ref]
	if !ok {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+ref, docs)
		return
	}
	if len(tree) == 0 && ref == rp.defaultBranch {
		writeError(w, http.StatusNotFound, "This repository is empty.", docs)
		return
	}
	p = cleanPath(p)

	if content, ok := tree[p]; ok {
		if strings.Contains(r.Header.Get("Accept"), "application/vnd.github.raw") {
			w.Header().Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(content)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(content)
			return
		}
		entry := s.entryJSON(rp, ref, p, "file", len(content))
		if len(content) > s.inlineLimit {
			entry["content"] = ""
			entry["encoding"] = "none"
		} else {
			entry["content"] = wrap60(base64.StdEncoding.EncodeToString(content))
			entry["encoding"] = "base64"
		}
		writeJSON(w, http.StatusOK, entry)
		return
	}

	// A directory exists when some file lies under it; list its immediate children.
	prefix := ""
	if p != "" {
		prefix = p + "/"
	}
	children := map[string]map[string]any{}
	for f, content := range tree {
		rest, ok := strings.CutPrefix(f, prefix)
		if !ok {
			continue
		}
		child, _, isDir := strings.Cut(rest, "/")
		if isDir {
			children[child] = s.entryJSON(rp, ref, prefix+child, "dir", 0)
		} else {
			children[child] = s.entryJSON(rp, ref, f, "file", len(content))
		}
	}
	if len(children) == 0 {
		writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	names := make([]string, 0, len(children))
	for n := range children {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		out = append(out, children[n])
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveRaw(w http.ResponseWriter, rest string) {
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) == 4 {
		if rp := s.find(parts[0], parts[1]); rp != nil {
			if content, ok := rp.refs[parts[2]][cleanPath(parts[3])]; ok {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				_, _ = w.Write(content)
				return
			}
		}
	}
	http.Error(w, "404: Not Found", http.StatusNotFound)
}

func (s *Server) entryJSON(rp *repo, ref, p, kind string, size int) map[string]any {
	api := s.srv.URL + "/api/v3/repos/" + rp.owner + "/" + rp.name + "/contents/" + p + "?ref=" + url.QueryEscape(ref)
	html := "https://" + s.webHost + "/" + rp.owner + "/" + rp.name + "/" + map[string]string{"file": "blob", "dir": "tree"}[kind] + "/" + ref + "/" + p
	sha := fmt.Sprintf("%040x", int64(len(p))*7919+int64(size))
	e := map[string]any{
		"type":     kind,
		"name":     path.Base(p),
		"path":     p,
		"sha":      sha,
		"size":     size,
		"url":      api,
		"html_url": html,
		"git_url":  s.srv.URL + "/api/v3/repos/" + rp.owner + "/" + rp.name + "/git/blobs/" + sha,
		"_links":   map[string]string{"self": api, "git": s.srv.URL + "/api/v3/repos/" + rp.owner + "/" + rp.name + "/git/blobs/" + sha, "html": html},
	}
	if kind == "file" {
		e["download_url"] = s.srv.URL + "/raw/" + rp.owner + "/" + rp.name + "/" + ref + "/" + p
	} else {
		e["download_url"] = nil
	}
	return e
}

func (s *Server) repoJSON(rp *repo) map[string]any {
	api := s.srv.URL + "/api/v3/repos/" + rp.owner + "/" + rp.name
	html := "https://" + s.webHost + "/" + rp.owner + "/" + rp.name
	return map[string]any{
		"id":        rp.id,
		"node_id":   fmt.Sprintf("R_%d", rp.id),
		"name":      rp.name,
		"full_name": rp.owner + "/" + rp.name,
		"private":   false,
		"owner": map[string]any{
			"login":    rp.owner,
			"id":       1,
			"type":     "Organization",
			"html_url": "https://" + s.webHost + "/" + rp.owner,
		},
		"html_url":       html,
		"url":            api,
		"contents_url":   api + "/contents/{+path}",
		"clone_url":      html + ".git",
		"fork":           rp.fork,
		"archived":       rp.archived,
		"disabled":       false,
		"visibility":     "public",
		"default_branch": rp.defaultBranch,
	}
}

// wrap60 breaks base64 text into 60-character lines, as the contents API does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	b.WriteByte('\n')
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, message, docs string) {
	writeJSON(w, status, map[string]any{"message": message, "documentation_url": docs, "status": strconv.Itoa(status)})
}
