// Package eks is the EKS adapter of deploys: it finds an environment's cluster (DescribeCluster for endpoint and
// CA) with a bearer token the cluster accepts (a presigned STS GetCallerIdentity, as `aws eks get-token` makes
// it, refreshed before it expires), it grants IAM principals access through EKS access entries, and it gives a
// service account's pods their role through an EKS Pod Identity association.
package eks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	iamadapter "github.com/billpay/portal/internal/aws/iam"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// API is the part of the EKS client the adapter calls.
type API interface {
	DescribeCluster(ctx context.Context, in *eks.DescribeClusterInput, optFns ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
	CreateAccessEntry(ctx context.Context, in *eks.CreateAccessEntryInput, optFns ...func(*eks.Options)) (*eks.CreateAccessEntryOutput, error)
	AssociateAccessPolicy(ctx context.Context, in *eks.AssociateAccessPolicyInput, optFns ...func(*eks.Options)) (*eks.AssociateAccessPolicyOutput, error)
	ListPodIdentityAssociations(ctx context.Context, in *eks.ListPodIdentityAssociationsInput, optFns ...func(*eks.Options)) (*eks.ListPodIdentityAssociationsOutput, error)
	DescribePodIdentityAssociation(ctx context.Context, in *eks.DescribePodIdentityAssociationInput, optFns ...func(*eks.Options)) (*eks.DescribePodIdentityAssociationOutput, error)
	CreatePodIdentityAssociation(ctx context.Context, in *eks.CreatePodIdentityAssociationInput, optFns ...func(*eks.Options)) (*eks.CreatePodIdentityAssociationOutput, error)
	UpdatePodIdentityAssociation(ctx context.Context, in *eks.UpdatePodIdentityAssociationInput, optFns ...func(*eks.Options)) (*eks.UpdatePodIdentityAssociationOutput, error)
}

// RoleReader is the part of the IAM client the adapter calls: the boundary of the role an existing Pod Identity
// association names decides whether Portal may point the association at another role, and EKS does not report it.
type RoleReader interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
}

// Presigner presigns STS GetCallerIdentity; *sts.PresignClient implements it.
type Presigner interface {
	PresignGetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Clusters implements deploy.ClusterLocator, deploy.AccessEntries and deploy.PodIdentities.
type Clusters struct {
	EKS func(env deploy.Environment) API
	STS func(env deploy.Environment) Presigner
	// IAM reads roles; without it no existing association is ever repointed.
	IAM func(env deploy.Environment) RoleReader
	// Now is the clock tokens are dated by; default time.Now.
	Now func() time.Time

	mu     sync.Mutex
	tokens map[string]*TokenSource
}

var (
	_ deploy.ClusterLocator = (*Clusters)(nil)
	_ deploy.AccessEntries  = (*Clusters)(nil)
	_ deploy.PodIdentities  = (*Clusters)(nil)
)

// New returns Clusters whose clients come from cfg (a per-environment AWS configuration).
func New(cfg func(env deploy.Environment) aws.Config, eksOpts ...func(*eks.Options)) *Clusters {
	return &Clusters{
		EKS: func(env deploy.Environment) API { return eks.NewFromConfig(cfg(env), eksOpts...) },
		STS: func(env deploy.Environment) Presigner { return sts.NewPresignClient(sts.NewFromConfig(cfg(env))) },
		IAM: func(env deploy.Environment) RoleReader { return iam.NewFromConfig(cfg(env)) },
	}
}

// Locate describes the environment's cluster. errs.NotFound when it does not exist, errs.Unavailable when it is not
// ACTIVE or EKS cannot be reached, errs.Forbidden when AWS refuses the portal's credentials.
func (c *Clusters) Locate(ctx context.Context, env deploy.Environment) (deploy.Endpoint, error) {
	out, err := c.EKS(env).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(env.Cluster)})
	if err != nil {
		return deploy.Endpoint{}, apiErr(err, fmt.Sprintf("describing EKS cluster %s (%s)", env.Cluster, env.Name))
	}
	cl := out.Cluster
	if cl == nil {
		return deploy.Endpoint{}, errs.E(errs.Unavailable, "EKS cluster %s: empty DescribeCluster answer", env.Cluster)
	}
	if cl.Status != types.ClusterStatusActive {
		return deploy.Endpoint{}, errs.E(errs.Unavailable, "EKS cluster %s is %s, not ACTIVE", env.Cluster, cl.Status)
	}
	if cl.Endpoint == nil || cl.CertificateAuthority == nil || cl.CertificateAuthority.Data == nil {
		return deploy.Endpoint{}, errs.E(errs.Unavailable, "EKS cluster %s has no endpoint or certificate authority yet", env.Cluster)
	}
	ca, err := base64.StdEncoding.DecodeString(*cl.CertificateAuthority.Data)
	if err != nil {
		return deploy.Endpoint{}, errs.Wrap(errs.Unavailable, err, "EKS cluster %s: certificate authority is not base64: %v", env.Cluster, err)
	}
	return deploy.Endpoint{Name: env.Cluster, Server: *cl.Endpoint, CAData: ca, Token: c.tokenSource(env)}, nil
}

