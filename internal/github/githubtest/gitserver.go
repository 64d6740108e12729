package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// GitServer is a fake GitHub whose repositories are real git repositories on disk, for the
// scaffolder: publish:github creates repositories through its REST API and pushes to them over git's
// smart HTTP protocol (served by the real `git http-backend`), the catalog reads what was pushed
// through the contents API, and templates are read from archives.
//
// Served, with or without the /api/v3 prefix, with "Authorization: Bearer <token>":
//
//	GET  /users/{login}                                  an organization or user ("type")
//	POST /orgs/{org}/repos, POST /user/repos             create an empty bare repository
//	GET  /repos/{owner}/{repo}
//	PUT  /repos/{owner}/{repo}/topics
//	PUT  /repos/{owner}/{repo}/branches/{branch}/protection (+ POST .../required_signatures)
//	GET  /repos/{owner}/{repo}/contents/{path}?ref=      a file (base64 or raw) or a directory listing
//	GET  /repos/{owner}/{repo}/tarball/{ref}             302 to /codeload/..., a git archive
//	GET  /repos/{owner}/{repo}/branches, /orgs/{org}/repos, /users/{user}/repos, /user/repos
//
// and git at /git/{owner}/{repo}.git with Basic auth "x-access-token:<token>", as GitHub takes
// installation tokens. It skips the test when git is not installed.
type GitServer struct {
	t     testing.TB
	srv   *httptest.Server
	token string
	root  string // bare repositories: root/<owner>/<name>.git
	git   string
	// User is the login that owns the token (POST /user/repos creates under it).
	User string

	mu       sync.Mutex
	requests []string
	bodies   map[string]map[string]any
	owners   map[string]string // login -> "Organization" | "User"
	pushAuth []string
}

// NewGitServer starts a fake GitHub accepting token, with the organization "billpay" and the user
// "jane" (the token's own account). t closes it when it ends.
func NewGitServer(t testing.TB, token string) *GitServer {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	s := &GitServer{t: t, token: token, root: t.TempDir(), git: git, User: "jane", bodies: map[string]map[string]any{},
		owners: map[string]string{"billpay": "Organization", "jane": "User"}}
	backend := &cgi.Handler{
		Path: git, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + s.root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/git/", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.pushAuth = append(s.pushAuth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+s.token))
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/git")
		backend.ServeHTTP(w, r2)
	})
	mux.HandleFunc("/codeload/", s.serveCodeload)
	mux.HandleFunc("/", s.serveAPI)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's root; give it to the adapter as a GitHub Enterprise base URL.
func (s *GitServer) URL() string { return s.srv.URL }

// Token is the token the server accepts.
func (s *GitServer) Token() string { return s.token }

// AddOwner adds an organization ("Organization") or user ("User") login.
func (s *GitServer) AddOwner(login, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners[login] = typ
}

// Requests lists the API requests served so far as "METHOD /path" (git and archive downloads not
// included).
func (s *GitServer) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Body returns the JSON body of the last request "METHOD /path".
func (s *GitServer) Body(request string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[request]
}

// PushAuth lists the Authorization headers git sent.
func (s *GitServer) PushAuth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pushAuth)
}

func (s *GitServer) repoDir(owner, name string) string {
	return filepath.Join(s.root, strings.ToLower(owner), strings.ToLower(name)+".git")
}

// HasRepo reports whether owner/name exists.
func (s *GitServer) HasRepo(owner, name string) bool {
	_, err := os.Stat(s.repoDir(owner, name))
	return err == nil
}

