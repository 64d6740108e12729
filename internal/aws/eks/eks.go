// Package eks is the EKS adapter of deploys: it finds an environment's cluster (DescribeCluster for endpoint and
// CA) with a bearer token the cluster accepts (a presigned STS GetCallerIdentity, as `aws eks get-token` makes
// it, refreshed before it expires), and it grants IAM principals access through EKS access entries.
package eks

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// API is the part of the EKS client the adapter calls.
type API interface {
	DescribeCluster(ctx context.Context, in *eks.DescribeClusterInput, optFns ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
	CreateAccessEntry(ctx context.Context, in *eks.CreateAccessEntryInput, optFns ...func(*eks.Options)) (*eks.CreateAccessEntryOutput, error)
	AssociateAccessPolicy(ctx context.Context, in *eks.AssociateAccessPolicyInput, optFns ...func(*eks.Options)) (*eks.AssociateAccessPolicyOutput, error)
}

// Presigner presigns STS GetCallerIdentity; *sts.PresignClient implements it.
type Presigner interface {
	PresignGetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Clusters implements deploy.ClusterLocator and deploy.AccessEntries.
type Clusters struct {
	EKS func(env deploy.Environment) API
	STS func(env deploy.Environment) Presigner
	// Now is the clock tokens are dated by; default time.Now.
	Now func() time.Time

	mu     sync.Mutex
	tokens map[string]*TokenSource
}

var (
	_ deploy.ClusterLocator = (*Clusters)(nil)
	_ deploy.AccessEntries  = (*Clusters)(nil)
)

// New returns Clusters whose clients come from cfg (a per-environment AWS configuration).
func New(cfg func(env deploy.Environment) aws.Config, eksOpts ...func(*eks.Options)) *Clusters {
	return &Clusters{
		EKS: func(env deploy.Environment) API { return eks.NewFromConfig(cfg(env), eksOpts...) },
		STS: func(env deploy.Environment) Presigner { return sts.NewPresignClient(sts.NewFromConfig(cfg(env))) },
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
		}
		return errs.Wrap(errs.Unavailable, err, "%s: %s: %s", doing, api.ErrorCode(), api.ErrorMessage())
	}
	return errs.Wrap(errs.Unavailable, err, "%s: EKS unreachable: %v", doing, err)
}
