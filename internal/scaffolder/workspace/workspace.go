// Package workspace confines a scaffolder task's file operations to its own directory.
//
// Every action sees its task's workspace only through a *Dir. Paths are slash-separated and relative
// to the workspace; absolute paths, paths that climb out with "..", and symbolic links whose target
// lies outside the workspace are refused with an *EscapeError before anything is touched. The
// operations themselves go through os.Root, so a symlink swapped in between check and use cannot
// redirect them either.
package workspace

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Dir is a directory that file operations cannot leave. It is safe for concurrent use.
type Dir struct {
	root *os.Root
	path string
}

// Open opens an existing directory as a workspace. The caller closes it.
func Open(dir string) (*Dir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot open workspace %s: %v", abs, err)
	}
	return &Dir{root: r, path: abs}, nil
}

// Create makes a new empty directory under parent (os.TempDir() when "") named after pattern, as
// os.MkdirTemp does, and opens it.
func Create(parent, pattern string) (*Dir, error) {
	p, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "cannot create a workspace: %v", err)
	}
	return Open(p)
}

// Path is the workspace's absolute path on disk, for tools (git) that need one.
func (d *Dir) Path() string { return d.path }

// Close releases the directory handle; the files stay.
func (d *Dir) Close() error { return d.root.Close() }

// RemoveAll closes the workspace and deletes it with everything in it.
func (d *Dir) RemoveAll() error {
	_ = d.root.Close()
	return os.RemoveAll(d.path)
}

// EscapeError is a path that would leave the workspace.
type EscapeError struct {
	Path   string
	Reason string
}

func (e *EscapeError) Error() string {
	return fmt.Sprintf("path %q is outside the workspace: %s", e.Path, e.Reason)
}