// Git runs git in the bare repository owner/name and returns its trimmed output.
func (s *GitServer) Git(t testing.TB, owner, name string, args ...string) string {
	t.Helper()
	out, err := s.runGit(s.repoDir(owner, name), args...)
	if err != nil {
		t.Fatalf("git %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (s *GitServer) runGit(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command(s.git, append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
	return cmd.Output()
}

func (s *GitServer) initBare(owner, name string) error {
	dir := s.repoDir(owner, name)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	for _, args := range [][]string{{"init", "--quiet", "--bare", dir}, {"-C", dir, "config", "http.receivepack", "true"}} {
		cmd := exec.Command(s.git, args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v %s", args, err, out)
		}
	}
	return nil
}

// AddRepoFromDir creates owner/name with one commit on branch holding the files of dir.
func (s *GitServer) AddRepoFromDir(owner, name, branch, dir string) {
	s.t.Helper()
	if err := s.initBare(owner, name); err != nil {
		s.t.Fatal(err)
	}
	work := s.t.TempDir()
	if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
		s.t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=" + branch}, {"add", "--all"}, {"commit", "--quiet", "-m", "initial"},
		{"push", "--quiet", s.repoDir(owner, name), "HEAD:refs/heads/" + branch},
	} {
		if out, err := s.runGit(work, args...); err != nil {
			s.t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
}

func (s *GitServer) serveAPI(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/api/v3")
	var body map[string]any
	if r.Body != nil {
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &body)
	}
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+p)
	s.bodies[r.Method+" "+p] = body
	owners := s.owners
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	get := r.Method == http.MethodGet
	switch {
	case get && len(segs) == 2 && segs[0] == "users":
		s.mu.Lock()
		typ, ok := owners[segs[1]]
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/users/users#get-a-user")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"login": segs[1], "type": typ})
	case r.Method == http.MethodPost && ((len(segs) == 3 && segs[0] == "orgs" && segs[2] == "repos") || p == "/user/repos"):
		owner := s.User
		if segs[0] == "orgs" {
			owner = segs[1]
		}
		name, _ := body["name"].(string)
		if s.HasRepo(owner, name) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Repository creation failed.",
				"errors": []any{map[string]any{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}}})
			return
		}
		if err := s.initBare(owner, name); err != nil {
			s.t.Error(err)
			writeError(w, http.StatusInternalServerError, err.Error(), "")
			return
		}
		out := s.repoJSON(owner, name)
		out["private"], out["visibility"] = body["private"], body["visibility"]
		writeJSON(w, http.StatusCreated, out)
	case len(segs) >= 3 && segs[0] == "repos":
		s.serveRepo(w, r, segs[1], segs[2], segs[3:], body)
	case get && p == "/user/repos":
		// Everything the token sees: every repository here.
		owners, _ := os.ReadDir(s.root)
		out := []map[string]any{}
		for _, o := range owners {
			repos, _ := os.ReadDir(filepath.Join(s.root, o.Name()))
			for _, e := range repos {
				out = append(out, s.repoJSON(o.Name(), strings.TrimSuffix(e.Name(), ".git")))
			}
		}
		writeJSON(w, http.StatusOK, out)
	case get && len(segs) == 3 && (segs[0] == "orgs" || segs[0] == "users") && segs[2] == "repos":
		s.mu.Lock()
		typ := owners[segs[1]]
		s.mu.Unlock()
		if (segs[0] == "orgs") != (typ == "Organization") {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/repos")
			return
		}
		entries, _ := os.ReadDir(filepath.Join(s.root, strings.ToLower(segs[1])))
		out := []map[string]any{}
		for _, e := range entries {
			out = append(out, s.repoJSON(segs[1], strings.TrimSuffix(e.Name(), ".git")))
		}
		writeJSON(w, http.StatusOK, out)
	default:
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

func (s *GitServer) repoJSON(owner, name string) map[string]any {
	html := "https://github.com/" + owner + "/" + name
	return map[string]any{
		"name": name, "full_name": owner + "/" + name, "owner": map[string]any{"login": owner},
		"html_url": html, "clone_url": s.srv.URL + "/git/" + owner + "/" + name + ".git", "default_branch": "main",
	}
}

