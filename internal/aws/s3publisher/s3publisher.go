// Package s3publisher publishes TechDocs sites to an S3 bucket (or any S3-compatible store), for
// Portal replicas that must serve the same docs (Backstage's "awsS3" publisher).
package s3publisher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/techdocs"
)

// API is the part of the S3 client the publisher calls, shaped like the SDK's methods so
// *s3.Client satisfies it as it is.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
}

var _ API = (*s3.Client)(nil)

// Config names where sites go.
type Config struct {
	Bucket string
	// RootPath is an optional key prefix (Backstage's bucketRootPath), e.g. "techdocs".
	RootPath string
	// Concurrency bounds parallel uploads; 0 means 10, as Backstage uploads.
	Concurrency int
}

// Publisher stores each entity's site under <RootPath>/<namespace>/<kind>/<name>/.
type Publisher struct {
	client API
	cfg    Config
}

var _ techdocs.Publisher = (*Publisher)(nil)

// New returns a publisher writing to cfg.Bucket through client.
func New(client API, cfg Config) (*Publisher, error) {
	if cfg.Bucket == "" {
		return nil, errs.E(errs.Invalid, "techdocs S3 publisher needs a bucket name")
	}
	cfg.RootPath = strings.Trim(cfg.RootPath, "/")
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	return &Publisher{client: client, cfg: cfg}, nil
}

func (p *Publisher) prefix(entity catalog.Ref) (string, error) {
	dir, err := techdocs.EntityDir(entity)
	if err != nil {
		return "", err
	}
	if p.cfg.RootPath != "" {
		dir = p.cfg.RootPath + "/" + dir
	}
	return dir + "/", nil
}

// Publish implements techdocs.Publisher: uploads every file (in parallel), then the metadata, then
// deletes keys under the entity's prefix that the new site does not have.
func (p *Publisher) Publish(ctx context.Context, entity catalog.Ref, site fs.FS) error {
	prefix, err := p.prefix(entity)
	if err != nil {
		return err
	}
	names, err := techdocs.PublishOrder(site)
	if err != nil {
		return err
	}
	last := len(names) - 1
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.Concurrency)
	for _, name := range names[:last] {
		g.Go(func() error { return p.put(gctx, site, prefix, name) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := p.put(ctx, site, prefix, names[last]); err != nil {
		return err
	}
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[prefix+n] = true
	}
	return p.deleteStale(ctx, prefix, keep)
}

func (p *Publisher) put(ctx context.Context, site fs.FS, prefix, name string) error {
	f, err := site.Open(name)
	if err != nil {
		return fmt.Errorf("read built file %s: %w", name, err)
	}
	defer f.Close()
	// The SDK needs a seekable body to sign and retry; built files are small enough to buffer.
	body, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read built file %s: %w", name, err)
	}
	_, err = p.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(p.cfg.Bucket),
		Key:           aws.String(prefix + name),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(techdocs.ContentType(name)),
	})
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "upload %s to S3 bucket %s: %v", prefix+name, p.cfg.Bucket, err)
	}
	return nil
}

func (p *Publisher) deleteStale(ctx context.Context, prefix string, keep map[string]bool) error {
	var stale []types.ObjectIdentifier
	paginator := s3.NewListObjectsV2Paginator(p.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(p.cfg.Bucket), Prefix: aws.String(prefix),
	})
	for paginator.HasMorePages() {
		page, err := paginator.NextPage(ctx)
		if err != nil {
			return errs.Wrap(errs.Unavailable, err, "list %s in S3 bucket %s: %v", prefix, p.cfg.Bucket, err)
		}
		for _, obj := range page.Contents {
			if key := aws.ToString(obj.Key); !keep[key] {
				stale = append(stale, types.ObjectIdentifier{Key: obj.Key})
			}
		}
	}
	// DeleteObjects takes at most 1,000 keys a call.
	for len(stale) > 0 {
		n := min(len(stale), 1000)
		out, err := p.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(p.cfg.Bucket),
			Delete: &types.Delete{Objects: stale[:n], Quiet: aws.Bool(true)},
		})
		if err != nil {
			return errs.Wrap(errs.Unavailable, err, "delete stale docs under %s: %v", prefix, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return errs.E(errs.Unavailable, "delete stale docs file %s: %s", aws.ToString(e.Key), aws.ToString(e.Message))
		}
		stale = stale[n:]
	}
	return nil
}

// Open implements techdocs.Publisher.
func (p *Publisher) Open(ctx context.Context, entity catalog.Ref, name string) (io.ReadCloser, error) {
	prefix, err := p.prefix(entity)
	if err != nil {
		return nil, err
	}
	clean, err := techdocs.CleanFileName(name)
	if err != nil {
		return nil, err
	}
	out, err := p.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.cfg.Bucket), Key: aws.String(prefix + path.Clean(clean))})
	if err != nil {
		var noKey *types.NoSuchKey
		if errors.As(err, &noKey) {
			return nil, errs.E(errs.NotFound, "no docs file %q for %s", clean, entity.Lower().String())
		}
		return nil, errs.Wrap(errs.Unavailable, err, "read %s from S3 bucket %s: %v", prefix+clean, p.cfg.Bucket, err)
	}
	return out.Body, nil
}
