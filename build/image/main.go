// Command image builds Portal's container image without a Docker engine and without pulling a
// base image: it cross-compiles the static binary and writes an OCI image layout (and optionally a
// tarball `docker load` accepts) holding only the binary, CA certificates, /etc/passwd and
// /etc/group with the nonroot user (65532) and an empty /data it owns.
//
// The same commit gives the same digest: file times and the image's creation time come from
// SOURCE_DATE_EPOCH or the commit time, entries are sorted, and the go build environment is fixed.
//
//	go run ./build/image -o dist/portal-oci -platforms linux/amd64,linux/arm64
//
// Push the layout with crane (`crane push dist/portal-oci REPO:TAG`) or any OCI tool.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "dist/portal-oci", "OCI image layout directory to write (replaced)")
	tarOut := fs.String("tar", "", "also write a tarball `docker load` accepts, of the first platform's image")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated OS/ARCH[/VARIANT] list")
	version := fs.String("version", "", "version stamped into the binary and the label (default: git describe)")
	revision := fs.String("revision", "", "source commit for the label (default: git rev-parse HEAD)")
	source := fs.String("source", DefaultSource, "source repository URL for the label")
	caFile := fs.String("ca-certs", "", "PEM file of CA certificates to ship (default: the NSS roots pinned in go.mod)")
	dir := fs.String("C", ".", "the portal module's directory")
	pkg := fs.String("package", "./cmd/portal", "main package to build")
	digestFile := fs.String("digest-file", "", "write the index digest (sha256:...) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := Options{ModuleDir: *dir, Package: *pkg, Version: *version, Revision: *revision, Source: *source,
		CACerts: *caFile, Log: stderr}
	var err error
	if o.Platforms, err = parsePlatforms(*platforms); err != nil {
		return err
	}
	if o.Revision == "" {
		if o.Revision, err = git(ctx, *dir, "rev-parse", "HEAD"); err != nil {
			return err
		}
	}
	if o.Version == "" {
		if o.Version, err = git(ctx, *dir, "describe", "--tags", "--always", "--dirty"); err != nil {
			return err
		}
	}
	if o.Created, err = sourceDate(ctx, *dir, os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		return err
	}
	idx, err := Build(ctx, o)
	if err != nil {
		return err
	}
	if err := writeLayout(*out, idx, o.Version); err != nil {
		return err
	}
	if *tarOut != "" {
		if err := writeTarball(*tarOut, idx, o.Version); err != nil {
			return err
		}
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	if *digestFile != "" {
		if err := os.WriteFile(*digestFile, []byte(d.String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, d.String())
	return nil
}

// writeLayout replaces dir with an OCI image layout whose index.json names the image index.
func writeLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": version,
	}))
}

// writeTarball writes the first manifest's image as portal:<version>.
func writeTarball(path string, idx v1.ImageIndex, version string) error {
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return err
	}
	tag, err := name.NewTag("portal:" + strings.NewReplacer("+", "-", "/", "-").Replace(version))
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, tag, img)
}

func parsePlatforms(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, part := range strings.Split(s, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		if p.OS != "linux" {
			return nil, fmt.Errorf("platform %s: only linux images are built", part)
		}
		out = append(out, *p)
	}
	return out, nil
}

// sourceDate is SOURCE_DATE_EPOCH when set, else the commit time of HEAD.
func sourceDate(ctx context.Context, dir, epoch string) (time.Time, error) {
	if epoch == "" {
		var err error
		if epoch, err = git(ctx, dir, "log", "-1", "--format=%ct"); err != nil {
			return time.Time{}, fmt.Errorf("no SOURCE_DATE_EPOCH and no commit time: %w", err)
		}
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: not a number of seconds", epoch)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
