package deploy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// recordingPorts provision nothing and record the role and association asked for.
type recordingPorts struct {
	role  deploy.RoleSpec
	assoc deploy.PodIdentitySpec
}

func (*recordingPorts) EnsureRepository(_ context.Context, env deploy.Environment, name string, _ map[string]string) (string, bool, error) {
	return env.Registry + "/" + name, true, nil
}

func (*recordingPorts) EnsureSecret(_ context.Context, env deploy.Environment, name, _ string, _ map[string]string) (string, bool, error) {
	return "arn:aws:secretsmanager:" + env.Region + ":" + env.Account + ":secret:" + name + "-AbCdEf", true, nil
}

func (r *recordingPorts) EnsureServiceRole(_ context.Context, env deploy.Environment, spec deploy.RoleSpec) (string, bool, error) {
	r.role = spec
	return "arn:aws:iam::" + env.Account + ":role" + spec.Path + spec.Name, true, nil
}

func (r *recordingPorts) EnsurePodIdentityAssociation(_ context.Context, env deploy.Environment, spec deploy.PodIdentitySpec) (string, bool, error) {
	r.assoc = spec
	return "arn:aws:eks:" + env.Region + ":" + env.Account + ":podidentityassociation/" + env.Cluster + "/a-00000000000000001", true, nil
}

func (*recordingPorts) EnsureAccessEntry(context.Context, deploy.Environment, deploy.AccessEntrySpec) (bool, error) {
	return true, nil
}

// nopStore is a deploy.Store for services that only provision.
type nopStore struct{ deploy.Store }

func TestProvisionRoleSpec(t *testing.T) {
	dev := deploy.Environment{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: "c", Namespace: "billpay", Registry: "r"}
	china := deploy.Environment{Name: "cn", Region: "cn-north-1", Account: "444444444444", Cluster: "c", Namespace: "billpay", Registry: "r"}
	svc, err := deploy.New(deploy.Deps{Store: nopStore{}, Catalog: catalogStub{"component:default/payment-service": paymentService}},
		deploy.Config{Environments: []deploy.Environment{dev, china}})
	require.NoError(t, err)
	owner := auth.Principal{Subject: "user:default/alice", Kind: auth.KindUser, Ownership: []string{"group:default/payments-team"}}
	var last *recordingPorts
	provision := func(t *testing.T, env string, prov deploy.Provisioning) (deploy.RoleSpec, deploy.ProvisionResult) {
		last = &recordingPorts{}
		prov.Repositories, prov.Secrets, prov.Roles, prov.PodIdentities, prov.AccessEntries = last, last, last, last, last
		res, err := svc.Provision(t.Context(), owner, prov, deploy.ProvisionInput{Component: "payment-service", Environment: env})
		require.NoError(t, err)
		return last.role, res
	}

	t.Run("Defaults", func(t *testing.T) {
		role, res := provision(t, "dev", deploy.Provisioning{})
		require.Equal(t, "billpay-payment-service", role.Name, "the annotation names it")
		require.Equal(t, deploy.DefaultRolePath, role.Path)
		require.Equal(t, "arn:aws:iam::111111111111:policy/billpay-service-boundary", role.PermissionsBoundary)
		require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/billpay-payment-service", res.Steps[2].ID)
		var resources []string
		for _, s := range res.Steps {
			resources = append(resources, s.Resource)
		}
		require.Equal(t, []string{"ecr-repository", "secret", "iam-role", "pod-identity-association", "eks-access-entry"}, resources)
	})
	t.Run("PodIdentityAssociation", func(t *testing.T) {
		role, res := provision(t, "dev", deploy.Provisioning{})
		require.Equal(t, deploy.PodIdentitySpec{Namespace: "billpay", ServiceAccount: "payment-service", RoleARN: res.Steps[2].ID,
			RolePath: role.Path, PermissionsBoundary: role.PermissionsBoundary}, last.assoc,
			"the role's namespace and service account, the role, and what tells Portal's roles from others")
		require.Equal(t, role.Namespace, last.assoc.Namespace)
		require.Equal(t, role.ServiceAccount, last.assoc.ServiceAccount)
		require.Equal(t, "arn:aws:eks:us-east-1:111111111111:podidentityassociation/c/a-00000000000000001", res.Steps[3].ID)
		require.True(t, res.Steps[3].Created)
	})
	t.Run("RolePathOfTheEnvironment", func(t *testing.T) {
		withPath := dev
		withPath.Name, withPath.RolePath = "dev-path", "/env/"
		svc, err := deploy.New(deploy.Deps{Store: nopStore{}, Catalog: catalogStub{"component:default/payment-service": paymentService}},
			deploy.Config{Environments: []deploy.Environment{withPath}})
		require.NoError(t, err)
		ports := &recordingPorts{}
		prov := deploy.Provisioning{Repositories: ports, Secrets: ports, Roles: ports, PodIdentities: ports, AccessEntries: ports}
		_, err = svc.Provision(t.Context(), owner, prov, deploy.ProvisionInput{Component: "payment-service", Environment: "dev-path"})
		require.NoError(t, err)
		require.Equal(t, "/env/", ports.role.Path, "what the rendered ServiceAccount names")
		prov.RolePath = "/svc/"
		_, err = svc.Provision(t.Context(), owner, prov, deploy.ProvisionInput{Component: "payment-service", Environment: "dev-path"})
		require.NoError(t, err)
		require.Equal(t, "/svc/", ports.role.Path, "Provisioning's own first")
	})
	t.Run("ErrNoPodIdentityAdapter", func(t *testing.T) {
		ports := &recordingPorts{}
		res, err := svc.Provision(t.Context(), owner, deploy.Provisioning{Repositories: ports, Secrets: ports, Roles: ports, AccessEntries: ports},
			deploy.ProvisionInput{Component: "payment-service", Environment: "dev"})
		require.True(t, errs.Is(err, errs.Unavailable), "%v", err)
		require.Contains(t, errs.MessageOf(err), "no EKS Pod Identity adapter is configured")
		require.Len(t, res.Steps, 3)
	})
	t.Run("Configured", func(t *testing.T) {
		role, _ := provision(t, "dev", deploy.Provisioning{RolePath: "/svc/", BoundaryPolicyName: "svc-boundary"})
		require.Equal(t, "/svc/", role.Path)
		require.Equal(t, "arn:aws:iam::111111111111:policy/svc-boundary", role.PermissionsBoundary)
	})
	t.Run("PartitionOfTheRegion", func(t *testing.T) {
		role, _ := provision(t, "cn", deploy.Provisioning{})
		require.Equal(t, "arn:aws-cn:iam::444444444444:policy/billpay-service-boundary", role.PermissionsBoundary)
	})
}

