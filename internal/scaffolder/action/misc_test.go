package action_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
	"github.com/billpay/portal/internal/scaffolder/action"
	"github.com/billpay/portal/internal/scaffolder/nunjucks"
)

var cookiecutterTemplate = map[string]string{
	"template.yaml": "",
	"cc/cookiecutter.json": `{
  "project_name": "Payments API",
  "project_slug": "{{ cookiecutter.project_name.lower().replace(' ', '-') }}",
  "package": "{{ cookiecutter.project_slug | replace('-', '_') }}",
  "language": ["go", "java"],
  "use_docker": "y",
  "_copy_without_render": ["*.tmpl", "assets/*"],
  "_private": "{{ not rendered }}"
}`,
	"cc/{{cookiecutter.project_slug}}/README.md":                            "# {{ cookiecutter.project_name }}\nLanguage: {{ cookiecutter.language }} / {{ cookiecutter.package }}\n{% if cookiecutter.use_docker == 'y' %}Docker: yes{% endif %}\nTitle: {{ cookiecutter.project_name | slugify }}\nFlag: {{ True }}\n",
	"cc/{{cookiecutter.project_slug}}/{{cookiecutter.package}}/__init__.py": "NAME = {{ cookiecutter.project_name | jsonify }}\n",
	"cc/{{cookiecutter.project_slug}}/keep.tmpl":                            "{{ untouched }}",
	"cc/{{cookiecutter.project_slug}}/assets/x.txt":                         "{{ untouched }}",
	"cc/hooks/post_gen_project.py":                                          "import os; os.system('rm -rf /')",
	"bad/cookiecutter.json":                                                 `{"name": "x"}`,
	"bad/{{cookiecutter.name}}/f.txt":                                       "{{ cookiecutter.nope }}",
}

func TestFetchCookiecutter(t *testing.T) {
	e := MustEnv(t, action.Options{}, cookiecutterTemplate)
	MustOK(t, e.Run(t, `
    - action: fetch:cookiecutter
      input:
        url: ./cc
        targetPath: svc
        values: {project_name: "Ledger Service"}
`, `{}`))
	requireFiles(t, e.Files(t), map[string]string{
		"svc/README.md":                  "# Ledger Service\nLanguage: go / ledger_service\nDocker: yes\nTitle: ledger-service\nFlag: True\n",
		"svc/ledger_service/__init__.py": "NAME = \"Ledger Service\"\n",
		"svc/keep.tmpl":                  "{{ untouched }}",
		"svc/assets/x.txt":               "{{ untouched }}",
	})
	if !strings.Contains(strings.Join(e.log, "\n"), "hooks are not run") {
		t.Fatal("the log does not say that hooks were skipped")
	}
	t.Run("ErrStrictUndefined", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, cookiecutterTemplate)
		requireFailed(t, e.Run(t, `
    - action: fetch:cookiecutter
      input: {url: ./bad, values: {}}
`, `{}`), "undefined")
	})
	t.Run("ErrUnknownExtension", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, cookiecutterTemplate)
		requireFailed(t, e.Run(t, `
    - action: fetch:cookiecutter
      input: {url: ./cc, values: {}, extensions: [evil.Extension]}
`, `{}`), "not available")
	})
}

