// Package iam is the IAM adapter of provisioning: a new service's role, assumable by its pods through EKS Pod
// Identity, allowed to read its own secrets and nothing else, created under an IAM path with a permissions boundary
// (Portal's own role may create roles only so). It implements deploy.Roles.
package iam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// API is the part of the IAM client the adapter calls.
type API interface {
	CreateRole(ctx context.Context, in *iam.CreateRoleInput, optFns ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	PutRolePolicy(ctx context.Context, in *iam.PutRolePolicyInput, optFns ...func(*iam.Options)) (*iam.PutRolePolicyOutput, error)
}

// Roles creates service roles.
type Roles struct {
	Client func(env deploy.Environment) API
}

var _ deploy.Roles = Roles{}

// New returns Roles whose clients come from cfg (a per-environment AWS configuration).
func New(cfg func(env deploy.Environment) aws.Config, optFns ...func(*iam.Options)) Roles {
	return Roles{Client: func(env deploy.Environment) API { return iam.NewFromConfig(cfg(env), optFns...) }}
}

// PolicyName is the inline policy that lets a service read its secrets.
const PolicyName = "read-own-secrets"

type statement struct {
	Effect    string         `json:"Effect"`
	Principal map[string]any `json:"Principal,omitempty"`
	Action    []string       `json:"Action"`
	Resource  []string       `json:"Resource,omitempty"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// TrustPolicy admits EKS Pod Identity (the agent assumes the role for the pods of the associated service account).
func TrustPolicy() string {
	doc, _ := json.Marshal(document{Version: "2012-10-17", Statement: []statement{{
		Effect: "Allow", Principal: map[string]any{"Service": "pods.eks.amazonaws.com"},
		Action: []string{"sts:AssumeRole", "sts:TagSession"},
	}}})
	return string(doc)
}

// SecretsPolicy allows reading exactly the given secrets.
func SecretsPolicy(arns []string) string {
	doc, _ := json.Marshal(document{Version: "2012-10-17", Statement: []statement{{
		Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, Resource: arns,
	}}})
	return string(doc)
}

// EnsureServiceRole creates the role under spec.Path with spec.PermissionsBoundary (or finds it) and sets its
// secrets policy. A role that exists already is taken over only when it carries that boundary and path: otherwise it
// was made by someone else, for something else, and a policy Portal attached to it would not be capped by the
// boundary.
func (r Roles) EnsureServiceRole(ctx context.Context, env deploy.Environment, spec deploy.RoleSpec) (string, bool, error) {
	if spec.PermissionsBoundary == "" {
		return "", false, errs.E(errs.Invalid, "IAM role %s: no permissions boundary given; Portal creates service roles only within one", spec.Name)
	}
	c := r.Client(env)
	var tags []types.Tag
	for k, v := range spec.Tags {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	in := &iam.CreateRoleInput{
		RoleName: aws.String(spec.Name), AssumeRolePolicyDocument: aws.String(TrustPolicy()), Tags: tags,
		PermissionsBoundary: aws.String(spec.PermissionsBoundary),
		Description:         aws.String(fmt.Sprintf("Pods of %s in namespace %s (%s)", spec.ServiceAccount, spec.Namespace, env.Name)),
	}
	if spec.Path != "" {
		in.Path = aws.String(spec.Path)
	}
	created := true
	var arn string
	out, err := c.CreateRole(ctx, in)
	var exists *types.EntityAlreadyExistsException
	switch {
	case err == nil:
		arn = aws.ToString(out.Role.Arn)
	case errors.As(err, &exists):
		created = false
		got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(spec.Name)})
		if err != nil {
			err = APIError(err, "reading IAM role "+spec.Name)
			// Portal's role may read roles under its path only, so a refusal here is most likely a role of the same
			// name elsewhere (IAM names ignore paths); either way it cannot be checked, so it is not taken over.
			if errs.Is(err, errs.Forbidden) {
				return "", false, errs.Wrap(errs.Conflict, err, "IAM role %s exists but Portal may not read it (it is "+
					"probably outside %s): Portal does not take over a role it cannot check; remove the role or name "+
					"another one with the %s annotation", spec.Name, spec.Path, deploy.AnnotationIAMRole)
			}
			return "", false, err
		}
		if err := adoptable(got.Role, spec); err != nil {
			return "", false, err
		}
		arn = aws.ToString(got.Role.Arn)
	default:
		return "", false, APIError(err, "creating IAM role "+spec.Name)
	}
	if len(spec.SecretARNs) > 0 {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(spec.Name), PolicyName: aws.String(PolicyName),
			PolicyDocument: aws.String(SecretsPolicy(spec.SecretARNs))}); err != nil {
			return arn, created, APIError(err, "setting the secrets policy of IAM role "+spec.Name)
		}
	}
	return arn, created, nil
}

// adoptable refuses an existing role that lacks the boundary or lives outside the path.
func adoptable(role *types.Role, spec deploy.RoleSpec) error {
	if role == nil {
		return errs.E(errs.Unavailable, "reading IAM role %s: IAM returned no role", spec.Name)
	}
	boundary := BoundaryOf(role)
	if boundary != spec.PermissionsBoundary {
		has := "no permissions boundary"
		if boundary != "" {
			has = "the permissions boundary " + boundary
		}
		return errs.E(errs.Conflict, "IAM role %s exists with %s, not %s: Portal does not take over a role outside "+
			"its boundary; remove the role or name another one with the %s annotation", spec.Name, has, spec.PermissionsBoundary,
			deploy.AnnotationIAMRole)
	}
	if path := aws.ToString(role.Path); spec.Path != "" && path != spec.Path {
		return errs.E(errs.Conflict, "IAM role %s exists under the path %s, not %s: Portal does not take over a role "+
			"outside its path; remove the role or name another one with the %s annotation", spec.Name, path, spec.Path,
			deploy.AnnotationIAMRole)
	}
	return nil
}

// BoundaryOf is the ARN of role's permissions boundary, "" when it has none.
func BoundaryOf(role *types.Role) string {
	if role == nil || role.PermissionsBoundary == nil {
		return ""
	}
	return aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn)
}

// APIError maps an IAM error to an errs code, with what was being done; other adapters that read IAM (the EKS one,
// checking the role an existing association names) report IAM's errors the same way.
func APIError(err error, doing string) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken":
			return errs.Wrap(errs.Forbidden, err, "%s: AWS refused the portal's credentials: %s", doing, api.ErrorMessage())
		case "NoSuchEntity":
			return errs.Wrap(errs.NotFound, err, "%s: %s", doing, api.ErrorMessage())
		case "MalformedPolicyDocument", "ValidationError", "InvalidInput":
			return errs.Wrap(errs.Invalid, err, "%s: %s", doing, api.ErrorMessage())
		}
		return errs.Wrap(errs.Unavailable, err, "%s: %s: %s", doing, api.ErrorCode(), api.ErrorMessage())
	}
	return errs.Wrap(errs.Unavailable, err, "%s: IAM unreachable: %v", doing, err)
}