func (c *Clusters) tokenSource(env deploy.Environment) *TokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens == nil {
		c.tokens = map[string]*TokenSource{}
	}
	key := env.Name + "/" + env.Cluster
	if ts, ok := c.tokens[key]; ok {
		return ts
	}
	ts := &TokenSource{Cluster: env.Cluster, Presigner: c.STS(env), Now: c.Now}
	c.tokens[key] = ts
	return ts
}

// TokenPrefix starts every EKS bearer token.
const TokenPrefix = "k8s-aws-v1."

// TokenLifetime is how long EKS accepts a token after it was signed; Refresh is how long before that the source
// makes a new one.
const (
	TokenLifetime = 15 * time.Minute
	Refresh       = time.Minute
)

// TokenSource makes EKS bearer tokens for one cluster and caches each until a minute before it expires. It
// implements deploy.TokenSource.
type TokenSource struct {
	Cluster   string
	Presigner Presigner
	Now       func() time.Time

	mu     sync.Mutex
	token  string
	expiry time.Time
}

// Token returns a cached token, or signs a new one.
func (t *TokenSource) Token(ctx context.Context) (string, time.Time, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && now().Before(t.expiry.Add(-Refresh)) {
		return t.token, t.expiry, nil
	}
	signed := now()
	tok, err := NewToken(ctx, t.Presigner, t.Cluster)
	if err != nil {
		return "", time.Time{}, err
	}
	t.token, t.expiry = tok, signed.Add(TokenLifetime)
	return t.token, t.expiry, nil
}

// NewToken presigns sts:GetCallerIdentity with the signed header x-k8s-aws-id naming the cluster, as
// aws-iam-authenticator and `aws eks get-token` do: the token is "k8s-aws-v1." and the URL, base64url-encoded.
func NewToken(ctx context.Context, p Presigner, cluster string) (string, error) {
	req, err := p.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(po *sts.PresignOptions) {
		po.ClientOptions = append(po.ClientOptions, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions,
				smithyhttp.AddHeaderValue("x-k8s-aws-id", cluster),
				smithyhttp.SetHeaderValue("X-Amz-Expires", "60"))
		})
	})
	if err != nil {
		return "", errs.Wrap(errs.Unauthenticated, err, "cannot sign an EKS token for %s: %v", cluster, err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)), nil
}

