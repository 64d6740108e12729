package catalog

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

func TestParseRef(t *testing.T) {
	group := RefDefaults{Kind: "Group", Namespace: "team-ns"}
	cases := []struct {
		name     string
		in       string
		defaults RefDefaults
		want     Ref
	}{
		{"a full reference keeps every part as written", "Component:Prod/My-Service", RefDefaults{}, Ref{"Component", "Prod", "My-Service"}},
		{"a bare name takes kind and namespace from the defaults", "platform", group, Ref{"Group", "team-ns", "platform"}},
		{"a bare name without a default namespace lands in default", "platform", RefDefaults{Kind: "Group"}, Ref{"Group", "default", "platform"}},
		{"a namespaced name takes only the kind from the defaults", "other/platform", group, Ref{"Group", "other", "platform"}},
		{"a kinded name takes only the namespace from the defaults", "user:jdoe", group, Ref{"user", "team-ns", "jdoe"}},
		{"a colon after the first slash belongs to the name", "ns/a:b", group, Ref{"Group", "ns", "a:b"}},
		{"a second colon belongs to the name", "component:a:b", RefDefaults{}, Ref{"component", "default", "a:b"}},
		{"a colon before the slash may sit in the namespace", "component:a:b/c", RefDefaults{}, Ref{"component", "a:b", "c"}},
		{"a second slash belongs to the name", "component:ns/a/b", RefDefaults{}, Ref{"component", "ns", "a/b"}},
		{"surrounding spaces are kept, not trimmed", " x", group, Ref{"Group", "team-ns", " x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRef(tc.in, tc.defaults)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseRefRejects(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		message string
	}{
		{"an empty reference", "", "Entity reference must not be empty"},
		{"an empty kind", ":ns/name", `Entity reference ":ns/name" was not on the form [<kind>:][<namespace>/]<name>`},
		{"an empty namespace", "component:/name", `Entity reference "component:/name" was not on the form [<kind>:][<namespace>/]<name>`},
		{"an empty name after the namespace", "component:ns/", `Entity reference "component:ns/" was not on the form [<kind>:][<namespace>/]<name>`},
		{"an empty name after the kind", "component:", `Entity reference "component:" was not on the form [<kind>:][<namespace>/]<name>`},
		{"a leading slash", "/name", `Entity reference "/name" was not on the form [<kind>:][<namespace>/]<name>`},
		{"a missing kind without a default kind", "ns/name", `Entity reference "ns/name" had missing or empty kind (e.g. did not start with "component:" or similar)`},
	}
	for _, tc := range cases {
		t.Run("it rejects "+tc.name, func(t *testing.T) {
			_, err := ParseRef(tc.in, RefDefaults{})
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Equal(t, tc.message, err.Error())
		})
	}
}

func TestRefLowerAndString(t *testing.T) {
	r := Ref{Kind: "Component", Namespace: "Prod", Name: "My-Service"}
	t.Run("Lower lowercases every part", func(t *testing.T) {
		require.Equal(t, Ref{"component", "prod", "my-service"}, r.Lower())
	})
	t.Run("String is the canonical lowercase form", func(t *testing.T) {
		require.Equal(t, "component:prod/my-service", r.String())
	})
	t.Run("a canonical reference parses back to the same reference", func(t *testing.T) {
		got, err := ParseRef(r.String(), RefDefaults{})
		require.NoError(t, err)
		require.Equal(t, r.Lower(), got)
	})
}

func TestParseRefFromTargetRef(t *testing.T) {
	t.Run("a canonical reference splits into its three parts", func(t *testing.T) {
		got, err := ParseRefFromTargetRef("group:default/team-a")
		require.NoError(t, err)
		require.Equal(t, Ref{"group", "default", "team-a"}, got)
	})
	t.Run("a name with colons and slashes survives", func(t *testing.T) {
		got, err := ParseRefFromTargetRef("resource:default/arn:aws:s3/bucket")
		require.NoError(t, err)
		require.Equal(t, Ref{"resource", "default", "arn:aws:s3/bucket"}, got)
	})
	for _, in := range []string{"", "team-a", "default/team-a", "group:team-a", "group:/team-a", ":default/team-a", "group:default/", "ns/group:x"} {
		t.Run("it rejects the incomplete reference "+in, func(t *testing.T) {
			_, err := ParseRefFromTargetRef(in)
			require.Error(t, err)
			require.Equal(t, errs.Invalid, errs.CodeOf(err))
			require.Contains(t, err.Error(), `was not on the form <kind>:<namespace>/<name>`)
		})
	}
}
