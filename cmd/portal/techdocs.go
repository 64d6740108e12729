package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/aws/s3publisher"
	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/search"
	"github.com/billpay/portal/internal/techdocs"
	"github.com/billpay/portal/internal/techdocs/localpublisher"
	tdservice "github.com/billpay/portal/internal/techdocs/service"
)

// techDocsParts are TechDocs and search as Main runs them.
type techDocsParts struct {
	Docs      *tdservice.Service
	Search    *search.Service
	Publisher techdocs.Publisher
}

func (p *techDocsParts) docs() *tdservice.Service {
	if p == nil {
		return nil
	}
	return p.Docs
}

func (p *techDocsParts) search() *search.Service {
	if p == nil {
		return nil
	}
	return p.Search
}

// startTechDocs wires the docs service and search, and starts their background loops: the search
// indexer following the catalog, and the docs builder.
func (m *Main) startTechDocs(ctx, runCtx context.Context, g *errgroup.Group) error {
	cfg := m.Config.TechDocs
	if err := m.Store.MigrateSearch(ctx); err != nil {
		return err
	}
	pub, closePub, err := newPublisher(ctx, m.Config)
	if err != nil {
		return err
	}
	owner := replicaName()
	srch := search.New(m.Store, m.Store, search.Options{Owner: owner, Log: m.Log.With("component", "search"),
		// Indexing waits for the end of a processing burst (an ingest) as well as for the local index: on SQLite
		// its writes would otherwise queue behind the catalog's, and slow both.
		CaughtUp: func(v int64) bool { return !m.Engine.Busy() && m.Catalog.Version() >= v }})
	clients, err := m.githubClients()
	if err != nil {
		_ = closePub()
		return err
	}
	gh := make(map[string]tdservice.GitHubContents, len(clients))
	for host, c := range clients {
		gh[host] = c
	}
	docs, err := tdservice.New(tdservice.Options{
		Publisher: pub, Builds: m.Store, Catalog: m.Catalog, Search: srch, GitHub: gh, Owner: owner,
		External: cfg.Builder.External, Concurrency: cfg.Builder.Concurrency, Strict: cfg.Builder.Strict,
		CheckInterval: time.Duration(cfg.Builder.CheckInterval), SyncCheckInterval: time.Duration(cfg.Builder.SyncCheckInterval),
		BuildTimeout: time.Duration(cfg.Builder.Timeout), Log: m.Log.With("component", "techdocs"),
	})
	if err != nil {
		_ = closePub()
		return err
	}
	m.TechDocs = &techDocsParts{Docs: docs, Search: srch, Publisher: pub}
	poll := time.Duration(m.Config.Catalog.PollInterval)
	g.Go(func() error { return srch.FollowCatalog(runCtx, poll) })
	g.Go(func() error { return docs.Run(runCtx, poll) })
	g.Go(func() error {
		<-runCtx.Done()
		return closePub()
	})
	return nil
}

// replicaName names this process in leases: the host name, which an operator recognises, and a
// random suffix, since two processes on one host are two replicas.
func replicaName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// newPublisher picks the publisher techdocs.publisher names.
func newPublisher(ctx context.Context, cfg config.Config) (techdocs.Publisher, func() error, error) {
	td := cfg.TechDocs
	switch td.Publisher {
	case "awsS3":
		client, err := newS3Client(ctx, td.S3)
		if err != nil {
			return nil, nil, err
		}
		p, err := s3publisher.New(client, s3publisher.Config{Bucket: td.S3.Bucket, RootPath: td.S3.RootPath})
		if err != nil {
			return nil, nil, err
		}
		return p, func() error { return nil }, nil
	default:
		dir := td.LocalDir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "techdocs")
		}
		p, err := localpublisher.New(dir)
		if err != nil {
			return nil, nil, err
		}
		return p, p.Close, nil
	}
}

// newS3Client makes the S3 client from the SDK's default configuration chain (environment, shared
// files, IRSA web identity, instance role), with the configured region and endpoint.
func newS3Client(ctx context.Context, c config.TechDocsS3) (*s3.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if c.Region != "" {
		opts = append(opts, awsconfig.WithRegion(c.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "techdocs.s3: cannot load AWS configuration: %v", err)
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = c.ForcePathStyle
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			// S3-compatible stores often reject the SDK's default trailing checksums; send and
			// verify them only where S3's API requires them.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}), nil
}

const techDocsUsage = `Usage:
  portal techdocs build SRC --out DIR [--strict]
      Build the mkdocs project in SRC into DIR. Warnings are printed as FILE:LINE: message; the
      command fails on errors, and on warnings with --strict.
  portal techdocs publish --entity REF --dir DIR [--config portal.yaml]
      Publish a built site (DIR holds techdocs_metadata.json) as the docs of REF
      (kind:namespace/name, or namespace/kind/name as techdocs-cli takes it) through the publisher
      portal.yaml configures.
`

func runTechDocs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, techDocsUsage)
		return 2
	}
	switch args[0] {
	case "build":
		return runTechDocsBuild(ctx, args[1:], stdout, stderr)
	case "publish":
		return runTechDocsPublish(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, techDocsUsage)
		return 0
	}
	fmt.Fprintf(stderr, "portal techdocs: unknown command %q\n\n%s", args[0], techDocsUsage)
	return 2
}

