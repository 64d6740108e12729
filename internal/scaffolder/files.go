package scaffolder

import (
	"context"
	"errors"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder/workspace"
)

// TemplateFiles reads a template's own files: the directory holding its template.yaml and everything
// below. Paths are slash-separated and relative to that directory; a path that leaves it (by "..", as
// an absolute path, or through a symbolic link) is refused with errs.Forbidden, so one template cannot
// read another's files or the server's.
type TemplateFiles interface {
	// ReadTree copies the directory at p into dst.
	ReadTree(ctx context.Context, p string, dst *workspace.Dir) error
	// ReadFile returns the file at p.
	ReadFile(ctx context.Context, p string) ([]byte, error)
}

// GitHubArchives is the GitHub port the GitHub template reader needs: GET
// /repos/{owner}/{repo}/tarball/{ref}, a gzipped tar with everything under one top-level directory.
// The go-github adapter implements it with Repositories.GetArchiveLink.
type GitHubArchives interface {
	Tarball(ctx context.Context, owner, repo, ref string) (io.ReadCloser, error)
}

// TemplateSources chooses how to read a template location, by URL scheme and host.
type TemplateSources struct {
	// FileRoots are the directories file: template locations may lie in; a template elsewhere on disk
	// is refused. Empty allows none.
	FileRoots []string
	// GitHub maps web hosts ("github.com") to the API that serves their archives.
	GitHub map[string]GitHubArchives
}

// Open returns the reader for the template whose template.yaml (or directory) is at baseURL.
func (s TemplateSources) Open(baseURL string) (TemplateFiles, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "template location %q is not a URL", baseURL)
	}
	switch u.Scheme {
	case "file":
		dir := baseDir(u.Path)
		allowed := false
		for _, root := range s.FileRoots {
			abs, err := filepath.Abs(root)
			if err != nil {
				continue
			}
			if rel, err := filepath.Rel(abs, filepath.FromSlash(dir)); err == nil && (rel == "." || filepath.IsLocal(rel)) {
				allowed = true
				break
			}
		}
		if !allowed {
			return nil, errs.E(errs.Forbidden, "template location %s is not under a directory Portal reads templates from", baseURL)
		}
		return &fileTemplate{dir: filepath.FromSlash(dir)}, nil
	case "https", "http":
		gh, ok := s.GitHub[u.Host]
		if !ok {
			return nil, errs.E(errs.Invalid, "no integration reads templates from %s", u.Host)
		}
		parts := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(parts) < 4 || (parts[2] != "blob" && parts[2] != "tree") {
			return nil, errs.E(errs.Invalid, "template location %s is not a GitHub blob or tree URL", baseURL)
		}
		dir := strings.Join(parts[4:], "/")
		if parts[2] == "blob" || strings.HasSuffix(dir, ".yaml") || strings.HasSuffix(dir, ".yml") {
			dir = path.Dir(dir)
		}
		if dir == "." {
			dir = ""
		}
		return &githubTemplate{api: gh, owner: parts[0], repo: parts[1], ref: parts[3], dir: dir, web: u}, nil
	}
	return nil, errs.E(errs.Invalid, "template location %s has an unsupported scheme", baseURL)
}

// baseDir is the directory a relative URL resolves against: everything up to the last slash, as
// new URL("./x", base) does (a base naming template.yaml resolves beside it).
func baseDir(p string) string {
	if strings.HasSuffix(p, "/") {
		return strings.TrimSuffix(p, "/")
	}
	return path.Dir(p)
}

// ResolveTemplatePath turns a fetch action's url input into a path relative to the template's
// directory. Relative URLs resolve as Backstage resolves them against baseURL; an absolute URL is
// accepted only when it points inside the template's own directory.
func ResolveTemplatePath(baseURL, ref string) (string, error) {
	base, err := url.Parse(baseURL)
	if err != nil || baseURL == "" {
		return "", errs.E(errs.Invalid, "the task has no template location to resolve %q against", ref)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", errs.E(errs.Invalid, "url %q is not a URL or path", ref)
	}
	dir := baseDir(base.Path)
	var target string
	if r.IsAbs() || r.Host != "" {
		if r.Scheme != base.Scheme || r.Host != base.Host {
			return "", errs.E(errs.Forbidden, "url %q is outside the template's own location %s", ref, baseURL)
		}
		target = r.Path
	} else {
		if strings.HasPrefix(r.Path, "/") {
			return "", errs.E(errs.Forbidden, "url %q is an absolute path; a template reads only its own files", ref)
		}
		target = path.Join(dir, r.Path)
	}
	target = strings.TrimSuffix(target, "/")
	if target == dir {
		return ".", nil
	}
	rel, ok := strings.CutPrefix(path.Clean(target), dir+"/")
	if !ok {
		return "", errs.E(errs.Forbidden, "url %q is outside the template's own directory", ref)
	}
	return rel, nil
}