// EnsureAccessEntry creates a STANDARD access entry for the principal (or finds it) and associates the access
// policy with it, scoped to the namespaces when any are given.
func (c *Clusters) EnsureAccessEntry(ctx context.Context, env deploy.Environment, spec deploy.AccessEntrySpec) (bool, error) {
	api := c.EKS(env)
	created := true
	_, err := api.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{
		ClusterName: aws.String(env.Cluster), PrincipalArn: aws.String(spec.PrincipalARN), Type: aws.String("STANDARD"),
		KubernetesGroups: spec.KubernetesGroups, Tags: map[string]string{"billpay.io/managed-by": deploy.ManagedBy},
	})
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		created = false
	case err != nil:
		return false, apiErr(err, fmt.Sprintf("creating an access entry for %s on %s", spec.PrincipalARN, env.Cluster))
	}
	if spec.PolicyARN == "" {
		return created, nil
	}
	scope := &types.AccessScope{Type: types.AccessScopeTypeCluster}
	if len(spec.Namespaces) > 0 {
		scope = &types.AccessScope{Type: types.AccessScopeTypeNamespace, Namespaces: spec.Namespaces}
	}
	_, err = api.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{
		ClusterName: aws.String(env.Cluster), PrincipalArn: aws.String(spec.PrincipalARN), PolicyArn: aws.String(spec.PolicyARN), AccessScope: scope,
	})
	if err != nil {
		return created, apiErr(err, fmt.Sprintf("associating %s with %s on %s", spec.PolicyARN, spec.PrincipalARN, env.Cluster))
	}
	return created, nil
}

// EnsurePodIdentityAssociation finds the association of spec's service account (a cluster has at most one for each)
// or creates it. One that names another role is pointed at spec.RoleARN only when that role is one of Portal's (under
// spec.RolePath, with spec.PermissionsBoundary, as IAM reports it); otherwise errs.Conflict names the association and
// its role, and nothing changes. The association is created without tags, so Portal's role needs no eks:TagResource
// on associations.
func (c *Clusters) EnsurePodIdentityAssociation(ctx context.Context, env deploy.Environment, spec deploy.PodIdentitySpec) (string, bool, error) {
	api := c.EKS(env)
	what := fmt.Sprintf("the Pod Identity association of %s/%s on %s", spec.Namespace, spec.ServiceAccount, env.Cluster)
	// Twice at most: a create that loses the race with another provisioning run of the same service finds that run's
	// association the second time round.
	for attempt := 0; ; attempt++ {
		found, err := c.podIdentityAssociation(ctx, api, env, spec)
		if err != nil {
			return "", false, err
		}
		if found == nil {
			out, err := api.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
				ClusterName: aws.String(env.Cluster), Namespace: aws.String(spec.Namespace),
				ServiceAccount: aws.String(spec.ServiceAccount), RoleArn: aws.String(spec.RoleARN),
			})
			var inUse *types.ResourceInUseException
			if errors.As(err, &inUse) && attempt == 0 {
				continue
			}
			if err != nil {
				return "", false, apiErr(err, "creating "+what)
			}
			if out.Association == nil {
				return "", false, errs.E(errs.Unavailable, "creating %s: EKS returned no association", what)
			}
			return aws.ToString(out.Association.AssociationArn), true, nil
		}
		arn := aws.ToString(found.AssociationArn)
		if err := c.portalsAssociation(ctx, env, spec, found, what); err != nil {
			return "", false, err
		}
		if aws.ToString(found.RoleArn) == spec.RoleARN {
			return arn, false, nil
		}
		if _, err := api.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{
			ClusterName: aws.String(env.Cluster), AssociationId: found.AssociationId, RoleArn: aws.String(spec.RoleARN),
		}); err != nil {
			return "", false, apiErr(err, fmt.Sprintf("pointing %s (%s) at %s", what, arn, spec.RoleARN))
		}
		return arn, true, nil
	}
}

