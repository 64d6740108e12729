package techdocs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

// Publisher stores built sites, one per entity, in Backstage's layout
// <namespace>/<kind>/<name>/<file> with the triplet lowercased, and reads their files back.
// Implementations: the localpublisher sub-package, and internal/aws/s3publisher, which lives with the other AWS
// adapters so that no domain package depends on aws-sdk-go-v2.
type Publisher interface {
	// Publish makes site the entity's published docs. Every file of site is written with
	// techdocs_metadata.json last, so a reader that finds the new metadata finds every file it
	// lists; then files left from an earlier publish that site no longer has are removed.
	// Returns errs.Invalid for an entity reference that cannot be a path or a site without
	// techdocs_metadata.json.
	Publish(ctx context.Context, entity catalog.Ref, site fs.FS) error
	// Open returns one published file; name is relative to the site root ("index.html",
	// "guide/setup/index.html"). Returns errs.NotFound when there is no such file and
	// errs.Invalid for a name that is not a clean relative path.
	Open(ctx context.Context, entity catalog.Ref, name string) (io.ReadCloser, error)
}

// ReadMetadata returns the entity's published techdocs_metadata.json, errs.NotFound when its docs
// were never published.
func ReadMetadata(ctx context.Context, p Publisher, entity catalog.Ref) (*Metadata, error) {
	r, err := p.Open(ctx, entity, MetadataFile)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var m Metadata
	if err := json.NewDecoder(io.LimitReader(r, 64<<20)).Decode(&m); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "techdocs metadata of %s is not valid JSON", entity.Lower().String())
	}
	return &m, nil
}

// EntityDir is the directory of an entity's docs in a publisher: "<namespace>/<kind>/<name>",
// lowercased as Backstage does. Parts that would change the path's meaning (empty, ".", "..",
// containing a slash, a backslash or a control character) are refused with errs.Invalid.
func EntityDir(entity catalog.Ref) (string, error) {
	l := entity.Lower()
	for _, part := range []string{l.Namespace, l.Kind, l.Name} {
		if part == "" || part == "." || part == ".." || strings.ContainsAny(part, `/\`) ||
			strings.IndexFunc(part, unicode.IsControl) >= 0 {
			return "", errs.E(errs.Invalid, "entity %q cannot name a docs directory", entity.String())
		}
	}
	return l.Namespace + "/" + l.Kind + "/" + l.Name, nil
}

// CleanFileName checks a file name asked of a publisher: relative, clean, without "..". A leading
// slash is tolerated because URLs carry one. Returns errs.Invalid otherwise.
func CleanFileName(name string) (string, error) {
	name = strings.TrimPrefix(name, "/")
	if name == "" || !fs.ValidPath(name) || strings.Contains(name, `\`) {
		return "", errs.E(errs.Invalid, "%q is not a valid docs file path", name)
	}
	return name, nil
}

// PublishOrder lists the files of a built site in the order a publisher writes them: sorted,
// with techdocs_metadata.json last. It returns errs.Invalid when the site has no metadata, since
// publishing it would leave readers without the commit marker.
func PublishOrder(site fs.FS) ([]string, error) {
	var names []string
	hasMeta := false
	err := fs.WalkDir(site, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return errs.E(errs.Invalid, "built site contains a symbolic link at %s", p)
		}
		if p == MetadataFile {
			hasMeta = true
			return nil
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, errs.Wrap(errs.Invalid, err, "cannot list the built site: %v", err)
	}
	if !hasMeta {
		return nil, errs.E(errs.Invalid, "built site has no %s", MetadataFile)
	}
	sort.Strings(names)
	return append(names, MetadataFile), nil
}

// activeTypes are the extensions Backstage serves as text/plain (getContentTypeForExtension),
// because a browser would run them as active content from the portal's origin.
var activeTypes = regexp.MustCompile(`(?i)(htm|xml|svg|appcache|manifest|mathml|owl|rdf|rng|vtt|xht|xsd|xsl)`)

// ContentType is the Content-Type to store and serve a docs file with. HTML, SVG and the other
// formats a browser would execute are text/plain: the portal's reader fetches and sanitizes them
// itself, and nobody can make the portal's origin run a page by linking to it.
func ContentType(name string) string {
	ext := path.Ext(name)
	if ext == "" {
		return "application/octet-stream"
	}
	if activeTypes.MatchString(ext[1:]) {
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		if activeTypes.MatchString(t) {
			return "text/plain; charset=utf-8"
		}
		return t
	}
	return "application/octet-stream"
}