func forbiddenPath(p string, err error) error {
	var ee *workspace.EscapeError
	if errors.As(err, &ee) {
		return errs.Wrap(errs.Forbidden, err, "template path %q is outside the template's own directory: %s", p, ee.Reason)
	}
	return err
}

// fileTemplate reads a template from disk through os.Root, which refuses symlinks leading out.
type fileTemplate struct{ dir string }

func (f *fileTemplate) open() (*workspace.Dir, error) {
	d, err := workspace.Open(f.dir)
	if err != nil {
		return nil, errs.Wrap(errs.NotFound, err, "template directory %s cannot be opened", f.dir)
	}
	return d, nil
}

func (f *fileTemplate) ReadFile(_ context.Context, p string) ([]byte, error) {
	d, err := f.open()
	if err != nil {
		return nil, err
	}
	defer d.Close()
	b, err := d.ReadFile(p)
	return b, forbiddenPath(p, err)
}

func (f *fileTemplate) ReadTree(ctx context.Context, p string, dst *workspace.Dir) error {
	src, err := f.open()
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat(p)
	if err != nil {
		return forbiddenPath(p, err)
	}
	if !fi.IsDir() {
		return errs.E(errs.Invalid, "template path %q is a file, not a directory", p)
	}
	files, err := src.Walk(p, workspace.WalkOptions{Git: true})
	if err != nil {
		return forbiddenPath(p, err)
	}
	return CopyFiles(ctx, src, p, files, dst)
}

// CopyFiles copies files (from src.Walk(dir)) into dst, keeping modes and inner symbolic links.
func CopyFiles(ctx context.Context, src *workspace.Dir, dir string, files []workspace.File, dst *workspace.Dir) error {
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		from := path.Join(dir, f.Path)
		if f.IsDir {
			if err := dst.MkdirAll(f.Path); err != nil {
				return err
			}
			continue
		}
		if f.LinkTarget != "" {
			if err := dst.Symlink(f.LinkTarget, f.Path); err != nil {
				return forbiddenPath(from, err)
			}
			continue
		}
		data, err := src.ReadFile(from)
		if err != nil {
			return forbiddenPath(from, err)
		}
		if err := dst.WriteFile(f.Path, data, f.Mode.Perm()); err != nil {
			return err
		}
	}
	return nil
}

// githubTemplate reads a template from a GitHub repository's archive.
type githubTemplate struct {
	api              GitHubArchives
	owner, repo, ref string
	dir              string
	web              *url.URL
}

func (g *githubTemplate) extract(ctx context.Context, p string, dst *workspace.Dir) error {
	c, err := workspace.Clean(p)
	if err != nil {
		return forbiddenPath(p, err)
	}
	rc, err := g.api.Tarball(ctx, g.owner, g.repo, g.ref)
	if err != nil {
		return err
	}
	defer rc.Close()
	prefix := path.Join(g.dir, c)
	if prefix == "." {
		prefix = ""
	}
	if err := workspace.ExtractTar(rc, dst, workspace.ExtractOptions{StripComponents: 1, Prefix: prefix}); err != nil {
		return forbiddenPath(p, err)
	}
	return nil
}

func (g *githubTemplate) ReadTree(ctx context.Context, p string, dst *workspace.Dir) error {
	return g.extract(ctx, p, dst)
}

func (g *githubTemplate) ReadFile(ctx context.Context, p string) ([]byte, error) {
	c, err := workspace.Clean(p)
	if err != nil {
		return nil, forbiddenPath(p, err)
	}
	p = c
	tmp, err := workspace.Create("", "portal-template-")
	if err != nil {
		return nil, err
	}
	defer tmp.RemoveAll()
	parent, name := path.Split(strings.TrimPrefix(path.Clean("/"+p), "/"))
	sub, err := tmp.Sub("t")
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	if err := g.extract(ctx, strings.TrimSuffix(parent, "/"), sub); err != nil {
		return nil, err
	}
	b, err := sub.ReadFile(name)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.E(errs.NotFound, "file %s not found in %s/%s@%s", path.Join(g.dir, p), g.owner, g.repo, g.ref)
	}
	return b, err
}

// DirFiles reads a template from a directory given directly, as a dry run does with the files its
// request carries.
func DirFiles(dir string) TemplateFiles { return &fileTemplate{dir: dir} }
