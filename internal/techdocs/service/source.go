package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing/fstest"

	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/catalog/source"
	"github.com/billpay/portal/internal/errs"
)

// Limits on one docs source, the same order as the builder's own, so a hostile repository cannot
// make the server read without end.
const (
	maxSourceFiles = 20_000
	maxSourceBytes = 256 << 20
	maxSourceDepth = 32
	githubFetches  = 8
)

// AnnotationTechDocsEntity points an entity's docs at another entity's (Backstage's
// backstage.io/techdocs-entity): a system can show the docs its main component builds.
const AnnotationTechDocsEntity = "backstage.io/techdocs-entity"

// LocationMetadata is where an entity's docs are read from, as Backstage's
// /metadata/entity route reports it: type "dir" (a directory on the server) or "url".
type LocationMetadata struct {
	Type   string
	Target string
}

// GitHubEntry is one entry of a directory listing from GitHub's contents API.
type GitHubEntry struct {
	Name string
	// Path is relative to the repository root.
	Path string
	// Type is "file", "dir", "symlink" or "submodule".
	Type string
	// SHA is the git blob (or tree) hash, which changes exactly when the content does.
	SHA  string
	Size int64
}

// GitHubContents is what docs from GitHub need of one host's API; internal/github implements it.
type GitHubContents interface {
	// ListDir returns the entries of the directory at path in owner/repo at ref ("" means the
	// default branch). It returns errs.NotFound when there is no such directory.
	ListDir(ctx context.Context, owner, repo, ref, path string) ([]GitHubEntry, error)
	// GetFile returns a file's contents; errs.NotFound when it does not exist.
	GetFile(ctx context.Context, owner, repo, ref, path string) ([]byte, error)
}

// docsSource is an entity's docs source, located and hashed but not yet read in full.
type docsSource struct {
	location LocationMetadata
	// hash identifies the content: it changes exactly when a file the build reads changes.
	hash string
	// open returns the tree to build from and a function releasing it.
	open func(ctx context.Context) (fs.FS, func(), error)
}

// sourceSpec is where an entity's docs are, before anything is read.
type sourceSpec struct {
	location LocationMetadata
	// prepare hashes the source; it reads the directory, or lists the GitHub tree.
	prepare func(ctx context.Context) (*docsSource, error)
}

// locateSource finds an entity's docs from its backstage.io/techdocs-ref annotation: dir:<path>
// relative to where the entity was read, or url:<GitHub tree URL>. It reads nothing.
//
// "Where the entity was read" is its managed-by-location when that is a file: a portal serving a
// checkout builds the docs in that checkout, whatever upstream repository its source-location
// links to. For entities read from URLs it is, as in Backstage, the source-location (which
// processing sets to the catalog file's directory unless the entity names another), else the
// managed-by-location.
func (s *Service) locateSource(e catalog.Entity) (*sourceSpec, error) {
	ref := strings.TrimSpace(e.Annotation(catalog.AnnotationTechDocsRef))
	if ref == "" {
		return nil, errs.E(errs.NotFound, "entity %s has no %s annotation", e.Ref(), catalog.AnnotationTechDocsRef)
	}
	kind, target, ok := strings.Cut(ref, ":")
	if !ok || target == "" {
		return nil, errs.E(errs.Invalid, "%s %q of %s is not <type>:<target>", catalog.AnnotationTechDocsRef, ref, e.Ref())
	}
	switch kind {
	case "url":
		return s.githubSource(target, "")
	case "dir":
		if path.IsAbs(target) || filepath.IsAbs(target) {
			return nil, errs.E(errs.Invalid, "%s %q of %s must be relative to the entity's location", catalog.AnnotationTechDocsRef, ref, e.Ref())
		}
		base := e.Annotation(catalog.AnnotationManagedByLocation)
		if src := e.Annotation(catalog.AnnotationSourceLocation); src != "" && !strings.HasPrefix(base, "file:") {
			base = src
		}
		baseType, baseTarget, _ := strings.Cut(base, ":")
		switch baseType {
		case "file":
			return s.fileSource(e, baseTarget, target)
		case "url":
			return s.githubSource(baseTarget, target)
		}
		return nil, errs.E(errs.Invalid, "cannot resolve %s %q of %s: its location %q is neither file: nor url:", catalog.AnnotationTechDocsRef, ref, e.Ref(), base)
	}
	return nil, errs.E(errs.Invalid, "%s %q of %s: only dir: and url: references are supported", catalog.AnnotationTechDocsRef, ref, e.Ref())
}

