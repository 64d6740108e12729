package catalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

// relPair is the pair of edges one reference produces: outgoing from self, and the inverse.
func relPair(self string, outgoing string, target string, incoming string) []Edge {
	s, t := relRef(self), relRef(target)
	return []Edge{{Source: s, Type: outgoing, Target: t}, {Source: t, Type: incoming, Target: s}}
}

func relRef(s string) Ref {
	r, err := ParseRefFromTargetRef(s)
	if err != nil {
		panic(err)
	}
	return r
}

func relConcat(groups ...[]Edge) []Edge {
	var out []Edge
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func TestRelations(t *testing.T) {
	const comp = "component:payments/billing-api"
	cases := []struct {
		name string
		kind string
		want []Edge
	}{
		{"a Component relates to its owner, parent, APIs, dependencies and system", "Component", relConcat(
			relPair(comp, RelationOwnedBy, "group:payments/billing-team", RelationOwnerOf),
			relPair(comp, RelationPartOf, "component:payments/platform", RelationHasPart),
			relPair(comp, RelationProvidesAPI, "api:payments/billing-api", RelationAPIProvidedBy),
			relPair(comp, RelationConsumesAPI, "api:default/ledger", RelationAPIConsumedBy),
			relPair(comp, RelationDependsOn, "resource:payments/billing-db", RelationDependencyOf),
			relPair(comp, RelationDependencyOf, "component:payments/checkout", RelationDependsOn),
			relPair(comp, RelationPartOf, "system:payments/billing", RelationHasPart),
		)},
		{"an API relates to its owner and system", "API", relConcat(
			relPair("api:default/billing-api", RelationOwnedBy, "group:default/billing-team", RelationOwnerOf),
			relPair("api:default/billing-api", RelationPartOf, "system:default/billing", RelationHasPart),
		)},
		{"a Resource relates to its owner, dependencies and system", "Resource", relConcat(
			relPair("resource:default/billing-db", RelationOwnedBy, "group:default/billing-team", RelationOwnerOf),
			relPair("resource:default/billing-db", RelationDependsOn, "resource:default/storage", RelationDependencyOf),
			relPair("resource:default/billing-db", RelationDependencyOf, "component:default/billing-api", RelationDependsOn),
			relPair("resource:default/billing-db", RelationPartOf, "system:default/billing", RelationHasPart),
		)},
		{"a System relates to its owner and domain", "System", relConcat(
			relPair("system:default/billing", RelationOwnedBy, "group:default/billing-team", RelationOwnerOf),
			relPair("system:default/billing", RelationPartOf, "domain:default/payments", RelationHasPart),
		)},
		{"a Domain relates to its owner and parent domain", "Domain", relConcat(
			relPair("domain:default/payments", RelationOwnedBy, "group:default/finance", RelationOwnerOf),
			relPair("domain:default/payments", RelationPartOf, "domain:default/money", RelationHasPart),
		)},
		{"a Group relates to its parent and members but has no children here", "Group", relConcat(
			relPair("group:default/billing-team", RelationChildOf, "group:default/payments", RelationParentOf),
			relPair("group:default/billing-team", RelationHasMember, "user:default/jdoe", RelationMemberOf),
		)},
		{"a User is a member of its groups", "User",
			relPair("user:default/jdoe", RelationMemberOf, "group:default/billing-team", RelationHasMember)},
		{"a Template is owned by its owner", "Template",
			relPair("template:default/go-service", RelationOwnedBy, "group:default/platform", RelationOwnerOf)},
		{"a Location has no relations", "Location", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Relations(vEntity(t, validFixtures[tc.kind]))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRelationsDetails(t *testing.T) {
	t.Run("every part of every ref is lowercased", func(t *testing.T) {
		e := vEntity(t, `{"apiVersion":"backstage.io/v1alpha1","kind":"Group","metadata":{"name":"Billing","namespace":"Pay"},
			"spec":{"type":"team","children":["Sub/Team-A"]}}`)
		got, err := Relations(e)
		require.NoError(t, err)
		require.Equal(t, relPair("group:pay/billing", RelationParentOf, "group:sub/team-a", RelationChildOf), got)
	})
	t.Run("an owner may be a User", func(t *testing.T) {
		e := vEntity(t, validFixtures["API"])
		e.Spec()["owner"] = "user:jdoe"
		delete(e.Spec(), "system")
		got, err := Relations(e)
		require.NoError(t, err)
		require.Equal(t, relPair("api:default/billing-api", RelationOwnedBy, "user:default/jdoe", RelationOwnerOf), got)
	})
	t.Run("a Template under an old apiVersion has no relations, as the scaffolder ignores it", func(t *testing.T) {
		e := vEntity(t, validFixtures["Template"])
		e["apiVersion"] = "scaffolder.backstage.io/v1beta2"
		got, err := Relations(e)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("a lowercase kind has no relations, as Backstage compares kinds exactly", func(t *testing.T) {
		e := vEntity(t, validFixtures["API"])
		e["kind"] = "api"
		got, err := Relations(e)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("a lone string in an array field counts as one reference", func(t *testing.T) {
		e := vEntity(t, validFixtures["User"])
		e.Spec()["memberOf"] = "billing-team"
		got, err := Relations(e)
		require.NoError(t, err)
		require.Equal(t, relPair("user:default/jdoe", RelationMemberOf, "group:default/billing-team", RelationHasMember), got)
	})
	t.Run("a name with a colon after the namespace stays whole", func(t *testing.T) {
		e := vEntity(t, validFixtures["Resource"])
		e.Spec()["dependsOn"] = []any{"resource:aws/arn:aws:s3:::bucket"}
		delete(e.Spec(), "dependencyOf")
		delete(e.Spec(), "system")
		got, err := Relations(e)
		require.NoError(t, err)
		require.Equal(t, Ref{"resource", "aws", "arn:aws:s3:::bucket"}, got[2].Target)
	})
}

func TestRelationsRejects(t *testing.T) {
	cases := []struct {
		name    string
		kind    string
		field   string
		value   any
		message string
	}{
		{"a dependsOn entry without a kind", "Component", "dependsOn", []any{"billing-db"},
			`spec.dependsOn[0]: Entity reference "billing-db" had missing or empty kind (e.g. did not start with "component:" or similar)`},
		{"a dependencyOf entry without a kind", "Resource", "dependencyOf", []any{"resource:ok", "default/x"},
			`spec.dependencyOf[1]: Entity reference "default/x" had missing or empty kind (e.g. did not start with "component:" or similar)`},
		{"an owner with an empty namespace", "Component", "owner", "group:/team",
			`spec.owner: Entity reference "group:/team" was not on the form [<kind>:][<namespace>/]<name>`},
		{"an empty member", "Group", "members", []any{""}, `spec.members[0]: Entity reference must not be empty`},
		{"a numeric member", "Group", "members", []any{1.0}, `spec.members[0] must be an entity reference string`},
		{"an owner that is an object", "API", "owner", map[string]any{"name": "x"}, `spec.owner must be an entity reference string or an array of them`},
	}
	for _, tc := range cases {
		t.Run("it rejects "+tc.name, func(t *testing.T) {
			e := vEntity(t, validFixtures[tc.kind])
			e.Spec()[tc.field] = tc.value
			_, err := Relations(e)
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, tc.message, err.Error())
		})
	}
}

func BenchmarkRelations(b *testing.B) {
	e := vEntity(b, validFixtures["Component"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Relations(e); err != nil {
			b.Fatal(err)
		}
	}
}
