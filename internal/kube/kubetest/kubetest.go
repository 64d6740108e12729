// Package kubetest starts a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok nodes) on loopback for tests, through scripts/kube-testenv.sh. Outside CI a missing build
// skips the tests with the command that builds it; with CI=true it fails them.
package kubetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/kube"
)

// Env is a running control plane.
type Env struct {
	Dir        string
	Kubeconfig string
	Server     string
	// Token is a static cluster-admin token.
	Token string
	// CA is the PEM of the API server's certificate.
	CA []byte
	// BinDir holds the built binaries (kube-apiserver, ..., tofu).
	BinDir string
	script string
}

// Options change how the control plane starts.
type Options struct {
	// APIServerFlags are added to kube-apiserver's command line (a token webhook, for example).
	APIServerFlags []string
}

// ErrNotBuilt means the binaries are not in the cache.
var ErrNotBuilt = errors.New("the Kubernetes test binaries are not built: run scripts/kube-testenv.sh build (minutes, once)")

// Script returns the path of scripts/kube-testenv.sh, found from the working directory upwards.
func Script() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "kube-testenv.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/kube-testenv.sh not found above the working directory")
		}
		dir = parent
	}
}

// BinDir returns the directory of the built binaries, or ErrNotBuilt.
func BinDir() (string, error) {
	script, err := Script()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("bash", script, "bindir").Output()
	if err != nil {
		return "", ErrNotBuilt
	}
	return strings.TrimSpace(string(out)), nil
}

// Start starts a control plane in a new temporary directory; Stop ends it.
func Start(opts Options) (*Env, error) {
	script, err := Script()
	if err != nil {
		return nil, err
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "portal-kube-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", script, "start", dir)
	cmd.Env = append(os.Environ(), "KUBE_TESTENV_APISERVER_EXTRA="+strings.Join(opts.APIServerFlags, " "))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		_ = exec.Command("bash", script, "stop", dir).Run()
		return nil, fmt.Errorf("starting the control plane: %v\n%s", err, stderr.String())
	}
	env := &Env{Dir: dir, BinDir: bin, script: script}
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		env.Stop()
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "KUBE_TESTENV_KUBECONFIG":
			env.Kubeconfig = v
		case "KUBE_TESTENV_SERVER":
			env.Server = v
		case "KUBE_TESTENV_TOKEN":
			env.Token = v
		case "KUBE_TESTENV_CA":
			if env.CA, err = os.ReadFile(v); err != nil {
				env.Stop()
				return nil, err
			}
		}
	}
	return env, nil
}

// Stop stops every process and removes the directory.
func (e *Env) Stop() {
	_ = exec.Command("bash", e.script, "stop", e.Dir).Run()
}

// Endpoint is the control plane as a deploy endpoint, with the admin token.
func (e *Env) Endpoint(name string) deploy.Endpoint {
	return deploy.Endpoint{Name: name, Server: e.Server, CAData: e.CA, Token: kube.StaticToken(e.Token)}
}

// Main runs a package's tests with a control plane that every test shares (through Shared). When the binaries
// are missing it still runs the tests; those that need the control plane skip, or fail under CI=true.
func Main(m *testing.M, opts Options) int {
	env, err := Start(opts)
	if err != nil {
		startErr = err
	} else {
		shared = env
		defer env.Stop()
	}
	return m.Run()
}

var (
	shared   *Env
	startErr error
)

// Shared returns the control plane Main started, or skips the test (fails it under CI=true) when there is none.
func Shared(t testing.TB) *Env {
	t.Helper()
	if shared != nil {
		return shared
	}
	if startErr == nil {
		startErr = errors.New("kubetest.Main was not called from TestMain")
	}
	if os.Getenv("CI") == "true" || !errors.Is(startErr, ErrNotBuilt) {
		t.Fatalf("no Kubernetes control plane: %v", startErr)
	}
	t.Skipf("skipping: %v", startErr)
	return nil
}