// fileSource reads docs from the server's disk. The directory must stay inside the repository
// (the nearest directory holding .git) of the configured location the entity came from, or inside
// that location's directory when it is not in a repository: the file: counterpart of a url:
// location, whose dir: references can only reach its own repository. Everything is then read
// through an os.Root, so no symbolic link leads out either.
func (s *Service) fileSource(e catalog.Entity, locFile, rel string) (*sourceSpec, error) {
	origin := e.Annotation(catalog.AnnotationManagedByOriginLocation)
	originType, originTarget, _ := strings.Cut(origin, ":")
	if originType != "file" {
		originTarget = locFile
	}
	boundary := repositoryRoot(filepath.Dir(originTarget))
	dir := filepath.Join(filepath.Dir(locFile), filepath.FromSlash(rel))
	inside, err := filepath.Rel(boundary, dir)
	if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) || filepath.IsAbs(inside) {
		return nil, errs.E(errs.Forbidden, "%s %q of %s leaves %s, the tree of its location", catalog.AnnotationTechDocsRef, "dir:"+rel, e.Ref(), boundary)
	}
	open := func(context.Context) (fs.FS, func(), error) {
		root, err := os.OpenRoot(boundary)
		if err != nil {
			return nil, nil, errs.Wrap(errs.NotFound, err, "docs directory %s cannot be opened: %v", boundary, err)
		}
		sub := root
		if inside != "." {
			sub, err = root.OpenRoot(inside)
			root.Close()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil, nil, errs.Wrap(errs.NotFound, err, "docs directory %s does not exist", dir)
				}
				return nil, nil, errs.Wrap(errs.Forbidden, err, "docs directory %s cannot be opened inside %s: %v", dir, boundary, err)
			}
		}
		return sub.FS(), func() { sub.Close() }, nil
	}
	loc := LocationMetadata{Type: "dir", Target: dir}
	return &sourceSpec{location: loc, prepare: func(ctx context.Context) (*docsSource, error) {
		fsys, release, err := open(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
		hash, err := s.trees.hash(dir, fsys)
		if err != nil {
			return nil, err
		}
		return &docsSource{location: loc, hash: hash, open: open}, nil
	}}, nil
}