// Clean checks p and returns it in canonical slash form ("." for the workspace itself). It refuses
// absolute paths and paths that leave the workspace by "..", before any file is looked at.
func Clean(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if strings.ContainsRune(p, 0) {
		return "", &EscapeError{Path: p, Reason: "it contains a NUL byte"}
	}
	if path.IsAbs(p) || filepath.IsAbs(p) || strings.HasPrefix(p, `\`) || (len(p) > 1 && p[1] == ':') {
		return "", &EscapeError{Path: p, Reason: "absolute paths are not allowed"}
	}
	c := path.Clean(strings.ReplaceAll(p, `\`, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", &EscapeError{Path: p, Reason: `it climbs out with ".."`}
	}
	return c, nil
}

// wrap turns os.Root's refusal into an EscapeError and other failures into errs codes.
func wrap(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var ee *EscapeError
	if errors.As(err, &ee) {
		return err
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		return &EscapeError{Path: p, Reason: "a symbolic link on the way points outside the workspace"}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return errs.Wrap(errs.NotFound, err, "%s %s: no such file or directory in the workspace", op, p)
	}
	if errors.Is(err, fs.ErrExist) {
		return errs.Wrap(errs.Conflict, err, "%s %s: already exists in the workspace", op, p)
	}
	return errs.Wrap(errs.Internal, err, "%s %s: %v", op, p, err)
}

// ReadFile reads a file of the workspace.
func (d *Dir) ReadFile(p string) ([]byte, error) {
	c, err := Clean(p)
	if err != nil {
		return nil, err
	}
	b, err := d.root.ReadFile(c)
	return b, wrap("read", p, err)
}

// WriteFile writes a file, creating its parent directories.
func (d *Dir) WriteFile(p string, data []byte, mode fs.FileMode) error {
	c, err := Clean(p)
	if err != nil {
		return err
	}
	if c == "." {
		return &EscapeError{Path: p, Reason: "it names the workspace itself, not a file"}
	}
	if dir := path.Dir(c); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return wrap("create directory", dir, err)
		}
	}
	if fi, err := d.root.Lstat(c); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// Writing through a link would change whatever it points at; replace the link instead.
		if err := d.root.Remove(c); err != nil {
			return wrap("replace", p, err)
		}
	}
	if mode == 0 {
		mode = 0o644
	}
	f, err := d.root.OpenFile(c, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm())
	if err != nil {
		return wrap("write", p, err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return wrap("write", p, err)
	}
	if err := f.Close(); err != nil {
		return wrap("write", p, err)
	}
	return wrap("chmod", p, d.root.Chmod(c, mode.Perm()))
}

// WriteFrom writes a file from r, creating its parent directories.
func (d *Dir) WriteFrom(p string, r io.Reader, mode fs.FileMode, limit int64) error {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return errs.Wrap(errs.Internal, err, "write %s: %v", p, err)
	}
	if int64(len(data)) > limit {
		return errs.E(errs.Invalid, "write %s: file is over the %d byte limit", p, limit)
	}
	return d.WriteFile(p, data, mode)
}

// MkdirAll creates a directory and its parents.
func (d *Dir) MkdirAll(p string) error {
	c, err := Clean(p)
	if err != nil {
		return err
	}
	return wrap("create directory", p, d.root.MkdirAll(c, 0o755))
}

// Symlink creates link pointing at target. The target must be relative and must resolve inside the
// workspace from the link's directory, so that following the link later can never leave it.
func (d *Dir) Symlink(target, link string) error {
	c, err := Clean(link)
	if err != nil {
		return err
	}
	if path.IsAbs(target) || filepath.IsAbs(target) {
		return &EscapeError{Path: link, Reason: fmt.Sprintf("it is a symbolic link to the absolute path %q", target)}
	}
	if _, err := Clean(path.Join(path.Dir(c), target)); err != nil {
		return &EscapeError{Path: link, Reason: fmt.Sprintf("it is a symbolic link to %q, which points outside", target)}
	}
	if dir := path.Dir(c); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return wrap("create directory", dir, err)
		}
	}
	return wrap("symlink", link, d.root.Symlink(target, c))
}

// Stat describes a file, following symbolic links inside the workspace.
func (d *Dir) Stat(p string) (fs.FileInfo, error) {
	c, err := Clean(p)
	if err != nil {
		return nil, err
	}
	fi, err := d.root.Stat(c)
	return fi, wrap("stat", p, err)
}

// Lstat describes a file without following a final symbolic link.
func (d *Dir) Lstat(p string) (fs.FileInfo, error) {
	c, err := Clean(p)
	if err != nil {
		return nil, err
	}
	fi, err := d.root.Lstat(c)
	return fi, wrap("stat", p, err)
}

// Exists reports whether p names something in the workspace.
func (d *Dir) Exists(p string) (bool, error) {
	_, err := d.Lstat(p)
	if err == nil {
		return true, nil
	}
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	return false, err
}

// Remove deletes a file or a directory tree. Removing something that does not exist is not an error.
func (d *Dir) Remove(p string) error {
	c, err := Clean(p)
	if err != nil {
		return err
	}
	if c == "." {
		return &EscapeError{Path: p, Reason: "it names the workspace itself"}
	}
	return wrap("delete", p, d.root.RemoveAll(c))
}

// Rename moves from to to, creating to's parent directories.
func (d *Dir) Rename(from, to string) error {
	cf, err := Clean(from)
	if err != nil {
		return err
	}
	ct, err := Clean(to)
	if err != nil {
		return err
	}
	if cf == "." || ct == "." {
		return &EscapeError{Path: from, Reason: "the workspace itself cannot be renamed"}
	}
	if dir := path.Dir(ct); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return wrap("create directory", dir, err)
		}
	}
	return wrap("rename", from, d.root.Rename(cf, ct))
}

// File is one entry of the workspace as Walk reports it.
type File struct {
	// Path is slash-separated and relative to the walked directory.
	Path string
	Mode fs.FileMode
	// LinkTarget is set for symbolic links, which are reported and never followed.
	LinkTarget string
	// IsDir marks directories, reported only when WalkOptions.Dirs is set.
	IsDir bool
}

// WalkOptions choose what Walk reports.
type WalkOptions struct {
	// Dirs reports directories too, before their contents.
	Dirs bool
	// Git descends into .git directories, which are skipped otherwise.
	Git bool
}

// Executable reports whether any execute bit is set.
func (f File) Executable() bool { return f.Mode.Perm()&0o111 != 0 }

// Walk lists the regular files and symbolic links under dir ("." for all), sorted by path.
func (d *Dir) Walk(dir string, opts WalkOptions) ([]File, error) {
	c, err := Clean(dir)
	if err != nil {
		return nil, err
	}
	var out []File
	fsys := d.root.FS()
	err = fs.WalkDir(fsys, c, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return wrap("list", p, err)
		}
		rel := p
		if c != "." {
			rel = strings.TrimPrefix(p, c+"/")
		}
		if e.IsDir() {
			if e.Name() == ".git" && !opts.Git && p != c {
				return fs.SkipDir
			}
			if opts.Dirs && p != c {
				out = append(out, File{Path: rel, Mode: fs.ModeDir | 0o755, IsDir: true})
			}
			return nil
		}
		f := File{Path: rel, Mode: e.Type()}
		if e.Type()&fs.ModeSymlink != 0 {
			t, err := d.root.Readlink(p)
			if err != nil {
				return wrap("read link", p, err)
			}
			f.LinkTarget = t
		} else if e.Type().IsRegular() {
			fi, err := e.Info()
			if err != nil {
				return wrap("stat", p, err)
			}
			f.Mode = fi.Mode()
		} else {
			return nil // sockets, devices and pipes are never part of a scaffolded tree
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Sub returns the workspace confined further to a subdirectory, creating it if needed. The caller
// closes it.
func (d *Dir) Sub(p string) (*Dir, error) {
	c, err := Clean(p)
	if err != nil {
		return nil, err
	}
	if err := d.root.MkdirAll(c, 0o755); err != nil {
		return nil, wrap("create directory", p, err)
	}
	r, err := d.root.OpenRoot(c)
	if err != nil {
		return nil, wrap("open", p, err)
	}
	return &Dir{root: r, path: filepath.Join(d.path, filepath.FromSlash(c))}, nil
}

// FS is a read-only view of the workspace for io/fs consumers.
func (d *Dir) FS() fs.FS { return d.root.FS() }
