// Package templates_test dry-runs BillPay's golden-path templates and checks what they produce.
package templates_test

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/scaffoldertest"
)

var update = flag.Bool("update", false, "rewrite the golden files under <template>/testdata/dry-run")

func dryRun(t *testing.T, name string) *scaffoldertest.Result {
	t.Helper()
	r := scaffoldertest.DryRunDir(t, name, filepath.Join(name, "testdata", "values.yaml"), scaffolder.UserInfo{Ref: "user:default/lucia.fernandez"})
	scaffoldertest.CompareGolden(t, r, filepath.Join(name, "testdata", "dry-run"), *update)
	checkCommon(t, r)
	return r
}

// leftover finds template syntax that survived rendering: a skeleton bug, except where a file keeps
// GitHub Actions or Angular expressions on purpose.
var leftover = regexp.MustCompile(`\$\{\{\s*(values|parameters|cookiecutter)\.|\{\{\s*(values|cookiecutter)\.|\{%`)

// checkCommon holds for every golden path: no template syntax left, every YAML and JSON file parses,
// and the catalog entry is valid and registrable.
func checkCommon(t *testing.T, r *scaffoldertest.Result) {
	t.Helper()
	for p, c := range r.Files {
		if m := leftover.FindString(c); m != "" {
			t.Errorf("%s still has template syntax %q", p, m)
		}
		switch filepath.Ext(p) {
		case ".yaml", ".yml":
			var v any
			if err := yaml.Unmarshal([]byte(c), &v); err != nil {
				t.Errorf("%s is not valid YAML: %v", p, err)
			}
		case ".json":
			var v any
			if err := json.Unmarshal([]byte(c), &v); err != nil {
				t.Errorf("%s is not valid JSON: %v", p, err)
			}
		}
	}
}

func requireCatalogEntity(t *testing.T, r *scaffoldertest.Result, path, wantName, wantOwner string) catalog.Entity {
	t.Helper()
	docs := catalog.ParseDocuments([]byte(r.Files[path]))
	if len(docs) != 1 || docs[0].Err != nil {
		t.Fatalf("%s: %+v", path, docs)
	}
	e := docs[0].Entity
	if err := catalog.Validate(e); err != nil {
		t.Fatalf("%s is not a valid entity: %v", path, err)
	}
	if e.Name() != wantName || e.Spec()["owner"] != wantOwner {
		t.Fatalf("%s: name %q owner %v", path, e.Name(), e.Spec()["owner"])
	}
	return e
}

func requireContains(t *testing.T, r *scaffoldertest.Result, path string, wants ...string) {
	t.Helper()
	c, ok := r.Files[path]
	if !ok {
		t.Fatalf("%s was not produced", path)
	}
	for _, w := range wants {
		if !strings.Contains(c, w) {
			t.Errorf("%s lacks %q", path, w)
		}
	}
}

func TestJavaSpringBootService(t *testing.T) {
	r := dryRun(t, "java-springboot-service")
	e := requireCatalogEntity(t, r, "catalog-info.yaml", "ledger-sync", "group:default/payments-team")
	if e.Spec()["system"] != "payments" || e.Annotation("github.com/project-slug") != "billpay/ledger-sync" {
		t.Errorf("catalog entry: %v", e)
	}
	requireContains(t, r, "src/main/java/com/billpay/ledger/LedgerSyncApplication.java",
		"package com.billpay.ledger;", "public class LedgerSyncApplication")
	requireContains(t, r, "src/test/java/com/billpay/ledger/LedgerSyncApplicationTests.java", "jdbc:h2:mem:test")
	requireContains(t, r, "build.gradle", "JavaLanguageVersion.of(17)", "org.springframework.boot", "org.postgresql:postgresql")
	requireContains(t, r, "settings.gradle", "rootProject.name = 'ledger-sync'")
	requireContains(t, r, "src/main/resources/application.yaml", "port: 8081", "jdbc:postgresql://localhost:5432/ledger_sync")
	// A multi-stage image: build with the JDK, run on the JRE as non-root.
	docker := r.Files["Dockerfile"]
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(docker, -1)); n < 2 || !strings.Contains(docker, "AS build") || !strings.Contains(docker, "USER app") {
		t.Errorf("Dockerfile is not a non-root multi-stage build:\n%s", docker)
	}
	requireContains(t, r, "deploy/values.yaml", "repository: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/ledger-sync", "containerPort: 8081")
	requireContains(t, r, "deploy/values-prod.yaml", "replicaCount: 3", "minAvailable: 2", "maxReplicas: 9")
	// The pipeline builds, pushes to ECR and deploys; GitHub's own expressions survive rendering.
	requireContains(t, r, ".github/workflows/ci.yaml", "gradle build", "amazon-ecr-login", "docker/build-push-action",
		"helm upgrade --install", "${{ needs.image.outputs.tag }}", "SERVICE: ledger-sync")
	requireContains(t, r, "mkdocs.yml", "techdocs-core")
	requireContains(t, r, "docs/index.md", "# ledger-sync", "PostgreSQL")
}