// TestProvisionRoleByARN: a billpay.io/iam-role annotation may name the role by its full ARN; provisioning goes on
// when that is the ARN it would give the role, and refuses, before creating anything, a role elsewhere.
func TestProvisionRoleByARN(t *testing.T) {
	dev := deploy.Environment{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: "c", Namespace: "billpay", Registry: "r"}
	entity := func(role string) string {
		return `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"ledger","annotations":{
		  "billpay.io/iam-role":"` + role + `"}},"spec":{"type":"service","owner":"group:payments-team"}}`
	}
	owner := auth.Principal{Subject: "user:default/alice", Kind: auth.KindUser, Ownership: []string{"group:default/payments-team"}}
	provision := func(role string) (*recordingPorts, deploy.ProvisionResult, error) {
		svc, err := deploy.New(deploy.Deps{Store: nopStore{}, Catalog: catalogStub{"component:default/ledger": entity(role)}},
			deploy.Config{Environments: []deploy.Environment{dev}})
		require.NoError(t, err)
		ports := &recordingPorts{}
		res, err := svc.Provision(t.Context(), owner, deploy.Provisioning{Repositories: ports, Secrets: ports, Roles: ports,
			PodIdentities: ports, AccessEntries: ports}, deploy.ProvisionInput{Component: "ledger", Environment: "dev"})
		return ports, res, err
	}

	ports, res, err := provision("arn:aws:iam::111111111111:role/billpay/services/billpay-ledger")
	require.NoError(t, err)
	require.Equal(t, "billpay-ledger", ports.role.Name)
	require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/billpay-ledger", res.Steps[2].ID)

	for _, other := range []string{"arn:aws:iam::111111111111:role/billpay-ledger", "arn:aws:iam::222222222222:role/billpay/services/billpay-ledger"} {
		_, res, err = provision(other)
		require.True(t, errs.Is(err, errs.Conflict), "%s: %v", other, err)
		require.Contains(t, errs.MessageOf(err), other)
		require.Contains(t, errs.MessageOf(err), "Portal provisions only arn:aws:iam::111111111111:role/billpay/services/*")
		require.Empty(t, res.Steps, "nothing created")
	}
}

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-1": "aws", "cn-northwest-1": "aws-cn", "us-gov-west-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f",
	} {
		require.Equal(t, want, deploy.Partition(region), region)
	}
}
