package techdocs

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Limits on what one build reads, so a hostile or mistaken source cannot exhaust the server.
const (
	maxSourceFiles = 20_000
	maxPageBytes   = 10 << 20
	maxLinkHops    = 40
	maxDirDepth    = 64
)

// sourceFile is one file under docs_dir.
type sourceFile struct {
	rel    string // path relative to docs_dir, as pages and links name it
	fsPath string // path in the source fs.FS, after resolving symlinks
	size   int64
}

// resolveInside follows name (and any symlinks along it) inside src and returns the real path,
// refusing anything that leads out of the source: absolute targets and targets climbing above
// the root. A source whose fs.FS cannot read links gets symlinks refused outright, since they
// could not be checked.
func resolveInside(src fs.FS, name string) (string, fs.FileInfo, error) {
	cur := name
	for hop := 0; ; hop++ {
		if hop > maxLinkHops {
			return "", nil, errs.E(errs.Invalid, "%s: too many levels of symbolic links", name)
		}
		info, err := lstat(src, cur)
		if err != nil {
			return "", nil, err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return cur, info, nil
		}
		target, err := fs.ReadLink(src, cur)
		if err != nil {
			if errors.Is(err, errors.ErrUnsupported) {
				return "", nil, errs.E(errs.Invalid, "%s is a symbolic link and this source cannot check where it points", name)
			}
			return "", nil, errs.Wrap(errs.Invalid, err, "%s: cannot read symbolic link", name)
		}
		if path.IsAbs(target) || strings.HasPrefix(target, `\`) || (len(target) > 1 && target[1] == ':') {
			return "", nil, errs.E(errs.Invalid, "%s is a symbolic link to %q, outside the source directory", name, target)
		}
		next := path.Join(path.Dir(cur), target)
		if next == ".." || strings.HasPrefix(next, "../") {
			return "", nil, errs.E(errs.Invalid, "%s is a symbolic link to %q, outside the source directory", name, target)
		}
		cur = next
	}
}

func lstat(src fs.FS, name string) (fs.FileInfo, error) {
	if l, ok := src.(fs.ReadLinkFS); ok {
		return l.Lstat(name)
	}
	return fs.Stat(src, name)
}

// listDocs returns every file under docsDir that mkdocs would consider: hidden files and a
// top-level templates/ directory are skipped, as mkdocs' default exclude_docs does.
func listDocs(ctx context.Context, src fs.FS, docsDir string) ([]sourceFile, error) {
	real, info, err := resolveInside(src, docsDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errs.E(errs.Invalid, "docs_dir %q does not exist in the source", docsDir)
		}
		return nil, err
	}
	if !info.IsDir() {
		return nil, errs.E(errs.Invalid, "docs_dir %q is not a directory", docsDir)
	}
	var out []sourceFile
	var walk func(realDir, rel string, depth int) error
	walk = func(realDir, rel string, depth int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if depth > maxDirDepth {
			return errs.E(errs.Invalid, "%s: directories nested too deeply (or a symbolic link loop)", path.Join(docsDir, rel))
		}
		entries, err := fs.ReadDir(src, realDir)
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "cannot read %s", path.Join(docsDir, rel))
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || (rel == "" && name == "templates" && e.IsDir()) {
				continue
			}
			childRel := name
			if rel != "" {
				childRel = rel + "/" + name
			}
			shown := path.Join(docsDir, childRel)
			childReal, info, err := resolveInside(src, path.Join(realDir, name))
			if err != nil {
				var e *errs.Error
				if errors.As(err, &e) {
					e.Message = strings.Replace(e.Message, path.Join(realDir, name), shown, 1)
				}
				return err
			}
			switch {
			case info.IsDir():
				if err := walk(childReal, childRel, depth+1); err != nil {
					return err
				}
			case info.Mode().IsRegular():
				if len(out) >= maxSourceFiles {
					return errs.E(errs.Invalid, "the docs directory has more than %d files", maxSourceFiles)
				}
				out = append(out, sourceFile{rel: childRel, fsPath: childReal, size: info.Size()})
			}
		}
		return nil
	}
	if err := walk(real, "", 0); err != nil {
		return nil, err
	}
	return out, nil
}

// isMarkdown reports whether mkdocs treats a file as a page.
// isPageMedia reports files a page shows or links to as media: images, video, audio and PDF.
func isPageMedia(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".ico", ".bmp",
		".mp4", ".webm", ".mp3", ".ogg", ".wav", ".pdf":
		return true
	}
	return false
}

func isMarkdown(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown", ".mdown", ".mkdn", ".mkd":
		return true
	}
	return false
}
