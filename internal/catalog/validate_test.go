package catalog

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

// vEntity decodes JSON the way the HTTP layer and the YAML reader hand entities over.
func vEntity(t testing.TB, doc string) Entity {
	t.Helper()
	var e Entity
	require.NoError(t, json.Unmarshal([]byte(doc), &e))
	return e
}

// validFixtures holds one realistic entity per kind Portal processes.
var validFixtures = map[string]string{
	"Component": `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"billing-api","namespace":"payments",
		"title":"Billing API","description":"Bills people","labels":{"tier":"gold","example.com/team":"","backstage.io/custom":"Value_1"},
		"annotations":{"backstage.io/techdocs-ref":"dir:.","github.com/project-slug":"billpay/billing","x":"any value: at all!"},
		"tags":["java","c++","c#","data-pipeline","k8s:prod"],
		"links":[{"url":"https://grafana.example.com/d/abc","title":"Dashboard","icon":"dashboard","type":"metrics"},{"url":"mailto:team@example.com"}]},
		"spec":{"type":"service","lifecycle":"production","owner":"group:payments/billing-team","system":"billing",
		"subcomponentOf":"platform","providesApis":["billing-api"],"consumesApis":["api:default/ledger"],"dependsOn":["resource:billing-db"],"dependencyOf":["component:checkout"]}}`,
	"API": `{"apiVersion":"backstage.io/v1beta1","kind":"API","metadata":{"name":"billing-api"},
		"spec":{"type":"openapi","lifecycle":"production","owner":"billing-team","definition":"openapi: 3.0.0","system":"billing"}}`,
	"Resource": `{"apiVersion":"backstage.io/v1alpha1","kind":"Resource","metadata":{"name":"billing-db"},
		"spec":{"type":"database","owner":"billing-team","dependsOn":["resource:storage"],"dependencyOf":["component:billing-api"],"system":"billing"}}`,
	"System": `{"apiVersion":"backstage.io/v1alpha1","kind":"System","metadata":{"name":"billing"},"spec":{"owner":"billing-team","domain":"payments","type":"product"}}`,
	"Domain": `{"apiVersion":"backstage.io/v1alpha1","kind":"Domain","metadata":{"name":"payments"},"spec":{"owner":"finance","subdomainOf":"money"}}`,
	"Group": `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"billing-team"},
		"spec":{"type":"team","profile":{"displayName":"Billing","email":"billing@example.com","picture":"https://example.com/b.png"},
		"parent":"payments","children":[],"members":["jdoe"]}}`,
	"User": `{"apiVersion":"backstage.io/v1alpha1","kind":"User","metadata":{"name":"jdoe"},
		"spec":{"profile":{"displayName":"Jenny Doe","email":"jdoe@example.com"},"memberOf":["billing-team"]}}`,
	"Location": `{"apiVersion":"backstage.io/v1alpha1","kind":"Location","metadata":{"name":"org"},
		"spec":{"type":"url","target":"./org.yaml","targets":["https://github.com/billpay/org/blob/main/users.yaml"],"presence":"optional"}}`,
	"Template": `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"go-service","title":"Go service","tags":["recommended","go"]},
		"spec":{"owner":"platform","type":"service","lifecycle":"production",
		"parameters":[{"title":"Basics","required":["name"],"properties":{"name":{"type":"string","ui:autofocus":true}},"backstage:permissions":{"tags":["one"]}},
			{"title":"Repo","properties":{"repoUrl":{"type":"string","ui:field":"RepoUrlPicker","ui:options":{"allowedHosts":["github.com"]}}}}],
		"steps":[{"id":"fetch","name":"Fetch","action":"fetch:template","input":{"url":"./skeleton","values":{"name":"${{ parameters.name }}"}}},
			{"id":"publish","action":"publish:github","input":{"repoUrl":"${{ parameters.repoUrl }}"},"if":"${{ parameters.repoUrl }}"},
			{"action":"debug:log","if":false}],
		"output":{"links":[{"title":"Repository","url":"${{ steps.publish.output.remoteUrl }}"},{"title":"In catalog","icon":"catalog","entityRef":"${{ steps.register.output.entityRef }}"}],
			"text":[{"title":"Next","content":"**Done**"}],"catalogInfoUrl":"${{ steps.publish.output.catalogInfoUrl }}"},
		"presentation":{"buttonLabels":{"createButtonText":"Go"}},"secrets":{"schema":{"type":"object"}},
		"EXPERIMENTAL_recovery":{"EXPERIMENTAL_strategy":"startOver"},"EXPERIMENTAL_formDecorators":[{"id":"auth","input":{}}]}}`,
}

