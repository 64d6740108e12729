// Package localpublisher publishes TechDocs sites to a directory on local disk, Portal's default
// publisher (Backstage's "local" publisher).
package localpublisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/techdocs"
)

const writeConcurrency = 8

// Publisher keeps each entity's site under Dir/<namespace>/<kind>/<name>/. All file access goes
// through os.Root, so nothing under Dir, not even a symbolic link planted there, can make it
// write or read outside Dir.
type Publisher struct {
	root *os.Root
	// locks serializes publishes of the same entity; different entities publish in parallel.
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

var _ techdocs.Publisher = (*Publisher)(nil)

// New opens (creating if needed) the publish directory.
func New(dir string) (*Publisher, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create techdocs publish directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open techdocs publish directory: %w", err)
	}
	return &Publisher{root: root, locks: map[string]*sync.Mutex{}}, nil
}

// Close releases the directory.
func (p *Publisher) Close() error { return p.root.Close() }

func (p *Publisher) lock(dir string) func() {
	p.mu.Lock()
	l, ok := p.locks[dir]
	if !ok {
		l = &sync.Mutex{}
		p.locks[dir] = l
	}
	p.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Publish implements techdocs.Publisher.
func (p *Publisher) Publish(ctx context.Context, entity catalog.Ref, site fs.FS) error {
	dir, err := techdocs.EntityDir(entity)
	if err != nil {
		return err
	}
	defer p.lock(dir)()
	if err := p.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	sub, err := p.root.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer sub.Close()
	return writeTree(ctx, sub, site)
}

// WriteDir writes a built site to dir as a publish would (metadata last, stale files removed),
// without the entity layout: for `techdocs build --out DIR` and benchmarks.
func WriteDir(ctx context.Context, dir string, site fs.FS) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return writeTree(ctx, root, site)
}

func writeTree(ctx context.Context, root *os.Root, site fs.FS) error {
	names, err := techdocs.PublishOrder(site)
	if err != nil {
		return err
	}
	keep := make(map[string]bool, len(names))
	dirs := map[string]bool{}
	for _, name := range names {
		keep[name] = true
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	sortedDirs := make([]string, 0, len(dirs))
	for d := range dirs {
		sortedDirs = append(sortedDirs, d)
	}
	sort.Strings(sortedDirs)
	for _, d := range sortedDirs {
		if err := root.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			// A file where a directory must go is left from an older site layout.
			if info, serr := root.Lstat(d); serr == nil && !info.IsDir() {
				if rerr := root.Remove(d); rerr != nil {
					return fmt.Errorf("replace %s: %w", d, rerr)
				}
				if err = root.Mkdir(d, 0o755); err == nil {
					continue
				}
			}
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	// Files are written by a few goroutines (the disk, not the CPU, is the limit), all of them
	// before the metadata, which is written alone at the end as the commit marker.
	last := len(names) - 1
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(writeConcurrency)
	for i, name := range names[:last] {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			return writeFile(root, site, name, i)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := writeFile(root, site, names[last], last); err != nil {
		return err
	}
	return removeStale(root, ".", keep)
}

// writeFile writes through a temporary file and a rename, so a reader sees either the old or the
// new file, never half of one.
func writeFile(root *os.Root, site fs.FS, name string, seq int) error {
	src, err := site.Open(name)
	if err != nil {
		return fmt.Errorf("read built file %s: %w", name, err)
	}
	defer src.Close()
	tmp := path.Join(path.Dir(name), ".tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(seq))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if info, serr := root.Lstat(name); serr == nil && info.IsDir() {
			err = root.RemoveAll(name)
		}
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// removeStale deletes files the new site does not have, and directories left empty.
func removeStale(root *os.Root, dir string, keep map[string]bool) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := path.Join(dir, e.Name())
		if e.IsDir() {
			if err := removeStale(root, name, keep); err != nil {
				return err
			}
			// Fails while the directory still holds kept files, which is what we want.
			_ = root.Remove(name)
			continue
		}
		if !keep[name] {
			if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove stale %s: %w", name, err)
			}
		}
	}
	return nil
}

// Open implements techdocs.Publisher.
func (p *Publisher) Open(ctx context.Context, entity catalog.Ref, name string) (io.ReadCloser, error) {
	dir, err := techdocs.EntityDir(entity)
	if err != nil {
		return nil, err
	}
	clean, err := techdocs.CleanFileName(name)
	if err != nil {
		return nil, err
	}
	f, err := p.root.Open(dir + "/" + clean)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errs.E(errs.NotFound, "no docs file %q for %s", clean, entity.Lower().String())
		}
		return nil, fmt.Errorf("open docs file %s/%s: %w", dir, clean, err)
	}
	if info, err := f.Stat(); err != nil || info.IsDir() {
		f.Close()
		return nil, errs.E(errs.NotFound, "no docs file %q for %s", clean, entity.Lower().String())
	}
	return f, nil
}