// podIdentityAssociation describes the association of spec's service account, or returns nil when there is none.
// The list gives no role, hence the describe.
func (c *Clusters) podIdentityAssociation(ctx context.Context, api API, env deploy.Environment, spec deploy.PodIdentitySpec) (*types.PodIdentityAssociation, error) {
	what := fmt.Sprintf("the Pod Identity associations of %s/%s on %s", spec.Namespace, spec.ServiceAccount, env.Cluster)
	pages := eks.NewListPodIdentityAssociationsPaginator(api, &eks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String(env.Cluster), Namespace: aws.String(spec.Namespace), ServiceAccount: aws.String(spec.ServiceAccount),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, apiErr(err, "listing "+what)
		}
		for _, a := range page.Associations {
			// The filters are EKS's; checked again so that a looser filter never hands over another service
			// account's association.
			if aws.ToString(a.Namespace) != spec.Namespace || aws.ToString(a.ServiceAccount) != spec.ServiceAccount {
				continue
			}
			out, err := api.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{
				ClusterName: aws.String(env.Cluster), AssociationId: a.AssociationId,
			})
			if err != nil {
				return nil, apiErr(err, "describing "+what)
			}
			if out.Association == nil {
				return nil, errs.E(errs.Unavailable, "describing %s: EKS returned no association", what)
			}
			return out.Association, nil
		}
	}
	return nil, nil
}

// portalsAssociation refuses an association Portal may not change or rely on: one an add-on owns, one that chains
// to a target role (whose rights, not the role's, the pods get), and one whose role is someone else's.
func (c *Clusters) portalsAssociation(ctx context.Context, env deploy.Environment, spec deploy.PodIdentitySpec, a *types.PodIdentityAssociation, what string) error {
	arn, role := aws.ToString(a.AssociationArn), aws.ToString(a.RoleArn)
	refuse := func(why string, args ...any) error {
		return errs.E(errs.Conflict, "%s exists (%s, role %s) and %s: Portal does not take over an association it did not "+
			"make; keep it, or delete it and provision again", what, arn, role, fmt.Sprintf(why, args...))
	}
	switch {
	case aws.ToString(a.OwnerArn) != "":
		return refuse("is owned by %s", aws.ToString(a.OwnerArn))
	case aws.ToString(a.TargetRoleArn) != "":
		return refuse("chains to the target role %s", aws.ToString(a.TargetRoleArn))
	case role == spec.RoleARN:
		return nil
	}
	name, ok := strings.CutPrefix(role, deploy.RoleARN(env, spec.RolePath, ""))
	if !ok || name == "" || strings.Contains(name, "/") {
		return refuse("that role is not under %s in %s", spec.RolePath, env.Account)
	}
	if c.IAM == nil || spec.PermissionsBoundary == "" {
		return refuse("there is no IAM client or no permissions boundary to check that role against")
	}
	out, err := c.IAM(env).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "NoSuchEntity" {
			return refuse("that role does not exist, so its permissions boundary cannot be checked")
		}
		if errors.As(err, &api) && (api.ErrorCode() == "AccessDenied" || api.ErrorCode() == "AccessDeniedException") {
			return refuse("Portal may not read that role to check its permissions boundary (%s)", api.ErrorMessage())
		}
		return iamadapter.APIError(err, "reading IAM role "+name+" of "+what)
	}
	if boundary := iamadapter.BoundaryOf(out.Role); boundary != spec.PermissionsBoundary {
		if boundary == "" {
			boundary = "none"
		}
		return refuse("that role's permissions boundary is %s, not %s", boundary, spec.PermissionsBoundary)
	}
	return nil
}

func apiErr(err error, doing string) error {
	var notFound *types.ResourceNotFoundException
	var api smithy.APIError
	switch {
	case errors.As(err, &notFound):
		return errs.Wrap(errs.NotFound, err, "%s: %s", doing, aws.ToString(notFound.Message))
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
			return errs.Wrap(errs.Forbidden, err, "%s: AWS refused the portal's credentials: %s", doing, api.ErrorMessage())
		case "InvalidParameterException", "InvalidRequestException":
			return errs.Wrap(errs.Invalid, err, "%s: %s", doing, api.ErrorMessage())
		case "ResourceInUseException":
			return errs.Wrap(errs.Conflict, err, "%s: %s", doing, api.ErrorMessage())
		}
		return errs.Wrap(errs.Unavailable, err, "%s: %s: %s", doing, api.ErrorCode(), api.ErrorMessage())
	}
	return errs.Wrap(errs.Unavailable, err, "%s: EKS unreachable: %v", doing, err)
}