func TestFS(t *testing.T) {
	files := map[string]string{"template.yaml": "", "s/a.txt": "a", "s/b.tmp": "b", "s/d/c.tmp": "c", "s/d/keep.md": "k", "s/.hidden.tmp": "h"}
	t.Run("RenameAndDelete", func(t *testing.T) {
		e := MustEnv(t, action.Options{}, files)
		MustOK(t, e.Run(t, `
    - action: fetch:plain
      input: {url: ./s}
    - action: fs:rename
      input:
        files:
          - {from: a.txt, to: moved/a2.txt}
          - {from: d/keep.md, to: b.tmp, overwrite: true}
    - action: fs:delete
      input: {files: ['**/*.tmp', 'nothing-matches']}
`, `{}`))
		requireFiles(t, e.Files(t), map[string]string{"moved/a2.txt": "a"})
	})
	for _, tc := range []struct{ name, steps, want string }{
		{"ErrRenameOverExisting", `
    - action: fetch:plain
      input: {url: ./s}
    - action: fs:rename
      input: {files: [{from: a.txt, to: s.txt}, {from: s.txt, to: b.tmp}]}
`, "There is already a file at b.tmp"},
		{"ErrRenameMissing", `
    - action: fs:rename
      input: {files: [{from: nope.txt, to: x}]}
`, "File nope.txt does not exist"},
		{"ErrRenameOut", `
    - action: fetch:plain
      input: {url: ./s}
    - action: fs:rename
      input: {files: [{from: a.txt, to: ../../stolen.txt}]}
`, "outside the workspace"},
		{"ErrRenameFromOutside", `
    - action: fs:rename
      input: {files: [{from: /etc/passwd, to: p}]}
`, "outside the workspace"},
		{"ErrDeleteOut", `
    - action: fs:delete
      input: {files: ['../*']}
`, "outside the workspace"},
		{"ErrDeleteAbsolute", `
    - action: fs:delete
      input: {files: ['/etc/**']}
`, "outside the workspace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := MustEnv(t, action.Options{}, files)
			requireFailed(t, e.Run(t, tc.steps, `{}`), tc.want)
		})
	}
}

func TestDebug(t *testing.T) {
	e := MustEnv(t, action.Options{MaxWait: time.Second}, map[string]string{"template.yaml": "", "s/x.txt": "content"})
	start := time.Now()
	MustOK(t, e.Run(t, `
    - action: fetch:plain
      input: {url: ./s}
    - action: debug:log
      input: {message: "Hello ${{ parameters.who }}", listWorkspace: with-contents}
    - action: debug:wait
      input: {milliseconds: 50}
`, `{who: world}`))
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("debug:wait did not wait")
	}
	all := strings.Join(e.log, "\n")
	for _, want := range []string{"Hello world", "x.txt:\n  content"} {
		if !strings.Contains(all, want) {
			t.Fatalf("log lacks %q:\n%s", want, all)
		}
	}
	requireFailed(t, e.Run(t, `
    - action: debug:wait
      input: {minutes: 5}
`, `{}`), "longer than the maximum")
}

func TestCatalogWrite(t *testing.T) {
	e := MustEnv(t, action.Options{}, map[string]string{"template.yaml": ""})
	MustOK(t, e.Run(t, `
    - action: catalog:write
      input:
        entity:
          apiVersion: backstage.io/v1alpha1
          kind: Component
          metadata:
            name: ${{ parameters.name }}
            description: "Line one\nline two"
            annotations:
              github.com/project-slug: billpay/${{ parameters.name }}
            tags: [java, payments]
          spec:
            type: service
            lifecycle: experimental
            owner: ${{ parameters.owner }}
            replicas: 3
            public: true
    - action: catalog:write
      input:
        filePath: other/info.yaml
        entity: {kind: Group, metadata: {name: g}}
`, `{name: payments, owner: group:default/payments}`))
	got := e.Files(t)
	want := `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  description: |-
    Line one
    line two
  annotations:
    github.com/project-slug: billpay/payments
    backstage.io/source-template: template:default/svc
  tags:
    - java
    - payments
spec:
  type: service
  lifecycle: experimental
  owner: group:default/payments
  replicas: 3
  public: true
`
	if got["catalog-info.yaml"] != want {
		t.Fatalf("catalog-info.yaml\n%s\nwant\n%s", got["catalog-info.yaml"], want)
	}
	if !strings.Contains(got["other/info.yaml"], "annotations:\n    backstage.io/source-template: template:default/svc") {
		t.Fatalf("other/info.yaml = %s", got["other/info.yaml"])
	}
}

