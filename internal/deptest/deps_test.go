// Package deptest holds the layering rules of DESIGN.md as a test, so they hold without review.
package deptest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/billpay/portal"

// sdkPrefixes are the technologies only adapters may import.
var sdkPrefixes = []string{
	"github.com/danielgtaylor/huma",
	"entgo.io/ent",
	module + "/ent",
	"github.com/google/go-github",
	"github.com/aws/aws-sdk-go-v2",
	"k8s.io/client-go",
}

// domainPackages must stay free of HTTP frameworks, ORMs and SDKs.
var domainPackages = []string{
	"internal/errs", "internal/auth", "internal/catalog", "internal/techdocs", "internal/scaffolder",
	"internal/flags", "internal/deploy",
}

type pkg struct {
	ImportPath string
	Deps       []string
}

func listDeps(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "./...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs = append(pkgs, p)
	}
	require.NoError(t, cmd.Wait())
	return pkgs
}

func under(importPath, rel string) bool {
	full := module + "/" + rel
	return importPath == full || strings.HasPrefix(importPath, full+"/")
}

func TestLayering(t *testing.T) {
	pkgs := listDeps(t)
	require.NotEmpty(t, pkgs)
	for _, p := range pkgs {
		for _, rel := range domainPackages {
			if !under(p.ImportPath, rel) {
				continue
			}
			t.Run(p.ImportPath+" imports no SDK, ORM or HTTP framework", func(t *testing.T) {
				for _, d := range p.Deps {
					for _, sdk := range sdkPrefixes {
						require.False(t, strings.HasPrefix(d, sdk), "%s depends on %s", p.ImportPath, d)
					}
				}
			})
		}
		if under(p.ImportPath, "internal/httpapi") || under(p.ImportPath, "internal/web") {
			t.Run(p.ImportPath+" never imports adapters", func(t *testing.T) {
				for _, d := range p.Deps {
					for _, adapter := range []string{"internal/store", "internal/github", "internal/aws", "internal/kube", "ent"} {
						require.False(t, under(d, adapter), "%s depends on adapter %s", p.ImportPath, d)
					}
				}
			})
		}
		if !under(p.ImportPath, "cmd") && !under(p.ImportPath, "internal/store") && !under(p.ImportPath, "ent") {
			t.Run(p.ImportPath+" does not import ent", func(t *testing.T) {
				for _, d := range p.Deps {
					require.False(t, strings.HasPrefix(d, "entgo.io/ent") || under(d, "ent"), "%s depends on %s; only store and cmd may use ent", p.ImportPath, d)
				}
			})
		}
		if !under(p.ImportPath, "cmd") && !under(p.ImportPath, "internal/deptest") {
			t.Run(p.ImportPath+" does not read config", func(t *testing.T) {
				if under(p.ImportPath, "internal/config") {
					return
				}
				for _, d := range p.Deps {
					require.False(t, under(d, "internal/config"), "%s imports internal/config; only cmd may", p.ImportPath)
				}
			})
		}
	}
}
