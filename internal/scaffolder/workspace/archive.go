package workspace

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/billpay/portal/internal/errs"
)

// ExtractOptions bound an archive extraction.
type ExtractOptions struct {
	// StripComponents drops leading path elements, as tar --strip-components does (GitHub's tarballs
	// wrap everything in one "owner-repo-sha/" directory).
	StripComponents int
	// Prefix keeps only entries under this slash path (after stripping) and removes it from their
	// paths; "" keeps everything.
	Prefix string
	// MaxBytes bounds the total size of extracted files; 0 means 256 MiB.
	MaxBytes int64
	// MaxFiles bounds the number of entries; 0 means 20,000.
	MaxFiles int
}

// ExtractTar writes a tar archive, gzip-compressed or not, into dir. Every entry is checked before it
// is written: an absolute path, a path climbing out with "..", or a link whose target lies outside
// dir fails the extraction with an *EscapeError naming the entry. Hard links are refused; device
// files, FIFOs and the like are skipped.
func ExtractTar(r io.Reader, dir *Dir, opts ExtractOptions) error {
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 256 << 20
	}
	if opts.MaxFiles == 0 {
		opts.MaxFiles = 20000
	}
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "archive is not valid gzip: %v", err)
		}
		defer gz.Close()
		r = gz
	} else {
		r = br
	}
	tr := tar.NewReader(r)
	var total int64
	prefix := strings.Trim(opts.Prefix, "/")
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "archive is not a valid tar file: %v", err)
		}
		if n >= opts.MaxFiles {
			return errs.E(errs.Invalid, "archive has more than %d entries", opts.MaxFiles)
		}
		if h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeXHeader {
			continue
		}
		name, err := Clean(h.Name)
		if err != nil {
			return &EscapeError{Path: h.Name, Reason: "archive entry " + err.(*EscapeError).Reason}
		}
		name, ok := strip(name, opts.StripComponents)
		if !ok {
			continue
		}
		if prefix != "" {
			if name != prefix && !strings.HasPrefix(name, prefix+"/") {
				continue
			}
			name = strings.TrimPrefix(strings.TrimPrefix(name, prefix), "/")
			if name == "" {
				name = "."
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := dir.MkdirAll(name); err != nil {
				return err
			}
		case tar.TypeReg:
			total += h.Size
			if total > opts.MaxBytes {
				return errs.E(errs.Invalid, "archive expands to more than %d bytes", opts.MaxBytes)
			}
			if err := dir.WriteFrom(name, tr, h.FileInfo().Mode().Perm(), h.Size); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := dir.Symlink(h.Linkname, name); err != nil {
				var ee *EscapeError
				if errors.As(err, &ee) {
					return &EscapeError{Path: h.Name, Reason: "archive entry " + ee.Reason}
				}
				return err
			}
		case tar.TypeLink:
			return &EscapeError{Path: h.Name, Reason: fmt.Sprintf("archive entry is a hard link to %q; hard links are not extracted", h.Linkname)}
		default:
			// Devices, FIFOs and the like have no place in a template.
		}
	}
}

func strip(p string, n int) (string, bool) {
	if n == 0 {
		return p, true
	}
	parts := strings.Split(p, "/")
	if len(parts) <= n {
		return "", false
	}
	return path.Join(parts[n:]...), true
}
