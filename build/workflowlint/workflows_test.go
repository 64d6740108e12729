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
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := []string{"ci.yml", "release.yml", "frontends-pipeline.yml"}
	for _, app := range frontendApps {
		want = append(want, "frontends-"+app+".yml")
	}
	require.ElementsMatch(t, want, names, "the workflows actionlint checked")
}

// frontendApps are the four microfrontends under frontends/apps, each with a workflow of its own
// (frontends-<app>.yml) calling frontends-pipeline.yml. The shell is the host; the other three are the
// catalog's components.
var frontendApps = []string{"shell", "payment-app", "admin-panel", "feature-flags"}

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
// the Helm versions go.mod pins; each microfrontend has a workflow of its own that tests, builds and
// deploys it through the shared pipeline to the site infra/live gives it; every action is pinned to a
// version.
func TestWorkflowsMatchRepository(t *testing.T) {
	root := repoRoot(t)
	ci := readWorkflow(t, root, "ci.yml")
	release := readWorkflow(t, root, "release.yml")
	pipeline := readWorkflow(t, root, "frontends-pipeline.yml")

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

	t.Run("EachFrontendHasItsOwnWorkflow", func(t *testing.T) {
		for _, app := range frontendApps {
			w := readWorkflow(t, root, "frontends-"+app+".yml")
			// yaml.v3 reads the key "on" as the string "on".
			on := w["on"].(map[string]any)
			for _, event := range []string{"push", "pull_request"} {
				paths := on[event].(map[string]any)["paths"].([]any)
				require.Contains(t, paths, "frontends/apps/"+app+"/**", "%s runs on changes to the app", event)
				require.Contains(t, paths, "frontends/libs/shared/**", "%s runs on changes to libs/shared", event)
				for _, other := range frontendApps {
					if other != app {
						require.NotContains(t, paths, "frontends/apps/"+other+"/**", "%s: not on another app's changes", event)
					}
				}
			}
			input := on["workflow_dispatch"].(map[string]any)["inputs"].(map[string]any)["environment"].(map[string]any)
			require.Equal(t, []any{"dev", "staging", "production"}, input["options"])
			call := job(t, w, "pipeline")
			require.Equal(t, "./.github/workflows/frontends-pipeline.yml", call["uses"])
			require.Equal(t, app, call["with"].(map[string]any)["app"])
			require.Equal(t, "write", call["permissions"].(map[string]any)["id-token"], "OIDC, no stored AWS keys")
		}

		// Every app is a catalog component with TechDocs and a site of infra/live's static-sites unit (bucket
		// <name_prefix>-<app>, distribution "<name_prefix> <app>").
		sites, err := os.ReadFile(filepath.Join(root, "infra", "live", "_envcommon", "static-sites.hcl"))
		require.NoError(t, err)
		site := func(name string) bool {
			return regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s*=\s*\{`).Match(sites)
		}
		for _, app := range frontendApps {
			entity := app
			if app == "shell" {
				entity = "frontend-shell"
			}
			data, err := os.ReadFile(filepath.Join(root, "catalog-info", "components", entity+".yaml"))
			require.NoError(t, err, "frontend %s has no catalog entry", app)
			require.Contains(t, string(data), "name: "+entity)
			require.Contains(t, string(data), "backstage.io/techdocs-ref:", "frontend %s has no TechDocs", app)
			require.True(t, site(app), "infra/live/_envcommon/static-sites.hcl has no site %s", app)
		}

		// Each app is a workspace the build step can name, building into the uploaded directory.
		angular, err := os.ReadFile(filepath.Join(root, "frontends", "angular.json"))
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
		for _, app := range frontendApps {
			p, ok := ws.Projects[app]
			require.True(t, ok, "angular.json has no project %s", app)
			require.Equal(t, "dist/"+app, p.Architect.Build.Options.OutputPath)
			_, err := os.Stat(filepath.Join(root, "frontends", "apps", app, "package.json"))
			require.NoError(t, err, "npm --workspace apps/%s", app)
		}
	})

	t.Run("PipelineTestsBuildsAndDeploysPerEnvironment", func(t *testing.T) {
		call := pipeline["on"].(map[string]any)["workflow_call"].(map[string]any)["inputs"].(map[string]any)
		require.Contains(t, call, "app")
		require.Contains(t, call, "environment")
		build := runs(job(t, pipeline, "build"))
		require.Contains(t, build, "npm run generate")
		require.Contains(t, build, `npm test --workspace "apps/$APP"`)
		require.Contains(t, build, `npm run build --workspace "apps/$APP"`)
		// Runtime configuration is written at deploy time, never into the build.
		require.NotContains(t, build, "config.json")

		require.Contains(t, runs(job(t, pipeline, "targets")), `["dev","staging","production"]`, "dev → staging → production, in order")
		deploy := job(t, pipeline, "deploy")
		require.Equal(t, "write", deploy["permissions"].(map[string]any)["id-token"], "OIDC, no stored AWS keys")
		require.Equal(t, "${{ matrix.environment }}", deploy["environment"].(map[string]any)["name"], "a GitHub environment per target")
		require.EqualValues(t, 1, deploy["strategy"].(map[string]any)["max-parallel"])
		script := runs(deploy)
		for _, want := range []string{
			`"$DIST/config.json"`, "ofrepClientKey", "portalUrl", "apiBaseUrl", `"$DIST/mf.manifest.json"`, // runtime config
			`bucket="$NAME_PREFIX-$SITE"`, `Comment=='$NAME_PREFIX $SITE'`, // static-sites names
			"public, max-age=31536000, immutable", "--cache-control 'no-cache'", // cache headers
			"create-invalidation",
		} {
			require.Contains(t, script, want)
		}
		// The distribution comment the pipeline looks for is the one infra/modules/static-sites writes.
		module, err := os.ReadFile(filepath.Join(root, "infra", "modules", "static-sites", "main.tf"))
		require.NoError(t, err)
		require.Contains(t, string(module), `comment             = "${var.name_prefix} ${each.key}"`)
		require.Contains(t, string(module), `bucket        = "${var.name_prefix}-${each.key}"`)
	})

	t.Run("ActionsArePinned", func(t *testing.T) {
		uses := regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)`)
		files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
		require.NoError(t, err)
		for _, file := range files {
			name := filepath.Base(file)
			data, err := os.ReadFile(file)
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
