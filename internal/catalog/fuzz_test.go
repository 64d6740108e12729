package catalog

import (
	"fmt"
	"math"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"component:default/billing-api", "Component:Prod/My-Service", "billing-team", "payments/billing-team",
		"user:jdoe", "ns/a:b", "component:a:b/c", "resource:aws/arn:aws:s3:::bucket/key", ":x", "x:", "/x", "x/",
		"a:/b", "", " ", "İstanbul", "K:\u212a/\u00df", "a\x00:b/c", "\xff:\xfe/\xfd",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, withDefaults bool) {
		d := RefDefaults{}
		if withDefaults {
			d = RefDefaults{Kind: "Group", Namespace: "team-ns"}
		}
		r, err := ParseRef(s, d)
		if err != nil {
			if r != (Ref{}) {
				t.Fatalf("ParseRef(%q) returned %#v along with %v", s, r, err)
			}
			return
		}
		if r.Kind == "" || r.Namespace == "" || r.Name == "" {
			t.Fatalf("ParseRef(%q) = %#v has an empty part", s, r)
		}
		canonical := r.String()
		again, err := ParseRef(canonical, RefDefaults{})
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canonical, s, err)
		}
		if again.String() != canonical {
			t.Fatalf("canonical %q of %q re-parses to %#v, canonical %q", canonical, s, again, again.String())
		}
		target, err := ParseRefFromTargetRef(canonical)
		if err != nil || target != again {
			t.Fatalf("ParseRefFromTargetRef(%q) = %#v, %v; want %#v", canonical, target, err, again)
		}
	})
}

// fuzzSeedEntities are realistic catalog files, in the YAML people write.
var fuzzSeedEntities = []string{
	`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: billing-api
  namespace: payments
  description: Bills people
  labels: {tier: gold}
  annotations:
    backstage.io/techdocs-ref: dir:.
    github.com/project-slug: billpay/billing
  tags: [java, c++]
  links:
    - url: https://grafana.example.com/d/abc
      title: Dashboard
      icon: dashboard
spec:
  type: service
  lifecycle: production
  owner: group:payments/billing-team
  system: billing
  providesApis: [billing-api]
  consumesApis: [api:default/ledger]
  dependsOn: [resource:billing-db]
`,
	`apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: billing-api}
spec:
  type: openapi
  lifecycle: production
  owner: billing-team
  definition:
    $text: ./openapi.yaml
`,
	`apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: billing-team
spec:
  type: team
  profile: {displayName: Billing, email: billing@example.com}
  parent: payments
  children: []
  members: [jdoe, user:other/asmith]
`,
	`apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: jdoe, generation: 2, uid: 0b8f, etag: abc}
spec: {memberOf: [billing-team]}
`,
	`apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: org}
spec:
  type: url
  targets: [./users.yaml, https://github.com/billpay/org/blob/main/groups.yaml]
`,
	`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: go-service, title: Go service}
spec:
  owner: platform
  type: service
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: {type: string, ui:autofocus: true}
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: "${{ parameters.name }}"}}
    - action: publish:github
      if: ${{ parameters.publish }}
  output:
    links:
      - title: Repository
        url: ${{ steps.publish.output.remoteUrl }}
`,
	`apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: billing, created: 2024-01-02T03:04:05Z}
spec: {owner: billing-team, domain: payments}
base: &base {owner: x}
`,
	`apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: db, labels: {1: 2}, tags: [.inf, ~, 0x1F]}
spec: {type: database, owner: team, dependsOn: [5, [a], {b: c}], system: !!binary aGVsbG8=}
`,
}

func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeedEntities {
		f.Add([]byte(s))
	}
	for _, s := range validFixtures {
		f.Add([]byte(s)) // JSON is YAML too
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		v, ok := fuzzDecodeYAML(data)
		if !ok {
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		e := Entity(m)
		Normalize(e)
		err := Validate(e)
		if again := Validate(e); fmt.Sprint(err) != fmt.Sprint(again) {
			t.Fatalf("Validate is not deterministic: %v, then %v", err, again)
		}
		edges, relErr := Relations(e)
		if err != nil {
			return
		}
		ref, refErr := ParseRefFromTargetRef(e.Ref().String())
		if refErr != nil || ref != e.Ref().Lower() {
			t.Fatalf("a valid entity's ref %q does not round-trip: %#v, %v", e.Ref(), ref, refErr)
		}
		if relErr == nil && len(edges)%2 != 0 {
			t.Fatalf("edges come in pairs, got %d", len(edges))
		}
	})
}

// fuzzDecodeYAML turns YAML into the values encoding/json would produce, as the catalog reader does.
// A panic inside yaml.v3 is yaml.v3's bug, not ours, so it only skips the input.
func fuzzDecodeYAML(data []byte) (v any, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, false
	}
	return fuzzJSONValue(raw, 0)
}

func fuzzJSONValue(v any, depth int) (any, bool) {
	if depth > 100 {
		return nil, false
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			c, ok := fuzzJSONValue(x, depth+1)
			if !ok {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			c, ok := fuzzJSONValue(x, depth+1)
			if !ok {
				return nil, false
			}
			out[fmt.Sprint(k)] = c
		}
		return out, true
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			c, ok := fuzzJSONValue(x, depth+1)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case uint64:
		return float64(t), true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return fmt.Sprint(t), true
		}
		return t, true
	case time.Time:
		return t.Format(time.RFC3339Nano), true
	case []byte:
		return string(t), true
	case nil, bool, string:
		return t, true
	}
	return fmt.Sprint(v), true
}
