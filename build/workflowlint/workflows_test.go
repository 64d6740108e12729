// Package workflowlint checks .github/workflows with actionlint (as a library, pinned in go.mod),
// ShellCheck on every run: script when it is installed (CI installs it), and the few facts the
// workflows must keep in step with the repository.
package workflowlint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
	"gopkg.in/yaml.v3"
)

func TestActionlint(t *testing.T) {
	root := repoRoot(t)
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("shellcheck is missing: apt-get install shellcheck")
		}
		t.Log("shellcheck is not installed: run: scripts are not checked (apt-get install shellcheck)")
		shellcheck = ""
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Shellcheck: shellcheck, WorkingDir: root, Oneline: true})
	require.NoError(t, err)
	// The project is the repository root, given rather than found from .git, so the check also runs
	// in an exported tree.
	project, err := actionlint.NewProject(root)
	require.NoError(t, err)
	errs, err := l.LintDir(filepath.Join(root, ".github", "workflows"), project)
	require.NoError(t, err)
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	require.NoError(t, err)
	require.Len(t, files, 3, "ci.yml, release.yml, frontends.yml")
}

// TestActionlintFindsMistakes makes sure the linter is really checking: a workflow with a typo in
// an expression and a shell bug must be reported.
func TestActionlintFindsMistakes(t *testing.T) {
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{})
	require.NoError(t, err)
	errs, err := l.Lint("bad.yml", []byte(`on: push
jobs:
  a:
    runs-on: ubuntu-24.04
    steps:
      - run: echo ${{ github.sha_typo }}
`), nil)
	require.NoError(t, err)
	require.NotEmpty(t, errs)
}

