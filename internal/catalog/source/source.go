// Package source reads catalog-info text from where locations point: files on disk, plain HTTP(S) URLs
// and GitHub (through the port in github.go, implemented by internal/github). A Dispatcher picks the
// reader by location type and URL host.
package source

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// Reader reads the text a location target points at.
type Reader interface {
	// Read returns the bytes at target, a location of type locType ("file" or "url"). It returns an
	// errs.NotFound error when nothing is there, so optional locations can be told from broken ones.
	Read(ctx context.Context, locType, target string) ([]byte, error)
}

// Location is a location to read: Backstage's {type, target}.
type Location struct {
	Type   string `json:"type"`
	Target string `json:"target"`
}

// Provider finds locations outside the registered ones (every catalog-info.yaml of a GitHub
// organization, say). The catalog keeps the provider's set in step with the latest Discover.
type Provider interface {
	// Name identifies the provider; it keys the provider's entities in storage, so it must be stable.
	Name() string
	// Discover returns every location the provider knows of now.
	Discover(ctx context.Context) ([]Location, error)
}

// FileReader reads file locations from the local disk.
type FileReader struct{}

var _ Reader = FileReader{}

// Read returns the file's contents; target is an absolute path, or one relative to the working directory.
func (FileReader) Read(_ context.Context, _ string, target string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Clean(target))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.Wrap(errs.NotFound, err, "file %s does not exist", target)
	}
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "cannot read file %s: %v", target, err)
	}
	return b, nil
}

// ResolveFile resolves a target written inside a file location (a Location entity's target, a
// $text placeholder) against that file's directory. Absolute paths are kept.
func ResolveFile(base, target string) string {
	if filepath.IsAbs(target) {
		return filepath.Clean(target)
	}
	return filepath.Join(filepath.Dir(base), strings.TrimPrefix(target, "./"))
}
