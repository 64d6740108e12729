package iam_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/aws/iam"
	"github.com/billpay/portal/internal/aws/iam/iamtest"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

const (
	account  = "111111111111"
	boundary = "arn:aws:iam::111111111111:policy/billpay-service-boundary"
	secret   = "arn:aws:secretsmanager:us-east-1:111111111111:secret:refund-service/app-AbCdEf"
)

var dev = deploy.Environment{Name: "dev", Region: "us-east-1", Account: account, Cluster: "billpay-dev-eks-cluster", Namespace: "billpay"}

// roles is the adapter with the real SDK client, its endpoint on the fake.
func roles(t *testing.T) (iam.Roles, *iamtest.IAM) {
	fake := iamtest.New(account)
	t.Cleanup(fake.Close)
	cfg := func(deploy.Environment) aws.Config {
		return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIAPORTAL0000000001", "secret", "")}
	}
	return iam.New(cfg, func(o *awsiam.Options) {
		o.BaseEndpoint = aws.String(fake.URL)
		o.RetryMaxAttempts = 1
	}), fake
}

func spec(name string) deploy.RoleSpec {
	return deploy.RoleSpec{Name: name, Path: "/billpay/services/", PermissionsBoundary: boundary, Namespace: "billpay",
		ServiceAccount: "refund-service", SecretARNs: []string{secret},
		Tags: map[string]string{"billpay.io/component": "refund-service", "billpay.io/managed-by": deploy.ManagedBy}}
}

func actions(calls []iamtest.Call) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Action)
	}
	return out
}

func TestEnsureServiceRole(t *testing.T) {
	r, fake := roles(t)
	ctx := t.Context()

	arn, created, err := r.EnsureServiceRole(ctx, dev, spec("dev-refund-service"))
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/dev-refund-service", arn)
	role, ok := fake.Role("dev-refund-service")
	require.True(t, ok)
	require.Equal(t, "/billpay/services/", role.Path, "CreateRole got the path")
	require.Equal(t, boundary, role.PermissionsBoundary, "CreateRole got the boundary")
	require.Equal(t, iam.TrustPolicy(), role.AssumeRolePolicy)
	require.Equal(t, deploy.ManagedBy, role.Tags["billpay.io/managed-by"])
	require.Equal(t, "Pods of refund-service in namespace billpay (dev)", role.Description)
	var policy struct {
		Statement []struct {
			Action   []string
			Resource []string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(role.Policies[iam.PolicyName]), &policy))
	require.Equal(t, []string{secret}, policy.Statement[0].Resource)

	t.Run("FoundWithItsBoundary", func(t *testing.T) {
		again, created, err := r.EnsureServiceRole(ctx, dev, spec("dev-refund-service"))
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, arn, again)
	})

	t.Run("ErrExistingRoleWithoutBoundary", func(t *testing.T) {
		fake.AddRole(iamtest.Role{Name: "dev-ledger", AssumeRolePolicy: "{}", Policies: map[string]string{"admin": `{"Statement":[]}`}})
		before := len(fake.Calls())
		_, _, err := r.EnsureServiceRole(ctx, dev, spec("dev-ledger"))
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Contains(t, errs.MessageOf(err), "IAM role dev-ledger exists with no permissions boundary, not "+boundary+
			": Portal does not take over a role outside its boundary")
		require.Equal(t, []string{"CreateRole", "GetRole"}, actions(fake.Calls()[before:]), "no policy is put on it")
		role, _ := fake.Role("dev-ledger")
		require.Equal(t, map[string]string{"admin": `{"Statement":[]}`}, role.Policies)
	})

	t.Run("ErrExistingRoleWithAnotherBoundary", func(t *testing.T) {
		other := "arn:aws:iam::111111111111:policy/anything-goes"
		fake.AddRole(iamtest.Role{Name: "dev-billing", Path: "/billpay/services/", PermissionsBoundary: other, AssumeRolePolicy: "{}"})
		_, _, err := r.EnsureServiceRole(ctx, dev, spec("dev-billing"))
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Contains(t, errs.MessageOf(err), "exists with the permissions boundary "+other+", not "+boundary)
		role, _ := fake.Role("dev-billing")
		require.Empty(t, role.Policies)
	})

	t.Run("ErrExistingRoleOutsideThePath", func(t *testing.T) {
		fake.AddRole(iamtest.Role{Name: "dev-payments", PermissionsBoundary: boundary, AssumeRolePolicy: "{}"})
		_, _, err := r.EnsureServiceRole(ctx, dev, spec("dev-payments"))
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Contains(t, errs.MessageOf(err), "IAM role dev-payments exists under the path /, not /billpay/services/")
		role, _ := fake.Role("dev-payments")
		require.Empty(t, role.Policies)
	})

	t.Run("ErrExistingRoleItMayNotRead", func(t *testing.T) {
		fake.AddRole(iamtest.Role{Name: "dev-elsewhere", AssumeRolePolicy: "{}"})
		fake.Deny("GetRole")
		defer fake.Allow("GetRole")
		_, _, err := r.EnsureServiceRole(ctx, dev, spec("dev-elsewhere"))
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Contains(t, errs.MessageOf(err), "IAM role dev-elsewhere exists but Portal may not read it (it is probably outside /billpay/services/)")
		role, _ := fake.Role("dev-elsewhere")
		require.Empty(t, role.Policies)
	})

	t.Run("ErrNoBoundaryGiven", func(t *testing.T) {
		s := spec("dev-unbounded")
		s.PermissionsBoundary = ""
		before := len(fake.Calls())
		_, _, err := r.EnsureServiceRole(ctx, dev, s)
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		require.Len(t, fake.Calls(), before, "IAM is not called")
	})
}

func TestEnsureServiceRoleAccessDenied(t *testing.T) {
	r, fake := roles(t)
	fake.Deny("CreateRole")
	_, _, err := r.EnsureServiceRole(t.Context(), dev, spec("dev-refund-service"))
	require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
	require.Contains(t, errs.MessageOf(err), "creating IAM role dev-refund-service: AWS refused the portal's credentials")
}