// TestWorkflowsMatchRepository holds the workflows to the repository: CI runs the README's command
// against PostgreSQL; the release builds with build/image and pushes with the crane and deploys with
// the Helm versions go.mod pins; the frontends workflow publishes the three frontends the catalog
// knows; every action is pinned to a version.
func TestWorkflowsMatchRepository(t *testing.T) {
	root := repoRoot(t)
	ci := readWorkflow(t, root, "ci.yml")
	release := readWorkflow(t, root, "release.yml")
	frontends := readWorkflow(t, root, "frontends.yml")

	t.Run("CIRunsMakeTestWithPostgreSQL", func(t *testing.T) {
		test := job(t, ci, "test")
		require.Contains(t, runs(test), "make test")
		require.Contains(t, runs(test), "scripts/kube-testenv.sh build")
		services := test["services"].(map[string]any)
		require.Contains(t, services, "postgres")
		env := test["env"].(map[string]any)
		require.Contains(t, env["PORTAL_TEST_DATABASE_URL"], "@postgres:5432/test")
		require.Equal(t, "true", env["CI"])
	})

	mod := readGoMod(t, root)
	t.Run("ReleaseUsesPinnedTools", func(t *testing.T) {
		require.Contains(t, runs(job(t, release, "image")), "go run ./build/image")
		env := release["env"].(map[string]any)
		require.Equal(t, "github.com/google/go-containerregistry/cmd/crane@"+mod["github.com/google/go-containerregistry"], env["CRANE"])
		require.Equal(t, mod["helm.sh/helm/v3"], env["HELM_VERSION"])
		deploy := job(t, release, "deploy")
		require.Equal(t, "write", deploy["permissions"].(map[string]any)["id-token"], "OIDC, no stored AWS keys")
		require.Contains(t, runs(deploy), "--atomic")
		require.Contains(t, runs(deploy), "helm rollback portal")
		// Portal's deploy API reads the repository's values files, passed to the chart.
		files, err := filepath.Glob(filepath.Join(root, "deploy", "values", "*.yaml"))
		require.NoError(t, err)
		require.NotEmpty(t, files)
		for _, f := range files {
			env := strings.TrimSuffix(filepath.Base(f), ".yaml")
			require.Contains(t, runs(deploy), "--set-file deployValues."+env+"=deploy/values/"+env+".yaml")
		}
		require.Equal(t, []any{"staging", "production"}, deploy["strategy"].(map[string]any)["matrix"].(map[string]any)["environment"])
		for _, env := range []string{"staging", "prod"} {
			_, err := os.Stat(filepath.Join(root, "infra", "charts", "portal", "values-"+env+".yaml"))
			require.NoError(t, err)
		}
	})

	t.Run("FrontendsAreTheCatalogs", func(t *testing.T) {
		apps := job(t, frontends, "build")["strategy"].(map[string]any)["matrix"].(map[string]any)["app"].([]any)
		require.Len(t, apps, 3)
		for _, app := range apps {
			data, err := os.ReadFile(filepath.Join(root, "catalog-info", "components", app.(string)+".yaml"))
			require.NoError(t, err, "frontend %s has no catalog entry", app)
			require.Contains(t, string(data), "name: "+app.(string))
			require.Contains(t, runs(job(t, frontends, "publish")), app.(string))
		}
		// Each app is a workspace the build step can name, building into the uploaded directory.
		angular, err := os.ReadFile(filepath.Join(root, "frontends", "angular.json"))
		if os.IsNotExist(err) {
			t.Log("frontends/ has no angular.json yet: the workspace layout is not checked")
			return
		}
		require.NoError(t, err)
		var ws struct {
			Projects map[string]struct {
				Architect struct {
					Build struct {
						Options struct {
							OutputPath string `yaml:"outputPath"`
						} `yaml:"options"`
					} `yaml:"build"`
				} `yaml:"architect"`
			} `yaml:"projects"`
		}
		require.NoError(t, yaml.Unmarshal(angular, &ws))
		for _, app := range apps {
			p, ok := ws.Projects[app.(string)]
			require.True(t, ok, "angular.json has no project %s", app)
			require.Equal(t, "dist/"+app.(string), p.Architect.Build.Options.OutputPath)
			_, err := os.Stat(filepath.Join(root, "frontends", "apps", app.(string), "package.json"))
			require.NoError(t, err, "npm --workspace apps/%s", app)
		}
	})

	t.Run("ActionsArePinned", func(t *testing.T) {
		uses := regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)`)
		for _, name := range []string{"ci.yml", "release.yml", "frontends.yml"} {
			data, err := os.ReadFile(filepath.Join(root, ".github", "workflows", name))
			require.NoError(t, err)
			for _, m := range uses.FindAllStringSubmatch(string(data), -1) {
				ref := m[1]
				if strings.HasPrefix(ref, "./") {
					continue
				}
				_, version, ok := strings.Cut(ref, "@")
				require.True(t, ok, "%s: %s has no version", name, ref)
				require.Regexp(t, `^(v\d+(\.\d+)*|[0-9a-f]{40})$`, version, "%s: %s is not pinned", name, ref)
			}
		}
	})
}

func readWorkflow(t *testing.T, root, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".github", "workflows", name))
	require.NoError(t, err)
	var w map[string]any
	require.NoError(t, yaml.Unmarshal(data, &w))
	return w
}

func job(t *testing.T, w map[string]any, name string) map[string]any {
	t.Helper()
	j, ok := w["jobs"].(map[string]any)[name].(map[string]any)
	require.True(t, ok, "no job %s", name)
	return j
}

// runs joins a job's run: scripts.
func runs(job map[string]any) string {
	var b strings.Builder
	steps, _ := job["steps"].([]any)
	for _, s := range steps {
		if r, ok := s.(map[string]any)["run"].(string); ok {
			b.WriteString(r + "\n")
		}
	}
	return b.String()
}

func readGoMod(t *testing.T, root string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	f, err := modfile.ParseLax("go.mod", data, nil)
	require.NoError(t, err)
	out := map[string]string{}
	for _, r := range f.Require {
		out[r.Mod.Path] = r.Mod.Version
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	return root
}
