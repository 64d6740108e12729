package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// What the image declares. The Dockerfile declares the same (a test compares them).
const (
	// UID and GID of the unprivileged user the portal runs as (distroless's "nonroot").
	nonrootID = 65532
	// Port is the portal's HTTP port (Backstage's).
	Port = "7007/tcp"
	// DataDir is the only directory the portal writes to: SQLite and local TechDocs output.
	DataDir = "/data"
	// Binary is where the portal binary lives in the image.
	Binary = "/portal"
	// CACertsPath is where Go (and OpenSSL) look for trusted roots on Linux.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// DefaultSource is the repository the image's source label points at.
	DefaultSource = "https://github.com/billpay/portal"
)

// Passwd and Group are the image's /etc/passwd and /etc/group: root and the nonroot user, no shells.
const (
	Passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	Group  = "root:x:0:\nnonroot:x:65532:\n"
)

// Entrypoint, User and Env are the image's run configuration.
var (
	Entrypoint = []string{Binary, "serve"}
	User       = fmt.Sprintf("%d:%d", nonrootID, nonrootID)
	Env        = []string{"PORTAL_LISTEN=:7007", "PORTAL_DATA_DIR=" + DataDir}
)

// Options say what to build. Everything that reaches the image is here, so that two builds with the
// same Options from the same source produce the same digest.
type Options struct {
	// ModuleDir is the root of the portal module (where go.mod is).
	ModuleDir string
	// Package is the main package to build, relative to ModuleDir.
	Package string
	// Platforms are the OS/architecture pairs to build; each becomes one manifest of the index.
	Platforms []v1.Platform
	// Version is stamped into the binary (portal version) and the version label.
	Version string
	// Revision is the source commit, for the revision label.
	Revision string
	// Source is the repository URL, for the source label.
	Source string
	// Created is the image's creation time and every file's modification time: the commit time or
	// SOURCE_DATE_EPOCH, never the clock.
	Created time.Time
	// CACerts is a PEM file of trusted roots to ship; empty ships the Mozilla NSS roots pinned by
	// golang.org/x/crypto/x509roots/fallback in go.mod, which keeps the digest independent of the host.
	CACerts string
	// Log receives the go build commands' output.
	Log io.Writer
}

// Labels returns the image's OCI annotations (config labels).
func (o Options) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "portal",
		"org.opencontainers.image.description": "BillPay's internal developer platform",
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.url":         o.Source,
		"org.opencontainers.image.licenses":    "UNLICENSED",
		"org.opencontainers.image.vendor":      "BillPay",
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
}

// Build cross-compiles the portal for every platform and assembles an OCI image index.
func Build(ctx context.Context, o Options) (v1.ImageIndex, error) {
	if len(o.Platforms) == 0 {
		return nil, fmt.Errorf("no platforms to build")
	}
	if o.Version == "" || o.Revision == "" {
		return nil, fmt.Errorf("version and revision are required")
	}
	certs, err := caCerts(o.CACerts)
	if err != nil {
		return nil, err
	}
	base, err := gzipLayer(baseFiles(certs), o.Created)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "portal-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		bin := filepath.Join(tmp, "portal-"+p.OS+"-"+p.Architecture+p.Variant)
		if err := goBuild(ctx, o, p, bin); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			return nil, err
		}
		app, err := gzipLayer([]file{{name: strings.TrimPrefix(Binary, "/"), mode: 0o755, data: data}}, o.Created)
		if err != nil {
			return nil, err
		}
		img, err := image(o, p, base, app)
		if err != nil {
			return nil, err
		}
		pp := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pp}})
	}
	return idx, nil
}

// image puts the two layers under the run configuration for one platform.
func image(o Options, p v1.Platform, base, app v1.Layer) (v1.Image, error) {
	created := v1.Time{Time: o.Created.UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      created,
		Config: v1.Config{
			Entrypoint:   Entrypoint,
			User:         User,
			Env:          Env,
			WorkingDir:   "/",
			ExposedPorts: map[string]struct{}{Port: {}},
			Labels:       o.Labels(),
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: created,
			CreatedBy: "portal image builder: CA certificates, /etc/passwd, /etc/group, /data, /tmp"}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer, History: v1.History{Created: created,
			CreatedBy: "portal image builder: go build -trimpath " + o.Package}},
	)
}

// goBuild cross-compiles a static binary. The environment is spelled out in full so that the
// host's GOFLAGS, GOAMD64 or CGO settings cannot change the result.
func goBuild(ctx context.Context, o Options, p v1.Platform, out string) error {
	ldflags := "-s -w -buildid= -X main.version=" + o.Version
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, o.Package)
	cmd.Dir = o.ModuleDir
	env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Architecture, "GOFLAGS=", "GOAMD64=v1", "GOARM64=v8.0"}
	if p.Architecture == "arm" {
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	cmd.Env = append(hostEnv(), env...)
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	if o.Log == nil {
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build for %s/%s: %v\n%s", p.OS, p.Architecture, err, buf.String())
		}
		return nil
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s/%s: %v", p.OS, p.Architecture, err)
	}
	return nil
}

// hostEnv keeps what the go command needs to find its caches and modules, and drops build
// settings that would make the binary depend on the host.
func hostEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CGO_ENABLED", "GOOS", "GOARCH", "GOFLAGS", "GOAMD64", "GOARM", "GOARM64", "GOEXPERIMENT", "CC", "CGO_CFLAGS", "CGO_LDFLAGS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// caCerts returns the PEM bundle to ship.
func caCerts(path string) ([]byte, error) {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("CA certificates: %w", err)
		}
		if block, _ := pem.Decode(data); block == nil {
			return nil, fmt.Errorf("CA certificates: %s holds no PEM certificate", path)
		}
		return data, nil
	}
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		// A root with a constraint (distrust after a date) cannot be expressed in a PEM file;
		// leaving it out is the safe side.
		if root.Constraint != nil {
			continue
		}
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// file is one entry of a layer. A nil data with dir set makes a directory.
type file struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	data     []byte
}

// baseFiles is everything in the image except the binary.
func baseFiles(certs []byte) []file {
	return []file{
		{name: "data", mode: 0o755, uid: nonrootID, gid: nonrootID, dir: true},
		{name: "etc", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, data: []byte(Group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(Passwd)},
		{name: "etc/ssl", mode: 0o755, dir: true},
		{name: "etc/ssl/certs", mode: 0o755, dir: true},
		{name: strings.TrimPrefix(CACertsPath, "/"), mode: 0o644, data: certs},
		{name: "home", mode: 0o755, dir: true},
		{name: "home/nonroot", mode: 0o700, uid: nonrootID, gid: nonrootID, dir: true},
		{name: "tmp", mode: 0o1777, dir: true},
	}
}

// gzipLayer writes files as a tar in name order, with fixed times and no host user names, and
// compresses it without a timestamp: the same files always give the same digest.
func gzipLayer(files []file, mtime time.Time) (v1.Layer, error) {
	sorted := append([]file(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, f := range sorted {
		h := &tar.Header{
			Name:    f.name,
			Mode:    f.mode,
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: mtime.UTC(),
			Format:  tar.FormatPAX,
		}
		if f.dir {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gzBuf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gzBuf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	gz := gzBuf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