func TestValidateAcceptsEveryKind(t *testing.T) {
	for kind, doc := range validFixtures {
		t.Run("a realistic "+kind+" is valid", func(t *testing.T) {
			require.NoError(t, Validate(vEntity(t, doc)))
		})
	}
	t.Run("a Template whose parameters are one object is valid", func(t *testing.T) {
		e := vEntity(t, validFixtures["Template"])
		e.Spec()["parameters"] = map[string]any{"properties": map[string]any{}}
		require.NoError(t, Validate(e))
	})
	t.Run("a Location with an empty spec is valid", func(t *testing.T) {
		require.NoError(t, Validate(vEntity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Location","metadata":{"name":"x"},"spec":{}}`)))
	})
	t.Run("a stitched entity with relations, status, uid, etag and generation is valid", func(t *testing.T) {
		e := vEntity(t, validFixtures["Group"])
		e["relations"] = []any{map[string]any{"type": "ownerOf", "targetRef": "component:default/x"}}
		e["status"] = map[string]any{"items": []any{}}
		md := e.Metadata()
		md["uid"], md["etag"], md["generation"] = "b7d1", "abc", float64(3)
		require.NoError(t, Validate(e))
	})
	t.Run("unknown spec properties are allowed as in Backstage", func(t *testing.T) {
		e := vEntity(t, validFixtures["Component"])
		e.Spec()["x-custom"] = map[string]any{"a": 1.0}
		require.NoError(t, Validate(e))
	})
}

func TestValidateRejects(t *testing.T) {
	const hint = " To learn more about catalog file format, visit: https://github.com/backstage/backstage/blob/master/docs/architecture-decisions/adr002-default-catalog-file-format.md"
	cases := []struct {
		name    string
		kind    string
		mutate  func(e Entity)
		message string
	}{
		// Envelope schema.
		{"a foreign root field", "Component", func(e Entity) { e["extra"] = 1.0 },
			"Unknown field extra; an entity may only have the root fields apiVersion, kind, metadata and spec"},
		{"a missing apiVersion", "Component", func(e Entity) { delete(e, "apiVersion") },
			"Malformed envelope, <root> must have required property 'apiVersion'"},
		{"a missing metadata", "Component", func(e Entity) { delete(e, "metadata") },
			"Malformed envelope, <root> must have required property 'metadata'"},
		{"a numeric kind", "Component", func(e Entity) { e["kind"] = 1.0 },
			"Malformed envelope, kind must be a non-empty string"},
		{"a metadata that is a list", "Component", func(e Entity) { e["metadata"] = []any{} },
			"Malformed envelope, metadata must be object"},
		{"a spec that is a string", "Component", func(e Entity) { e["spec"] = "x" },
			"Malformed envelope, spec must be object"},
		{"a missing name", "Component", func(e Entity) { delete(e.Metadata(), "name") },
			"Malformed envelope, metadata must have required property 'name'"},
		{"an empty name", "Component", func(e Entity) { e.Metadata()["name"] = "" },
			"Malformed envelope, metadata.name must be a non-empty string"},
		{"an empty uid", "Component", func(e Entity) { e.Metadata()["uid"] = "" },
			"Malformed envelope, metadata.uid must be a non-empty string"},
		{"a numeric etag", "Component", func(e Entity) { e.Metadata()["etag"] = 5.0 },
			"Malformed envelope, metadata.etag must be a non-empty string"},
		{"a zero generation", "Component", func(e Entity) { e.Metadata()["generation"] = 0.0 },
			"Malformed envelope, metadata.generation must be an integer >= 1"},
		{"a fractional generation", "Component", func(e Entity) { e.Metadata()["generation"] = 1.5 },
			"Malformed envelope, metadata.generation must be an integer >= 1"},
		{"a numeric label value", "Component", func(e Entity) { e.Metadata()["labels"] = map[string]any{"b": 1.0, "a": true} },
			"Malformed envelope, metadata.labels.a must be a string"},
		{"a boolean annotation value", "Component", func(e Entity) { e.Metadata()["annotations"] = map[string]any{"backstage.io/orphan": true} },
			"Malformed envelope, metadata.annotations.backstage.io/orphan must be a string"},
		{"tags that are a string", "Component", func(e Entity) { e.Metadata()["tags"] = "java" },
			"Malformed envelope, metadata.tags must be array"},
		{"an empty tag", "Component", func(e Entity) { e.Metadata()["tags"] = []any{"java", ""} },
			"Malformed envelope, metadata.tags[1] must be a non-empty string"},
		{"a link without url", "Component", func(e Entity) { e.Metadata()["links"] = []any{map[string]any{"title": "x"}} },
			"Malformed envelope, metadata.links[0] must have required property 'url'"},
		{"a link that is a string", "Component", func(e Entity) { e.Metadata()["links"] = []any{"https://x"} },
			"Malformed envelope, metadata.links[0] must be object"},
		{"a non-string description", "Component", func(e Entity) { e.Metadata()["description"] = 1.0 },
			"Malformed envelope, metadata.description must be a string"},

		// Field formats, with Backstage's exact wording.
		{"an apiVersion with two slashes", "Component", func(e Entity) { e["apiVersion"] = "a/b/c" },
			`"apiVersion" is not valid; expected a valid prefix and/or suffix but found "a/b/c".` + hint},
		{"a kind starting with a digit", "Component", func(e Entity) { e["kind"] = "1Component" },
			`"kind" is not valid; expected a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total but found "1Component".` + hint},
		{"a name with a trailing dash", "Component", func(e Entity) { e.Metadata()["name"] = "x-" },
			`"metadata.name" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found "x-".` + hint},
		{"a name of 64 characters", "Component", func(e Entity) { e.Metadata()["name"] = strings.Repeat("a", 64) },
			`"metadata.name" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found "` + strings.Repeat("a", 64) + `".` + hint},
		{"an uppercase namespace", "Component", func(e Entity) { e.Metadata()["namespace"] = "Payments" },
			`"metadata.namespace" is not valid; expected a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total but found "Payments".` + hint},
		{"a label key with an invalid prefix", "Component", func(e Entity) { e.Metadata()["labels"] = map[string]any{"Example.com/x": "y"} },
			`"labels.Example.com/x" is not valid; expected a valid prefix and/or suffix but found "Example.com/x".` + hint},
		{"a label value with a space", "Component", func(e Entity) { e.Metadata()["labels"] = map[string]any{"tier": "gold plated"} },
			`"labels.tier" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found "gold plated".` + hint},
		{"an annotation key with two slashes", "Component", func(e Entity) { e.Metadata()["annotations"] = map[string]any{"a/b/c": "y"} },
			`"annotations.a/b/c" is not valid; expected a valid prefix and/or suffix but found "a/b/c".` + hint},
		{"an uppercase tag", "Component", func(e Entity) { e.Metadata()["tags"] = []any{"java", "Data"} },
			`"tags.1" is not valid; expected a string that is sequences of [a-z0-9+#] separated by [-], at most 63 characters in total but found "Data".` + hint},
		{"a relative link url", "Component", func(e Entity) { e.Metadata()["links"] = []any{map[string]any{"url": "/dashboards/1"}} },
			`"links.0.url" is not valid; expected a string that is a valid url but found "/dashboards/1".` + hint},
		{"a blank link title", "Component", func(e Entity) { e.Metadata()["links"] = []any{map[string]any{"url": "https://x.io", "title": "  "}} },
			`"links.0.title" is not valid; expected a non empty string but found "  ".` + hint},
		{"a link icon with a space", "Component", func(e Entity) {
			e.Metadata()["links"] = []any{map[string]any{"url": "https://x.io", "icon": "my icon"}}
		},
			`"links.0.icon" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total but found "my icon".` + hint},

		// Kind recognition.
		{"an unknown kind", "Component", func(e Entity) { e["kind"] = "Widget" },
			`Unsupported kind "Widget"; no processor recognized the entity widget:payments/billing-api as valid, possibly caused by a foreign kind or apiVersion`},
		{"a lowercase built-in kind", "Component", func(e Entity) { e["kind"] = "component" },
			`Unsupported kind "component" (kinds are case-sensitive; did you mean "Component"?); no processor recognized the entity component:payments/billing-api as valid, possibly caused by a foreign kind or apiVersion`},
		{"a built-in kind under a foreign apiVersion", "Component", func(e Entity) { e["apiVersion"] = "backstage.io/v1" },
			`Unsupported apiVersion "backstage.io/v1" for kind Component, expected backstage.io/v1alpha1 or backstage.io/v1beta1; no processor recognized the entity component:payments/billing-api as valid, possibly caused by a foreign kind or apiVersion`},
		{"a Template under the built-in apiVersion", "Template", func(e Entity) { e["apiVersion"] = "backstage.io/v1alpha1" },
			`Unsupported apiVersion "backstage.io/v1alpha1" for kind Template, expected scaffolder.backstage.io/v1beta3; no processor recognized the entity template:default/go-service as valid, possibly caused by a foreign kind or apiVersion`},

		// Kind schemas.
		{"a Component without spec", "Component", func(e Entity) { delete(e, "spec") }, "Component entity is invalid: spec is required"},
		{"a Component without owner", "Component", func(e Entity) { delete(e.Spec(), "owner") }, "Component entity is invalid: spec.owner is required"},
		{"a Component with a numeric owner", "Component", func(e Entity) { e.Spec()["owner"] = 1.0 }, "Component entity is invalid: spec.owner must be a string"},
		{"a Component with an empty lifecycle", "Component", func(e Entity) { e.Spec()["lifecycle"] = "" }, "Component entity is invalid: spec.lifecycle must not be empty"},
		{"a Component whose providesApis is a string", "Component", func(e Entity) { e.Spec()["providesApis"] = "x" }, "Component entity is invalid: spec.providesApis must be an array of strings"},
		{"a Component with an empty dependsOn entry", "Component", func(e Entity) { e.Spec()["dependsOn"] = []any{"a", ""} }, "Component entity is invalid: spec.dependsOn[1] must not be empty"},
		{"an API without definition", "API", func(e Entity) { delete(e.Spec(), "definition") }, "API entity is invalid: spec.definition is required"},
		{"an API whose definition is an object", "API", func(e Entity) { e.Spec()["definition"] = map[string]any{"$text": "x"} }, "API entity is invalid: spec.definition must be a string"},
		{"a Resource without type", "Resource", func(e Entity) { delete(e.Spec(), "type") }, "Resource entity is invalid: spec.type is required"},
		{"a System without owner", "System", func(e Entity) { delete(e.Spec(), "owner") }, "System entity is invalid: spec.owner is required"},
		{"a Domain with a list as subdomainOf", "Domain", func(e Entity) { e.Spec()["subdomainOf"] = []any{"x"} }, "Domain entity is invalid: spec.subdomainOf must be a string"},
		{"a Group without children", "Group", func(e Entity) { delete(e.Spec(), "children") }, "Group entity is invalid: spec.children is required"},
		{"a Group whose profile is a string", "Group", func(e Entity) { e.Spec()["profile"] = "x" }, "Group entity is invalid: spec.profile must be an object"},
		{"a Group with an empty profile email", "Group", func(e Entity) { e.Spec()["profile"] = map[string]any{"email": ""} }, "Group entity is invalid: spec.profile.email must not be empty"},
		{"a User without memberOf", "User", func(e Entity) { delete(e.Spec(), "memberOf") }, "User entity is invalid: spec.memberOf is required"},
		{"a User with a numeric group", "User", func(e Entity) { e.Spec()["memberOf"] = []any{1.0} }, "User entity is invalid: spec.memberOf[0] must be a string"},
		{"a Location with an unknown presence", "Location", func(e Entity) { e.Spec()["presence"] = "maybe" }, `Location entity is invalid: spec.presence must be one of required, optional but found "maybe"`},
		{"a Template without steps", "Template", func(e Entity) { delete(e.Spec(), "steps") }, "Template entity is invalid: spec.steps is required"},
		{"a Template step without action", "Template", func(e Entity) { e.Spec()["steps"] = []any{map[string]any{"id": "x"}} }, "Template entity is invalid: spec.steps[0].action is required"},
		{"a Template step whose if is a number", "Template", func(e Entity) { e.Spec()["steps"] = []any{map[string]any{"action": "x", "if": 1.0}} }, "Template entity is invalid: spec.steps[0].if must be a string or a boolean"},
		{"a Template whose parameters are a string", "Template", func(e Entity) { e.Spec()["parameters"] = "x" }, "Template entity is invalid: spec.parameters must be an object or an array of objects"},
		{"a Template with a parameter page that is a string", "Template", func(e Entity) { e.Spec()["parameters"] = []any{"x"} }, "Template entity is invalid: spec.parameters[0] must be an object"},
		{"a Template output value that is not a string", "Template", func(e Entity) { e.Spec()["output"] = map[string]any{"count": 1.0} }, "Template entity is invalid: spec.output.count must be a string"},
		{"a Template output link with an empty url", "Template", func(e Entity) { e.Spec()["output"] = map[string]any{"links": []any{map[string]any{"url": ""}}} }, "Template entity is invalid: spec.output.links[0].url must not be empty"},
		{"a Template whose secrets schema is a list", "Template", func(e Entity) { e.Spec()["secrets"] = map[string]any{"schema": []any{}} }, "Template entity is invalid: spec.secrets.schema must be an object"},
	}
	for _, tc := range cases {
		t.Run("it rejects "+tc.name, func(t *testing.T) {
			e := vEntity(t, validFixtures[tc.kind])
			tc.mutate(e)
			err := Validate(e)
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, tc.message, err.Error())
		})
	}
	t.Run("it rejects a nil entity", func(t *testing.T) {
		require.True(t, errs.Is(Validate(nil), errs.Invalid))
	})
}

func TestValidateReportsTheSameFaultEveryTime(t *testing.T) {
	e := vEntity(t, validFixtures["Component"])
	labels := map[string]any{}
	for _, k := range []string{"z z", "m m", "a a", "q q", "b b"} {
		labels[k] = "v"
	}
	e.Metadata()["labels"] = labels
	for range 20 {
		require.ErrorContains(t, Validate(e), `"labels.a a" is not valid`)
	}
}

func TestNormalize(t *testing.T) {
	t.Run("an entity without namespace lands in default", func(t *testing.T) {
		e := vEntity(t, validFixtures["API"])
		Normalize(e)
		require.Equal(t, "default", e.Metadata()["namespace"])
	})
	t.Run("an explicit namespace is kept", func(t *testing.T) {
		e := vEntity(t, validFixtures["Component"])
		Normalize(e)
		require.Equal(t, "payments", e.Metadata()["namespace"])
	})
	t.Run("an empty namespace is left for Validate to reject", func(t *testing.T) {
		e := vEntity(t, validFixtures["API"])
		e.Metadata()["namespace"] = ""
		Normalize(e)
		require.Equal(t, "", e.Metadata()["namespace"])
		require.ErrorContains(t, Validate(e), "metadata.namespace must be a non-empty string")
	})
	t.Run("an entity without metadata is left alone", func(t *testing.T) {
		e := Entity{"kind": "Component"}
		Normalize(e)
		require.Equal(t, Entity{"kind": "Component"}, e)
	})
}

func TestKnownKind(t *testing.T) {
	for _, k := range []string{"Component", "component", "API", "api", "Resource", "system", "DOMAIN", "group", "user", "location", "template"} {
		t.Run(k+" is a known kind", func(t *testing.T) { require.True(t, KnownKind(k)) })
	}
	for _, k := range []string{"", "Widget", "components", "apis"} {
		t.Run("'"+k+"' is not a known kind", func(t *testing.T) { require.False(t, KnownKind(k)) })
	}
}

func TestIsValidURL(t *testing.T) {
	valid := []string{
		"https://example.com", "http://example.com:8080/a?b#c", "https://user:pw@example.com/", "http://[::1]:3000/",
		"https://例え.jp/", "https://example.com/%zz", "mailto:team@example.com", "slack://channel?id=1", "urn:isbn:1",
		"file:///etc/hosts", "javascript:alert(1)", " https://example.com ", "http:example.com", "HTTPS://EXAMPLE.COM",
	}
	invalid := []string{
		"", "/relative", "example.com", "://x", "1http://x", "http://", "https://exa mple.com", "http://a:99999/",
		"http://a:x/", "http://[::1/", "ht tp://x", "https://a<b.com/", "https://:80/",
	}
	for _, u := range valid {
		t.Run(u+" is a valid url", func(t *testing.T) { require.True(t, isValidURL(u)) })
	}
	for _, u := range invalid {
		t.Run(u+" is not a valid url", func(t *testing.T) { require.False(t, isValidURL(u)) })
	}
}

// The hand-written matchers must agree with Backstage's regular expressions, length limits included.
func TestMatchersAgreeWithBackstageRegexes(t *testing.T) {
	objectName := regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	dnsLabel := regexp.MustCompile(`^[a-z0-9]+(\-[a-z0-9]+)*$`)
	tag := regexp.MustCompile(`^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$`)
	kind := regexp.MustCompile(`^[a-zA-Z][a-z0-9A-Z]*$`)
	apiSuffix := regexp.MustCompile(`^[a-z0-9A-Z]+$`)
	within := func(s string, n int) bool { return len(s) >= 1 && len(s) <= n }
	subdomain := func(s string) bool {
		if !within(s, 253) {
			return false
		}
		for _, p := range strings.Split(s, ".") {
			if !within(p, 63) || !dnsLabel.MatchString(p) {
				return false
			}
		}
		return true
	}
	prefixed := func(s string, suffix func(string) bool) bool {
		parts := strings.Split(s, "/")
		switch len(parts) {
		case 1:
			return suffix(parts[0])
		case 2:
			return subdomain(parts[0]) && suffix(parts[1])
		}
		return false
	}
	refObjectName := func(s string) bool { return within(s, 63) && objectName.MatchString(s) }
	matchers := []struct {
		name string
		got  func(string) bool
		want func(string) bool
	}{
		{"object name", isValidObjectName, refObjectName},
		{"DNS label", isValidDNSLabel, func(s string) bool { return within(s, 63) && dnsLabel.MatchString(s) }},
		{"tag", isValidTag, func(s string) bool { return within(s, 63) && tag.MatchString(s) }},
		{"kind", isValidKind, func(s string) bool { return within(s, 63) && kind.MatchString(s) }},
		{"DNS subdomain", isValidDNSSubdomain, subdomain},
		{"apiVersion", isValidAPIVersion, func(s string) bool {
			return prefixed(s, func(v string) bool { return within(v, 63) && apiSuffix.MatchString(v) })
		}},
		{"label key", isValidPrefixedName, func(s string) bool { return prefixed(s, refObjectName) }},
	}
	samples := []string{"", "a", "A", "-", "a-", "-a", "a--b", "a-b", "a.b", "a_b", "a..b", "a:b", "c++", "c#", "k8s:prod",
		"backstage.io/v1alpha1", "a/b/c", "/a", "a/", "Example.com/x", "example.com/x", "1abc", "abc1",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a", "é", "a\x00b"}
	alphabet := "aZ09-_.:/+#é "
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		samples = append(samples, b.String())
	}
	for _, m := range matchers {
		t.Run("the "+m.name+" matcher agrees with the regex", func(t *testing.T) {
			for _, s := range samples {
				require.Equal(t, m.want(s), m.got(s), "input %q", s)
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, kind := range []string{"Component", "API", "Group", "Template"} {
		e := vEntity(b, validFixtures[kind])
		Normalize(e)
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Validate(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
