package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

// TestImage builds the image twice from two copies of the same source tree (in different
// directories), checks that the digests match, then loads the image from its OCI layout, checks its
// configuration and files, and runs the binary from its layer: `portal version`, then `portal
// serve` until /readyz answers.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the portal binary twice")
	}
	ctx := context.Background()
	root := moduleRoot(t)
	tmp := t.TempDir()
	// Others may edit the working tree while this runs; build both images from one snapshot.
	a, b := filepath.Join(tmp, "src-a"), filepath.Join(tmp, "src-b")
	MustCopyTree(t, root, a)
	MustCopyTree(t, a, b)

	host := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	opts := func(dir string) Options {
		return Options{ModuleDir: dir, Package: "./cmd/portal", Platforms: []v1.Platform{host},
			Version: "v9.9.9-test", Revision: "0123456789abcdef0123456789abcdef01234567", Source: DefaultSource,
			Created: time.Unix(1700000000, 0).UTC()}
	}
	// One after the other: the second build finds every package in the build cache (with -trimpath
	// the cache keys do not depend on the directory) and only links, so it costs seconds.
	idxA, err := Build(ctx, opts(a))
	require.NoError(t, err)
	idxB, err := Build(ctx, opts(b))
	require.NoError(t, err)
	digestA, err := idxA.Digest()
	require.NoError(t, err)
	digestB, err := idxB.Digest()
	require.NoError(t, err)
	require.Equal(t, digestA, digestB, "two builds of the same source must give the same digest")

	out := filepath.Join(tmp, "oci")
	require.NoError(t, writeLayout(out, idxA, "v9.9.9-test"))
	img := MustLoadImage(t, out, host)

	t.Run("Manifest", func(t *testing.T) {
		mt, err := img.MediaType()
		require.NoError(t, err)
		require.Equal(t, types.OCIManifestSchema1, mt)
		layers, err := img.Layers()
		require.NoError(t, err)
		require.Len(t, layers, 2, "base files, then the binary")
		for _, l := range layers {
			mt, err := l.MediaType()
			require.NoError(t, err)
			require.Equal(t, types.OCILayer, mt)
		}
	})

	t.Run("Config", func(t *testing.T) {
		cf, err := img.ConfigFile()
		require.NoError(t, err)
		require.Equal(t, "linux", cf.OS)
		require.Equal(t, runtime.GOARCH, cf.Architecture)
		require.Equal(t, []string{"/portal", "serve"}, cf.Config.Entrypoint)
		require.Empty(t, cf.Config.Cmd)
		require.Equal(t, "65532:65532", cf.Config.User)
		require.Equal(t, map[string]struct{}{"7007/tcp": {}}, cf.Config.ExposedPorts)
		require.ElementsMatch(t, []string{"PORTAL_LISTEN=:7007", "PORTAL_DATA_DIR=/data"}, cf.Config.Env)
		require.Equal(t, "2023-11-14T22:13:20Z", cf.Created.UTC().Format(time.RFC3339))
		labels := cf.Config.Labels
		require.Equal(t, "https://github.com/billpay/portal", labels["org.opencontainers.image.source"])
		require.Equal(t, "0123456789abcdef0123456789abcdef01234567", labels["org.opencontainers.image.revision"])
		require.Equal(t, "v9.9.9-test", labels["org.opencontainers.image.version"])
		require.Equal(t, "2023-11-14T22:13:20Z", labels["org.opencontainers.image.created"])
		for _, h := range cf.History {
			require.Equal(t, cf.Created.Unix(), h.Created.Unix(), "history %q", h.CreatedBy)
		}
	})

	t.Run("DockerTarball", func(t *testing.T) {
		// The tarball for `docker load` holds the same image.
		path := filepath.Join(tmp, "portal.tar")
		require.NoError(t, writeTarball(path, idxA, "v9.9.9-test"))
		fromTar, err := tarball.ImageFromPath(path, nil)
		require.NoError(t, err)
		want, err := img.ConfigName()
		require.NoError(t, err)
		got, err := fromTar.ConfigName()
		require.NoError(t, err)
		require.Equal(t, want, got)
	})

	t.Run("PushWithCrane", func(t *testing.T) {
		// release.yml pushes the layout with crane at the version go.mod pins; here into an
		// in-process registry, and the registry must then serve the digest that was built.
		reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer reg.Close()
		ref := strings.TrimPrefix(reg.URL, "http://") + "/portal:v9.9.9-test"
		crane := "github.com/google/go-containerregistry/cmd/crane@" + moduleVersion(t, root, "github.com/google/go-containerregistry")
		push := exec.Command("go", "run", crane, "push", out, ref)
		push.Dir = tmp
		b, err := push.CombinedOutput()
		require.NoError(t, err, "%s", b)
		dig := exec.Command("go", "run", crane, "digest", ref)
		dig.Dir = tmp
		b, err = dig.Output()
		require.NoError(t, err)
		require.Equal(t, digestA.String(), strings.TrimSpace(string(b)))
	})

	rootfs := filepath.Join(tmp, "rootfs")
	headers := MustExtract(t, img, rootfs)

	t.Run("Files", func(t *testing.T) {
		want := map[string]struct {
			mode     int64
			uid, gid int
		}{
			"portal":                            {0o755, 0, 0},
			"etc/passwd":                        {0o644, 0, 0},
			"etc/group":                         {0o644, 0, 0},
			"etc/ssl/certs/ca-certificates.crt": {0o644, 0, 0},
			"data":                              {0o755, 65532, 65532},
			"home/nonroot":                      {0o700, 65532, 65532},
			"tmp":                               {0o1777, 0, 0},
		}
		for name, w := range want {
			h, ok := headers[name]
			require.True(t, ok, "%s missing from the image", name)
			require.Equal(t, w.mode, h.Mode, "%s mode", name)
			require.Equal(t, w.uid, h.Uid, "%s uid", name)
			require.Equal(t, w.gid, h.Gid, "%s gid", name)
			require.Equal(t, int64(1700000000), h.ModTime.Unix(), "%s mtime", name)
			require.Empty(t, h.Uname+h.Gname, "%s carries host user names", name)
		}
		require.Len(t, headers, len(want)+4, "etc, etc/ssl, etc/ssl/certs, home and nothing else: %v", keys(headers))
		passwd, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
		require.NoError(t, err)
		require.Contains(t, string(passwd), "nonroot:x:65532:65532:")
		certs, err := os.ReadFile(filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt"))
		require.NoError(t, err)
		require.Greater(t, bytes.Count(certs, []byte("BEGIN CERTIFICATE")), 100)
	})

	t.Run("Version", func(t *testing.T) {
		out, err := exec.Command(filepath.Join(rootfs, "portal"), "version").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "portal v9.9.9-test\n", string(out))
	})

	t.Run("Serve", func(t *testing.T) {
		MustServe(t, rootfs)
	})
}