// parseInterleaved parses flags wherever they are among the arguments ("build SRC --out DIR"),
// which the flag package alone stops at the first argument to do.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runTechDocsBuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("techdocs build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to write the site to (required)")
	strict := fs.Bool("strict", false, "fail when the build has warnings")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprint(stderr, techDocsUsage)
		return 2
	}
	src := pos[0]
	root, err := os.OpenRoot(src)
	if err != nil {
		fmt.Fprintf(stderr, "portal techdocs build: %v\n", err)
		return 1
	}
	defer root.Close()
	started := time.Now()
	site, err := techdocs.Build(ctx, root.FS(), techdocs.Options{Strict: *strict})
	if site != nil {
		for _, w := range site.Warnings {
			fmt.Fprintln(stderr, warningLine(src, w))
		}
	}
	var strictErr *techdocs.StrictError
	switch {
	case errors.As(err, &strictErr):
		fmt.Fprintf(stderr, "portal techdocs build: %d warning(s) in strict mode; nothing written\n", len(strictErr.Warnings))
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "portal techdocs build: %s\n", errs.MessageOf(err))
		return 1
	}
	if err := localpublisher.WriteDir(ctx, *out, site); err != nil {
		fmt.Fprintf(stderr, "portal techdocs build: writing %s: %v\n", *out, err)
		return 1
	}
	fmt.Fprintf(stdout, "built %q: %d pages, %d warnings, into %s in %s\n", site.Metadata.SiteName, len(site.Pages),
		len(site.Warnings), *out, time.Since(started).Round(time.Millisecond))
	return 0
}

// warningLine prints a diagnostic as compilers do, FILE:LINE: message, with FILE as given on the
// command line so that editors can jump to it.
func warningLine(src string, d techdocs.Diagnostic) string {
	if d.File == "" {
		return "warning: " + d.Message
	}
	d.File = filepath.ToSlash(filepath.Join(src, filepath.FromSlash(d.File)))
	return d.String()
}

func runTechDocsPublish(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("techdocs publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	entity := fs.String("entity", "", "the entity the docs belong to: kind:namespace/name or namespace/kind/name (required)")
	dir := fs.String("dir", "", "the built site (required)")
	configPath := fs.String("config", "", "path to portal.yaml (default: ./portal.yaml when it exists)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 0 || *entity == "" || *dir == "" {
		fmt.Fprint(stderr, techDocsUsage)
		return 2
	}
	ref, err := parsePublishRef(*entity)
	if err != nil {
		fmt.Fprintf(stderr, "portal techdocs publish: %s\n", errs.MessageOf(err))
		return 2
	}
	sf := serverFlags{config: *configPath}
	if sf.config == "" {
		if _, err := os.Stat("portal.yaml"); err == nil {
			sf.config = "portal.yaml"
		}
	}
	cfg, err := loadConfig(sf)
	if err != nil {
		fmt.Fprintf(stderr, "portal techdocs publish: %v\n", err)
		return 1
	}
	root, err := os.OpenRoot(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "portal techdocs publish: %v\n", err)
		return 1
	}
	defer root.Close()
	meta, err := readBuiltMetadata(root)
	if err != nil {
		fmt.Fprintf(stderr, "portal techdocs publish: %s\n", errs.MessageOf(err))
		return 1
	}
	pub, closePub, err := newPublisher(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "portal techdocs publish: %s\n", errs.MessageOf(err))
		return 1
	}
	defer func() { _ = closePub() }()
	if err := pub.Publish(ctx, ref, root.FS()); err != nil {
		fmt.Fprintf(stderr, "portal techdocs publish: %s\n", publishMessage(err))
		return 1
	}
	where := cfg.TechDocs.Publisher
	if where == "awsS3" {
		where = "s3://" + cfg.TechDocs.S3.Bucket + "/" + strings.Trim(cfg.TechDocs.S3.RootPath, "/")
	}
	fmt.Fprintf(stdout, "published %q (%d files, etag %s) as the docs of %s to %s\n", meta.SiteName, len(meta.Files),
		meta.Etag, ref.Lower().String(), where)
	return 0
}

func publishMessage(err error) string {
	if errs.CodeOf(err) == errs.Internal {
		return err.Error()
	}
	return errs.MessageOf(err)
}

// parsePublishRef reads an entity as portal writes refs (kind:namespace/name) or as techdocs-cli
// takes --entity (namespace/kind/name).
func parsePublishRef(s string) (catalog.Ref, error) {
	if parts := strings.Split(s, "/"); !strings.Contains(s, ":") && len(parts) == 3 {
		if parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return catalog.Ref{}, errs.E(errs.Invalid, "entity %q is not kind:namespace/name or namespace/kind/name", s)
		}
		return catalog.Ref{Namespace: parts[0], Kind: parts[1], Name: parts[2]}, nil
	}
	return catalog.ParseRef(s, catalog.RefDefaults{})
}

// readBuiltMetadata checks that dir is a built site before anything is published.
func readBuiltMetadata(root *os.Root) (*techdocs.Metadata, error) {
	f, err := root.Open(techdocs.MetadataFile)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the directory has no %s; build it with `portal techdocs build` first", techdocs.MetadataFile)
	}
	defer f.Close()
	var m techdocs.Metadata
	if err := json.NewDecoder(io.LimitReader(f, 64<<20)).Decode(&m); err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "%s is not valid JSON: %v", techdocs.MetadataFile, err)
	}
	return &m, nil
}