func TestCatalogRegister(t *testing.T) {
	cat := &fakeCatalog{entities: []catalog.Entity{
		{"kind": "Location", "metadata": map[string]any{"name": "generated-abc"}},
		{"kind": "API", "metadata": map[string]any{"name": "payments-api"}},
		{"kind": "Component", "metadata": map[string]any{"name": "payments", "namespace": "billing"}},
	}}
	reg, err := scaffolder.NewRegistry(action.Builtins(action.Options{Catalog: cat})...)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := reg.Get("catalog:register")
	outputs := map[string]any{}
	ac := scaffolder.NewActionContext(nunjucks.ObjectOf("repoContentsUrl", "https://github.com/billpay/payments/blob/main"), nil, nil,
		func(k string, v any) { outputs[k] = v })
	if err := a.Run(context.Background(), ac); err != nil {
		t.Fatal(err)
	}
	if outputs["catalogInfoUrl"] != "https://github.com/billpay/payments/blob/main/catalog-info.yaml" || outputs["entityRef"] != "component:billing/payments" {
		t.Fatalf("outputs = %v", outputs)
	}
	if len(cat.added) != 1 {
		t.Fatalf("added = %v", cat.added)
	}
	t.Run("OptionalSwallowsConflicts", func(t *testing.T) {
		cat := &fakeCatalog{err: errs.E(errs.Conflict, "exists")}
		reg, _ := scaffolder.NewRegistry(action.Builtins(action.Options{Catalog: cat})...)
		a, _ := reg.Get("catalog:register")
		err := a.Run(context.Background(), scaffolder.NewActionContext(nunjucks.ObjectOf("catalogInfoUrl", "https://x/c.yaml", "optional", true), nil, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		err = a.Run(context.Background(), scaffolder.NewActionContext(nunjucks.ObjectOf("catalogInfoUrl", "https://x/c.yaml"), nil, nil, nil))
		if !errors.Is(err, cat.err) && !errs.Is(err, errs.Conflict) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestActionsDeclareSchemas(t *testing.T) {
	reg, err := scaffolder.NewRegistry(action.Builtins(action.Options{Catalog: &fakeCatalog{}, GitHub: map[string]action.GitHubHost{}})...)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, info := range reg.List() {
		ids = append(ids, info.ID)
		if info.Input == nil || info.Output == nil || info.Description == "" || len(info.Examples) == 0 {
			t.Errorf("%s lacks a schema, description or example", info.ID)
		}
		for _, ex := range info.Examples {
			if _, err := scaffolder.ParseYAMLValue([]byte(ex.Example)); err != nil {
				t.Errorf("%s example is not YAML: %v", info.ID, err)
			}
		}
	}
	want := "catalog:register catalog:write debug:log debug:wait fetch:cookiecutter fetch:plain fetch:plain:file fetch:template fetch:template:file fs:delete fs:rename publish:github"
	if got := strings.Join(ids, " "); got != want {
		t.Fatalf("actions %s\nwant %s", got, want)
	}
}

// TestActionsJSON checks the /v2/actions shape: [{id, description, examples, schema: {input, output}}].
func TestActionsJSON(t *testing.T) {
	reg, err := scaffolder.NewRegistry(action.Builtins(action.Options{})...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(reg.List())
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		ID          string `json:"id"`
		Description string `json:"description"`
		Examples    []struct {
			Description string `json:"description"`
			Example     string `json:"example"`
		} `json:"examples"`
		Schema struct {
			Input  map[string]any `json:"input"`
			Output map[string]any `json:"output"`
		} `json:"schema"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		if a.ID == "fetch:template" {
			props, _ := a.Schema.Input["properties"].(map[string]any)
			if a.Schema.Input["additionalProperties"] != false || props["copyWithoutTemplating"] == nil || a.Schema.Output["type"] != "object" {
				t.Fatalf("fetch:template schema = %+v", a.Schema)
			}
			return
		}
	}
	t.Fatal("fetch:template not listed")
}
