package auth

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/errs"
)

func TestDecide(t *testing.T) {
	ana := Principal{Subject: "user:default/ana", Kind: KindUser, Via: "session",
		Ownership: []string{"user:default/ana", "group:default/payments-team", "group:default/billpay"}}
	bob := Principal{Subject: "user:default/bob", Kind: KindUser, Via: "session", Ownership: []string{"user:default/bob", "group:default/admin-team"}}
	root := Principal{Subject: "user:default/root", Kind: KindUser, Via: "session", Admin: true, Ownership: []string{"user:default/root"}}
	guest := GuestPrincipal
	ci := Principal{Subject: "ci", Kind: KindService, Via: "static", Ownership: []string{"ci"}}
	readOnly := ana
	readOnly.Via, readOnly.Scopes = "token", []Scope{ScopeCatalogRead}
	flagsToken := ana
	flagsToken.Via, flagsToken.Scopes = "token", []Scope{ScopeFlagsWrite}
	scopedAdmin := root
	scopedAdmin.Via, scopedAdmin.Scopes = "token", []Scope{ScopeCatalogRead}

	payments := Resource{Owner: "group:default/payments-team"}
	paymentsProd := Resource{Owner: "group:default/payments-team", Protected: true}
	unownedProd := Resource{Protected: true}

	cases := []struct {
		name string
		p    Principal
		perm Permission
		r    Resource
		deny string // "" allows; otherwise a fragment of the denial
	}{
		{"anyone signed in reads the catalog", guest, CatalogRead, Resource{}, ""},
		{"a read-only token reads", readOnly, CatalogRead, Resource{}, ""},
		{"a flags-only token does not read", flagsToken, CatalogRead, Resource{}, "catalog:read scope"},
		{"people register locations", ana, CatalogLocationWrite, Resource{}, ""},
		{"automation registers locations", ci, CatalogLocationWrite, Resource{}, ""},
		{"a read-only token cannot register", readOnly, CatalogLocationWrite, Resource{}, "catalog:write scope"},
		{"an admin's read-only token cannot either", scopedAdmin, CatalogEntityDelete, Resource{}, "catalog:write scope"},
		{"owners edit their flag", ana, FlagWrite, payments, ""},
		{"owners edit their flag with a flags token", flagsToken, FlagWrite, payments, ""},
		{"others cannot edit it", bob, FlagWrite, payments, "not a member of group:default/payments-team"},
		{"owners edit it in production", ana, FlagWrite, paymentsProd, ""},
		{"others cannot in production", bob, FlagWrite, paymentsProd, "not a member"},
		{"guests never edit production flags", guest, FlagWrite, Resource{Owner: GuestRef, Protected: true}, "guests cannot"},
		{"admins edit any flag", root, FlagWrite, paymentsProd, ""},
		{"an unowned dev flag is anyone's", bob, FlagWrite, Resource{}, ""},
		{"an unowned production flag is admins' only", ana, FlagWrite, unownedProd, "only be changed by admins"},
		{"an admin edits an unowned production flag", root, FlagWrite, unownedProd, ""},
		{"owners may hand a flag to another of their groups", ana, FlagWrite, Resource{Owner: "group:default/payments-team", NewOwner: "group:default/billpay"}, ""},
		{"but not to a group they are not in", ana, FlagWrite, Resource{Owner: "group:default/payments-team", NewOwner: "group:default/admin-team"}, "cannot hand the flag"},
		{"read-only tokens cannot edit flags", readOnly, FlagWrite, payments, "flags:write scope"},
		{"templates are open by default", bob, TemplateRun, Resource{Owner: "group:default/payments-team"}, ""},
		{"owners-only templates refuse others", bob, TemplateRun, Resource{Owner: "group:default/payments-team", OwnersOnly: true}, "only be run by members"},
		{"owners-only templates admit owners", ana, TemplateRun, Resource{Owner: "group:default/payments-team", OwnersOnly: true}, ""},
		{"owners deploy their component", ana, DeployRun, Resource{Owner: "group:default/payments-team"}, ""},
		{"others cannot deploy it", bob, DeployRun, Resource{Owner: "group:default/payments-team"}, "not a member"},
		{"a second owner approves", ana, DeployApprove, Resource{Owner: "group:default/payments-team", RequestedBy: "user:default/carla"}, ""},
		{"the requester cannot approve their own deploy", ana, DeployApprove, Resource{Owner: "group:default/payments-team", RequestedBy: "user:default/ana"}, "second owner"},
		{"not even an admin approves their own", root, DeployApprove, Resource{Owner: "group:default/payments-team", RequestedBy: "user:default/root"}, "cannot be approved by the person"},
		{"people manage their tokens", ana, TokenManage, Resource{}, ""},
		{"automation does not", ci, TokenManage, Resource{}, "only signed-in people"},
		{"guests do not", guest, TokenManage, Resource{}, "only signed-in people"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Decide(c.p, c.perm, c.r)
			if c.deny == "" {
				require.NoError(t, err)
				return
			}
			require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
			require.Contains(t, err.Error(), string(c.perm), "a denial names the permission")
			require.Contains(t, err.Error(), c.deny)
		})
	}
}

func TestParseScopes(t *testing.T) {
	s, err := ParseScopes([]string{"catalog:read", "flags:write", "catalog:read"})
	require.NoError(t, err)
	require.Equal(t, []Scope{ScopeCatalogRead, ScopeFlagsWrite}, s)
	_, err = ParseScopes(nil)
	require.Error(t, err)
	_, err = ParseScopes([]string{"everything"})
	require.ErrorContains(t, err, "unknown scope")
}