func TestAngularMicrofrontend(t *testing.T) {
	r := dryRun(t, "angular-microfrontend")
	requireCatalogEntity(t, r, "catalog-info.yaml", "bill-splitter", "group:default/frontend-team")
	var pkg struct {
		Name            string            `json:"name"`
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal([]byte(r.Files["package.json"]), &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "bill-splitter" || !strings.HasPrefix(pkg.Dependencies["@angular/core"], "^17.") || pkg.DevDependencies["@angular-architects/module-federation"] == "" {
		t.Errorf("package.json: %+v", pkg)
	}
	requireContains(t, r, "webpack.config.js", "name: 'bill_splitter'", "'./Routes': './src/app/app.routes.ts'", "withModuleFederationPlugin")
	requireContains(t, r, "src/app/app.routes.ts", "path: ''", "path: 'new-split'", "title: 'New split'", "path: 'history'")
	requireContains(t, r, "src/app/page.component.ts", "<h1>{{ title }}</h1>")
	requireContains(t, r, "angular.json", `"builder": "ngx-build-plus:browser"`, `"port": 4205`)
	requireContains(t, r, ".github/workflows/deploy.yaml", "aws s3 sync", "s3://$BUCKET/mfe/$APP/", "cloudfront create-invalidation",
		"DISTRIBUTION_ID: E2ABCDEF123456", "${{ env.AWS_REGION }}")
}

func TestGoService(t *testing.T) {
	r := dryRun(t, "go-service")
	requireCatalogEntity(t, r, "catalog-info.yaml", "fx-rates", "group:default/payments-team")
	requireContains(t, r, "go.mod", "module github.com/billpay/fx-rates")
	requireContains(t, r, "main.go", `const serviceName = "fx-rates"`, `addr = ":8090"`)
	requireContains(t, r, "deploy/values.yaml", "210987654321.dkr.ecr.eu-central-1.amazonaws.com/fx-rates")

	// The generated service builds and its tests pass, with the toolchain at hand and no network.
	dir := t.TempDir()
	for p, c := range r.Files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the generated service: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestTerragruntServiceEnv(t *testing.T) {
	r := dryRun(t, "terragrunt-service-env")
	units := map[string]string{}
	for p, c := range r.Files {
		if filepath.Ext(p) != ".hcl" {
			continue
		}
		f, diags := hclsyntax.ParseConfig([]byte(c), p, hcl.InitialPos)
		if diags.HasErrors() {
			t.Errorf("%s is not valid HCL: %v", p, diags)
			continue
		}
		if filepath.Base(p) == "terragrunt.hcl" {
			units[filepath.Base(filepath.Dir(p))] = c
			attrs, _ := f.Body.JustAttributes()
			_ = attrs
		}
	}
	base := "live/ledger-sync/prod/"
	for _, u := range []string{"ecr", "iam-irsa", "secrets", "rds", "s3", "sqs"} {
		if _, ok := units[u]; !ok {
			t.Errorf("unit %s missing", u)
		}
	}
	requireContains(t, r, base+"rds/terragrunt.hcl", "skip = false", `instance_class      = "db.t4g.medium"`, `multi_az            = true`, `database_name       = "ledger_sync"`)
	requireContains(t, r, base+"s3/terragrunt.hcl", "skip = true")
	requireContains(t, r, base+"sqs/terragrunt.hcl", "skip = false", `name                       = "billpay-prod-ledger-sync"`)
	requireContains(t, r, base+"iam-irsa/terragrunt.hcl", `namespace            = "billpay"`)
	requireContains(t, r, base+"secrets/terragrunt.hcl", `secret_names  = ["db"]`)
	requireContains(t, r, base+"root.hcl", `bucket         = "billpay-tofu-state-210987654321"`, `key            = "services/ledger-sync/prod/${path_relative_to_include()}/terraform.tfstate"`)
	requireContains(t, r, "live/ledger-sync/service.hcl", `Owner     = "payments-team"`)
	requireContains(t, r, "README.md", "- `rds`", "- `sqs`")
	if strings.Contains(r.Files["README.md"], "`s3`") {
		t.Error("README lists a bucket that was not asked for")
	}
}

// TestTerragruntMatchesCookiecutter compares fetch:cookiecutter with the real cookiecutter, which
// rendered testdata/cookiecutter/ from the same skeleton and values (testdata/gen_cookiecutter.sh).
func TestTerragruntMatchesCookiecutter(t *testing.T) {
	r := dryRun(t, "terragrunt-service-env")
	root := filepath.Join("terragrunt-service-env", "testdata", "cookiecutter")
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got, ok := r.Files["live/ledger-sync/"+filepath.ToSlash(rel)]
		if !ok || got != string(want) {
			t.Errorf("%s:\n--- Portal\n%s\n--- cookiecutter\n%s", rel, got, want)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("compared %d files: %v", n, err)
	}
}

// TestLocationListsEveryTemplate keeps templates/all.yaml in step with the directories here.
func TestLocationListsEveryTemplate(t *testing.T) {
	data, err := os.ReadFile("all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := catalog.ParseDocuments(data)
	if len(docs) != 1 || docs[0].Err != nil {
		t.Fatalf("all.yaml: %+v", docs)
	}
	if err := catalog.Validate(docs[0].Entity); err != nil {
		t.Fatal(err)
	}
	targets, _ := docs[0].Entity.Spec()["targets"].([]any)
	listed := map[string]bool{}
	for _, tg := range targets {
		s, _ := tg.(string)
		listed[filepath.Clean(s)] = true
		if _, err := os.Stat(s); err != nil {
			t.Errorf("all.yaml lists %s: %v", s, err)
		}
	}
	dirs, _ := filepath.Glob("*/template.yaml")
	for _, d := range dirs {
		if !listed[filepath.Clean(d)] {
			t.Errorf("%s is not listed in all.yaml", d)
		}
	}
}