func (s *GitServer) serveRepo(w http.ResponseWriter, r *http.Request, owner, name string, rest []string, body map[string]any) {
	if !s.HasRepo(owner, name) {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/repos")
		return
	}
	dir := s.repoDir(owner, name)
	get := r.Method == http.MethodGet
	switch {
	case get && len(rest) == 0:
		writeJSON(w, http.StatusOK, s.repoJSON(owner, name))
	case r.Method == http.MethodPut && len(rest) == 1 && rest[0] == "topics":
		writeJSON(w, http.StatusOK, map[string]any{"names": body["names"]})
	case r.Method == http.MethodPut && len(rest) == 3 && rest[0] == "branches" && rest[2] == "protection":
		writeJSON(w, http.StatusOK, map[string]any{"url": s.srv.URL + r.URL.Path})
	case r.Method == http.MethodPost && len(rest) == 4 && rest[0] == "branches" && rest[2] == "protection" && rest[3] == "required_signatures":
		writeJSON(w, http.StatusOK, map[string]any{"enabled": true})
	case get && len(rest) == 1 && rest[0] == "branches":
		out, _ := s.runGit(dir, "for-each-ref", "--format=%(refname:short)", "refs/heads")
		list := []map[string]any{}
		for _, b := range strings.Fields(string(out)) {
			list = append(list, map[string]any{"name": b})
		}
		writeJSON(w, http.StatusOK, list)
	case get && len(rest) >= 1 && rest[0] == "contents":
		s.serveContents(w, r, owner, name, strings.Join(rest[1:], "/"))
	case get && len(rest) >= 1 && rest[0] == "tarball":
		ref := strings.Join(rest[1:], "/")
		if ref == "" {
			ref = "HEAD"
		}
		w.Header().Set("Location", s.srv.URL+"/codeload/"+owner+"/"+name+"/legacy.tar.gz/"+ref+"?token=download-grant")
		w.WriteHeader(http.StatusFound)
	default:
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

func (s *GitServer) serveContents(w http.ResponseWriter, r *http.Request, owner, name, p string) {
	const docs = "https://docs.github.com/rest/repos/contents#get-repository-content"
	dir := s.repoDir(owner, name)
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = "HEAD"
	}
	p = cleanPath(p)
	typ, err := s.runGit(dir, "cat-file", "-t", ref+":"+p)
	if err != nil {
		writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	html := "https://github.com/" + owner + "/" + name
	switch strings.TrimSpace(string(typ)) {
	case "blob":
		content, err := s.runGit(dir, "cat-file", "blob", ref+":"+p)
		if err != nil {
			writeError(w, http.StatusNotFound, "Not Found", docs)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "application/vnd.github.raw") {
			w.Header().Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
			_, _ = w.Write(content)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"type": "file", "name": filepath.Base(p), "path": p, "size": len(content),
			"encoding": "base64", "content": wrap60(base64.StdEncoding.EncodeToString(content)), "html_url": html + "/blob/" + ref + "/" + p})
	case "tree":
		out, _ := s.runGit(dir, "ls-tree", ref+":"+p)
		list := []map[string]any{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			meta, entry, ok := strings.Cut(line, "\t")
			if !ok {
				continue
			}
			kind := "file"
			if strings.Contains(meta, " tree ") {
				kind = "dir"
			}
			full := strings.TrimPrefix(p+"/"+entry, "/")
			list = append(list, map[string]any{"type": kind, "name": entry, "path": full})
		}
		writeJSON(w, http.StatusOK, list)
	default:
		writeError(w, http.StatusNotFound, "Not Found", docs)
	}
}

// serveCodeload answers archive links: /codeload/{owner}/{repo}/legacy.tar.gz/{ref}, a gzipped tar
// with everything under one top-level directory, as GitHub's tarballs are.
func (s *GitServer) serveCodeload(w http.ResponseWriter, r *http.Request) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/codeload/"), "/", 4)
	if len(parts) != 4 || r.URL.Query().Get("token") != "download-grant" || r.Header.Get("Authorization") != "" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	owner, name, ref := parts[0], parts[1], parts[3]
	sha, err := s.runGit(s.repoDir(owner, name), "rev-parse", "--short", ref)
	if err != nil {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	prefix := owner + "-" + name + "-" + strings.TrimSpace(string(sha)) + "/"
	out, err := s.runGit(s.repoDir(owner, name), "archive", "--format=tar.gz", "--prefix="+prefix, ref)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-gzip")
	_, _ = w.Write(out)
}
