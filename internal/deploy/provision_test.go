package deploy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
)

// recordingPorts provision nothing and record the role asked for.
type recordingPorts struct{ role deploy.RoleSpec }

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
	provision := func(t *testing.T, env string, prov deploy.Provisioning) (deploy.RoleSpec, deploy.ProvisionResult) {
		ports := &recordingPorts{}
		prov.Repositories, prov.Secrets, prov.Roles, prov.AccessEntries = ports, ports, ports, ports
		res, err := svc.Provision(t.Context(), owner, prov, deploy.ProvisionInput{Component: "payment-service", Environment: env})
		require.NoError(t, err)
		return ports.role, res
	}

	t.Run("Defaults", func(t *testing.T) {
		role, res := provision(t, "dev", deploy.Provisioning{})
		require.Equal(t, "billpay-payment-service", role.Name, "the annotation names it")
		require.Equal(t, deploy.DefaultRolePath, role.Path)
		require.Equal(t, "arn:aws:iam::111111111111:policy/billpay-service-boundary", role.PermissionsBoundary)
		require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/billpay-payment-service", res.Steps[2].ID)
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

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-1": "aws", "cn-northwest-1": "aws-cn", "us-gov-west-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f",
	} {
		require.Equal(t, want, deploy.Partition(region), region)
	}
}