// repositoryRoot is the nearest directory from dir upwards that holds .git, or dir itself.
func repositoryRoot(dir string) string {
	dir = filepath.Clean(dir)
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// hashTree hashes the path and content of every file a build may read. Hidden files and
// directories (.git above all) are skipped, as the builder skips them.
func hashTree(fsys fs.FS) (string, error) {
	h := sha256.New()
	total := int64(0)
	err := walkSource(fsys, func(p, link string) error {
		if link != "" {
			// The builder decides whether a link stays inside; its target's content is hashed
			// where it lives.
			fmt.Fprintf(h, "L%s\x00%s\x00", p, link)
			return nil
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "F%s\x00", p)
		n, err := io.Copy(h, io.LimitReader(f, maxSourceBytes-total+1))
		total += n
		if err != nil {
			return err
		}
		if total > maxSourceBytes {
			return errs.E(errs.Invalid, "docs source is larger than %d bytes", maxSourceBytes)
		}
		h.Write([]byte{0})
		return nil
	})
	if err != nil {
		return "", sourceErr(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fingerprintTree hashes the path, size, mode and modification time of every file hashTree reads: a
// change to any of them changes the fingerprint, without reading a byte of content.
func fingerprintTree(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := walkSource(fsys, func(p, link string) error {
		if link != "" {
			fmt.Fprintf(h, "L%s\x00%s\x00", p, link)
			return nil
		}
		info, err := fs.Stat(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "F%s\x00%d\x00%d\x00%d\x00", p, info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", sourceErr(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// walkSource calls fn for every file a build may read, in a fixed order, with a symbolic link's target
// (link) instead of its content. Hidden files and directories are skipped; depth and file count are bounded.
func walkSource(fsys fs.FS, fn func(p, link string) error) error {
	files := 0
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if strings.Count(p, "/") >= maxSourceDepth {
				return errs.E(errs.Invalid, "docs source is nested deeper than %d directories", maxSourceDepth)
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, lerr := fs.ReadLink(fsys, p)
			if lerr != nil {
				return nil
			}
			return fn(p, target)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		files++
		if files > maxSourceFiles {
			return errs.E(errs.Invalid, "docs source has more than %d files", maxSourceFiles)
		}
		return fn(p, "")
	})
}

func sourceErr(err error) error {
	if errs.CodeOf(err) != errs.Internal {
		return err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return errs.Wrap(errs.NotFound, err, "docs source cannot be read: %v", err)
	}
	return errs.Wrap(errs.Invalid, err, "docs source cannot be read: %v", err)
}

// treeHashes remembers the content hash of local docs trees, by directory, with their fingerprint:
// entities that share a tree (components of a monorepo documented at its root) each read and hashed
// all of it on every check, which for 5,480 entities of one 5 MB tree was minutes of CPU. A file
// rewritten with the same size and modification time, to the nanosecond, goes unnoticed until it
// changes again, as it would for make or git's index.
type treeHashes struct {
	mu    sync.Mutex
	byDir map[string]treeHash
}

type treeHash struct{ fingerprint, hash string }

// maxTreeHashes bounds the directories remembered; past it the memory starts afresh.
const maxTreeHashes = 4096

// hash returns the content hash of the tree at dir (opened as fsys), hashing it only when its fingerprint
// changed since the last time.
func (c *treeHashes) hash(dir string, fsys fs.FS) (string, error) {
	fp, err := fingerprintTree(fsys)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	known, ok := c.byDir[dir]
	c.mu.Unlock()
	if ok && known.fingerprint == fp {
		return known.hash, nil
	}
	hash, err := hashTree(fsys)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byDir == nil || len(c.byDir) >= maxTreeHashes {
		c.byDir = map[string]treeHash{}
	}
	c.byDir[dir] = treeHash{fingerprint: fp, hash: hash}
	return hash, nil
}

// githubSource reads docs from a GitHub tree. base is a blob or tree URL; rel, when set, is a dir:
// reference relative to it (a blob's directory), which may not leave the repository.
func (s *Service) githubSource(base, rel string) (*sourceSpec, error) {
	u, err := source.ParseGitHubURL(base)
	if err != nil {
		return nil, errs.E(errs.Invalid, "docs at %s cannot be read: only GitHub blob and tree URLs on a configured host are supported", base)
	}
	if rel != "" {
		dir := u.Path
		if !u.Tree {
			dir = path.Dir(u.Path)
		}
		if source.ClimbsAbove(dir, rel) {
			return nil, errs.E(errs.Forbidden, "dir:%s leaves repository %s/%s of %s", rel, u.Owner, u.Repo, base)
		}
		u.Path, u.Tree = strings.TrimPrefix(path.Clean("/"+path.Join(dir, rel)), "/"), true
	}
	if !u.Tree {
		return nil, errs.E(errs.Invalid, "docs at %s: a url: reference must name a directory (a /tree/ URL)", base)
	}
	gh := s.opts.GitHub[u.Host]
	if gh == nil {
		return nil, errs.E(errs.Invalid, "docs at %s cannot be read: %s is not a configured GitHub host", base, u.Host)
	}
	loc := LocationMetadata{Type: "url", Target: u.String()}
	return &sourceSpec{location: loc, prepare: func(ctx context.Context) (*docsSource, error) {
		files, hash, err := listGitHubTree(ctx, gh, u)
		if err != nil {
			return nil, err
		}
		return &docsSource{location: loc, hash: hash, open: func(ctx context.Context) (fs.FS, func(), error) {
			m, err := fetchGitHubFiles(ctx, gh, u, files)
			if err != nil {
				return nil, nil, err
			}
			return m, func() {}, nil
		}}, nil
	}}, nil
}

// listGitHubTree walks the tree's directories through the contents API and hashes the blob SHAs,
// which tell a changed file without downloading it.
func listGitHubTree(ctx context.Context, gh GitHubContents, u source.GitHubURL) ([]GitHubEntry, string, error) {
	h := sha256.New()
	var files []GitHubEntry
	queue := []string{u.Path}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		entries, err := gh.ListDir(ctx, u.Owner, u.Repo, u.Ref, dir)
		if err != nil {
			return nil, "", errs.Wrap(errs.CodeOf(err), err, "cannot list docs at %s: %s", u.String(), errs.MessageOf(err))
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
		for _, e := range entries {
			rel := strings.TrimPrefix(strings.TrimPrefix(e.Path, u.Path), "/")
			if rel == "" || strings.HasPrefix(e.Name, ".") || !fs.ValidPath(rel) {
				continue
			}
			switch e.Type {
			case "dir":
				if strings.Count(rel, "/") >= maxSourceDepth {
					return nil, "", errs.E(errs.Invalid, "docs at %s are nested deeper than %d directories", u.String(), maxSourceDepth)
				}
				queue = append(queue, e.Path)
			case "file":
				files = append(files, e)
				if len(files) > maxSourceFiles {
					return nil, "", errs.E(errs.Invalid, "docs at %s have more than %d files", u.String(), maxSourceFiles)
				}
				fmt.Fprintf(h, "%s\x00%s\x00", rel, e.SHA)
			}
		}
	}
	if len(files) == 0 {
		return nil, "", errs.E(errs.NotFound, "no docs at %s", u.String())
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

// fetchGitHubFiles reads a docs source from GitHub into memory, as a read-only tree whose directories
// fstest.MapFS derives from the files' paths.
func fetchGitHubFiles(ctx context.Context, gh GitHubContents, u source.GitHubURL, files []GitHubEntry) (fstest.MapFS, error) {
	m := fstest.MapFS{}
	var mu sync.Mutex
	var total int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(githubFetches)
	for _, f := range files {
		g.Go(func() error {
			b, err := gh.GetFile(gctx, u.Owner, u.Repo, u.Ref, f.Path)
			if err != nil {
				return errs.Wrap(errs.CodeOf(err), err, "cannot read docs file %s: %s", f.Path, errs.MessageOf(err))
			}
			mu.Lock()
			defer mu.Unlock()
			total += int64(len(b))
			if total > maxSourceBytes {
				return errs.E(errs.Invalid, "docs at %s are larger than %d bytes", u.String(), maxSourceBytes)
			}
			m[strings.TrimPrefix(strings.TrimPrefix(f.Path, u.Path), "/")] = &fstest.MapFile{Data: b, Mode: 0o444}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return m, nil
}
