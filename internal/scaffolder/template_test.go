package scaffolder_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
)

const sampleTemplate = `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: sample
  title: Sample
  description: A sample
spec:
  owner: group:platform
  type: service
  parameters:
    - title: Basics
      required: [name, owner]
      properties:
        name:
          type: string
          pattern: '^[a-z][a-z0-9-]*$'
          ui:autofocus: true
        owner:
          type: string
          ui:field: OwnerPicker
        tier:
          type: string
          enum: [gold, silver]
        useDb:
          type: boolean
      dependencies:
        useDb:
          oneOf:
            - properties:
                useDb: {const: true}
                dbName: {type: string}
              required: [dbName]
            - properties:
                useDb: {const: false}
    - title: Repository
      properties:
        repoUrl:
          type: string
          ui:field: RepoUrlPicker
          ui:options:
            allowedHosts: [github.com]
      required: [repoUrl]
  steps:
    - action: debug:log
      input: {message: hi}
    - id: second
      name: Second
      action: debug:log
      if: ${{ parameters.useDb }}
  output:
    links:
      - title: Repo
        url: ${{ parameters.repoUrl }}
`

func TestParseTemplate(t *testing.T) {
	tpl := MustTemplate(t, sampleTemplate)
	if tpl.Ref() != "template:default/sample" {
		t.Fatalf("Ref = %s", tpl.Ref())
	}
	if len(tpl.Parameters) != 2 || len(tpl.Steps) != 2 {
		t.Fatalf("got %d pages, %d steps", len(tpl.Parameters), len(tpl.Steps))
	}
	if s := tpl.Steps[0]; s.ID != "step-1" || s.Name != "debug:log" {
		t.Fatalf("unnamed step got id %q name %q; Backstage names it step-1 and debug:log", s.ID, s.Name)
	}
	if tpl.Steps[1].If != "${{ parameters.useDb }}" {
		t.Fatalf("if = %#v", tpl.Steps[1].If)
	}
	ps := tpl.ParameterSchema()
	if ps.Title != "Sample" || len(ps.Steps) != 2 || ps.Steps[1].Title != "Repository" {
		t.Fatalf("parameter schema = %+v", ps)
	}
	data, _ := json.Marshal(ps)
	if !strings.Contains(string(data), `"ui:field":"OwnerPicker"`) {
		t.Fatalf("ui hints lost from the parameter schema: %s", data)
	}

	t.Run("OneObjectIsOnePage", func(t *testing.T) {
		tpl := MustTemplate(t, strings.Replace(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: one}
spec:
  parameters:
    properties: {name: {type: string}}
    required: [name]
  steps: [{action: debug:log}]`, "\t", "  ", -1))
		if len(tpl.Parameters) != 1 {
			t.Fatalf("pages = %d", len(tpl.Parameters))
		}
		if errs := tpl.ValidateValues(MustValues(t, `{}`)); len(errs) != 1 || errs[0].Argument != "name" {
			t.Fatalf("errors = %v", errs)
		}
	})

	for name, text := range map[string]string{
		"ErrAPIVersion":    strings.Replace(sampleTemplate, "v1beta3", "v1beta2", 1),
		"ErrNoAction":      strings.Replace(sampleTemplate, "    - action: debug:log\n      input: {message: hi}", "    - input: {message: hi}", 1),
		"ErrNullOutput":    strings.Replace(sampleTemplate, "  output:\n    links:", "  output:\n    text:\n    links:", 1),
		"ErrDuplicateStep": strings.Replace(sampleTemplate, "id: second", "id: step-1", 1),
		"ErrSchemaFileRef": strings.Replace(sampleTemplate, "type: boolean", "$ref: 'file:///etc/passwd'", 1),
		"ErrSchemaHTTPRef": strings.Replace(sampleTemplate, "type: boolean", "$ref: 'http://127.0.0.1:1/x.json'", 1),
		"ErrStepsNotAList": strings.Replace(sampleTemplate, "  steps:\n", "  steps: {}\n  x:\n", 1),
		"ErrNotAMapping":   "- a\n- b\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := scaffolder.ParseTemplate([]byte(text))
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("err = %v, want errs.Invalid", err)
			}
		})
	}
}

func TestValidateValuesNamesTheField(t *testing.T) {
	tpl := MustTemplate(t, sampleTemplate)
	for _, tc := range []struct {
		name, values, wantProperty, wantMessage string
	}{
		{"Required", `{owner: x}`, "instance", `requires property "name"`},
		{"Type", `{name: 5, owner: x}`, "instance.name", "is not of a type(s) string"},
		{"Pattern", `{name: Bad_Name, owner: x}`, "instance.name", "does not match pattern"},
		{"Enum", `{name: ok, owner: x, tier: bronze}`, "instance.tier", "is not one of enum values: gold,silver"},
		{"Dependencies", `{name: ok, owner: x, useDb: true}`, "instance", `requires property "dbName"`},
		{"SecondPage", `{name: ok, owner: x}`, "instance", `requires property "repoUrl"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verrs := tpl.ValidateValues(MustValues(t, tc.values))
			if len(verrs) == 0 {
				t.Fatal("values passed")
			}
			found := false
			for _, e := range verrs {
				if e.Property == tc.wantProperty && strings.Contains(e.Message, tc.wantMessage) {
					found = true
				}
			}
			if !found {
				t.Fatalf("errors %v do not include %s %s", verrs, tc.wantProperty, tc.wantMessage)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		if verrs := tpl.ValidateValues(MustValues(t, `{name: ok, owner: x, useDb: true, dbName: d, repoUrl: "github.com?owner=o&repo=r"}`)); verrs != nil {
			t.Fatal(verrs)
		}
	})
}

func TestTaskSpecRoundTrip(t *testing.T) {
	tpl := MustTemplate(t, sampleTemplate)
	spec := tpl.NewTaskSpec(MustValues(t, `{z: 1, a: [1, {y: 2, b: 3}]}`), scaffolder.UserInfo{Ref: "user:default/jane"}, "file:///t/template.yaml")
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var back scaffolder.TaskSpec
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(data) {
		t.Fatalf("round trip changed the spec:\n%s\n%s", data, again)
	}
	if !strings.Contains(string(data), `"parameters":{"z":1,"a":[1,{"y":2,"b":3}]}`) {
		t.Fatalf("key order lost: %s", data)
	}
}