// MustServe runs the image's entrypoint with the image's environment (the listen address moved to
// a free loopback port, the data directory inside the extracted root) and waits for /readyz.
func MustServe(t *testing.T, rootfs string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(rootfs, "portal"), Entrypoint[1:]...)
	cmd.Dir = rootfs
	cmd.Env = []string{"PORTAL_LISTEN=127.0.0.1:0", "PORTAL_DATA_DIR=" + filepath.Join(rootfs, "data"),
		"SSL_CERT_FILE=" + filepath.Join(rootfs, CACertsPath)}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "portal ready" {
				addr <- line.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-ctx.Done():
		t.Fatal("portal did not report ready")
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("portal exited with %v after SIGTERM", err)
	}
	require.NoError(t, err)
}

// MustLoadImage reads the OCI layout at dir and returns the image for platform p.
func MustLoadImage(t *testing.T, dir string, p v1.Platform) v1.Image {
	t.Helper()
	lp, err := layout.FromPath(dir)
	require.NoError(t, err)
	outer, err := lp.ImageIndex()
	require.NoError(t, err)
	om, err := outer.IndexManifest()
	require.NoError(t, err)
	require.Len(t, om.Manifests, 1)
	idx, err := outer.ImageIndex(om.Manifests[0].Digest)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Satisfies(p) {
			img, err := idx.Image(m.Digest)
			require.NoError(t, err)
			return img
		}
	}
	t.Fatalf("no image for %s in %s", p, dir)
	return nil
}

// MustExtract writes the image's flattened filesystem under dir and returns its tar headers by name.
func MustExtract(t *testing.T, img v1.Image, dir string) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	headers := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		headers[strings.TrimSuffix(h.Name, "/")] = h
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		require.True(t, strings.HasPrefix(p, dir+string(filepath.Separator)), "entry %q escapes", h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			require.NoError(t, os.MkdirAll(p, 0o755))
		case tar.TypeReg:
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(h.Mode).Perm())
			require.NoError(t, err)
			_, err = io.Copy(f, tr)
			require.NoError(t, err)
			require.NoError(t, f.Close())
		default:
			t.Fatalf("unexpected entry %q of type %c", h.Name, h.Typeflag)
		}
	}
	return headers
}

// MustCopyTree copies the files a go build of the module needs: everything but VCS data,
// dependencies installed by npm, local data and large build outputs.
func MustCopyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "dist", "data", "out":
				if rel != "." {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > 4<<20 {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, info.Mode().Perm())
	})
	require.NoError(t, err)
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	return root
}

// moduleVersion is the version go.mod requires of a module.
func moduleVersion(t *testing.T, root, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	f, err := modfile.ParseLax("go.mod", data, nil)
	require.NoError(t, err)
	for _, r := range f.Require {
		if r.Mod.Path == path {
			return r.Mod.Version
		}
	}
	t.Fatalf("go.mod does not require %s", path)
	return ""
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
