package eks_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/sivchari/kumo"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/aws/ecr"
	"github.com/billpay/portal/internal/aws/eks"
	"github.com/billpay/portal/internal/aws/eks/ekstest"
	"github.com/billpay/portal/internal/aws/iam"
	"github.com/billpay/portal/internal/aws/iam/iamtest"
	"github.com/billpay/portal/internal/aws/secrets"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/kube"
	"github.com/billpay/portal/internal/kube/kubetest"
	"github.com/billpay/portal/internal/store"
)

const (
	clusterName  = "billpay-dev-eks-cluster"
	deployerRole = "arn:aws:iam::111111111111:role/billpay-portal-deployer"
	deployerKey  = "AKIADEPLOYER00000001"
	deployerSec  = "deployer-secret-key"
)

var (
	fakeEKS *ekstest.EKS
	fakeSTS *ekstest.STS
	webhook *ekstest.Webhook
)

// TestMain starts the fakes and a control plane whose API server authenticates EKS tokens through the webhook.
func TestMain(m *testing.M) {
	fakeEKS = ekstest.NewEKS()
	fakeSTS = ekstest.NewSTS()
	fakeSTS.AddKey(deployerKey, ekstest.Identity{Secret: deployerSec, Account: "111111111111", UserID: "AROADEPLOYER:portal",
		ARN: "arn:aws:sts::111111111111:assumed-role/billpay-portal-deployer/portal"})
	restore := ekstest.RouteSTS(fakeSTS)
	webhook = ekstest.NewWebhook(clusterName, fakeEKS)
	dir, err := os.MkdirTemp("", "eks-webhook-")
	if err != nil {
		panic(err)
	}
	cfg, err := webhook.ConfigFile(dir)
	if err != nil {
		panic(err)
	}
	code := kubetest.Main(m, kubetest.Options{APIServerFlags: []string{
		"--authentication-token-webhook-config-file=" + cfg, "--authentication-token-webhook-version=v1",
		"--authentication-token-webhook-cache-ttl=1s",
	}})
	restore()
	webhook.Close()
	fakeSTS.Close()
	fakeEKS.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// awsConfig is the portal's AWS configuration: static deployer credentials, real regional endpoints for STS (the
// token must name a real STS host; the verifier's requests are routed to the fake), the rest on loopback.
func awsConfig(deploy.Environment) aws.Config {
	return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(deployerKey, deployerSec, "")}
}

func clusters() *eks.Clusters {
	return eks.New(awsConfig, func(o *awseks.Options) { o.BaseEndpoint = aws.String(fakeEKS.URL) })
}

var dev = deploy.Environment{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: clusterName, Namespace: "billpay-eks"}

func TestToken(t *testing.T) {
	ts := clusters().STS(dev)
	src := &eks.TokenSource{Cluster: clusterName, Presigner: ts}
	tok, expiry, err := src.Token(t.Context())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok, eks.TokenPrefix))
	require.WithinDuration(t, time.Now().Add(15*time.Minute), expiry, 5*time.Second)

	t.Run("OK", func(t *testing.T) {
		id, err := token.NewVerifier(clusterName, "aws", "us-east-1").Verify(tok)
		require.NoError(t, err)
		require.Equal(t, deployerRole, id.CanonicalARN)
		require.Equal(t, "111111111111", id.AccountID)
	})
	t.Run("CachedUntilAMinuteBeforeExpiry", func(t *testing.T) {
		again, _, err := src.Token(t.Context())
		require.NoError(t, err)
		require.Equal(t, tok, again)
		src.Now = func() time.Time { return time.Now().Add(14*time.Minute + time.Second) }
		_, freshExpiry, err := src.Token(t.Context())
		require.NoError(t, err)
		require.True(t, freshExpiry.After(expiry.Add(13*time.Minute)), "a new token, signed later")
	})
	t.Run("ErrOtherCluster", func(t *testing.T) {
		_, err := token.NewVerifier("some-other-cluster", "aws", "us-east-1").Verify(tok)
		require.Error(t, err)
	})
	t.Run("ErrTampered", func(t *testing.T) {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, eks.TokenPrefix))
		require.NoError(t, err)
		u, err := url.Parse(string(raw))
		require.NoError(t, err)
		q := u.Query()
		sig := []byte(q.Get("X-Amz-Signature"))
		sig[0] ^= 1
		q.Set("X-Amz-Signature", string(sig))
		u.RawQuery = q.Encode()
		_, err = token.NewVerifier(clusterName, "aws", "us-east-1").Verify(eks.TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(u.String())))
		require.ErrorContains(t, err, "SignatureDoesNotMatch")
	})
}

// adminCluster is the control plane as its admin sees it.
func adminCluster(t *testing.T, kenv *kubetest.Env) deploy.Cluster {
	cl, err := kube.Connector{}.Connect(kenv.Endpoint("admin"))
	require.NoError(t, err)
	return cl
}

func TestClusterAccessThroughEKS(t *testing.T) {
	kenv := kubetest.Shared(t)
	ctx := t.Context()
	fakeEKS.AddCluster(ekstest.Cluster{Name: clusterName, Endpoint: kenv.Server, CA: kenv.CA})
	admin := adminCluster(t, kenv)
	_, err := admin.Apply(ctx, []deploy.Object{
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "billpay-eks"}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": map[string]any{"name": "deployers-edit", "namespace": "billpay-eks"},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
			"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "billpay:deployers"}}},
	}, false)
	require.NoError(t, err)

	cs := clusters()
	ep, err := cs.Locate(ctx, dev)
	require.NoError(t, err)
	require.Equal(t, kenv.Server, ep.Server)
	require.Equal(t, kenv.CA, ep.CAData)
	cl, err := kube.Connector{}.Connect(ep)
	require.NoError(t, err)
	cm := deploy.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "probe", "namespace": "billpay-eks"},
		"data": map[string]any{"k": "v"}}

	t.Run("ErrTokenRefusedWithoutAccessEntry", func(t *testing.T) {
		_, err := cl.Apply(ctx, []deploy.Object{cm}, false)
		require.True(t, errs.Is(err, errs.Unauthenticated), "%v", err)
		require.Contains(t, errs.MessageOf(err), "refused the credentials (401 Unauthorized)")
	})

	created, err := cs.EnsureAccessEntry(ctx, dev, deploy.AccessEntrySpec{PrincipalARN: deployerRole, KubernetesGroups: []string{"billpay:deployers"},
		PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy", Namespaces: []string{"billpay-eks"}})
	require.NoError(t, err)
	require.True(t, created)
	entry, ok := fakeEKS.Entry(clusterName, deployerRole)
	require.True(t, ok)
	require.Equal(t, []string{"billpay-eks"}, entry.Policies["arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"])
	created, err = cs.EnsureAccessEntry(ctx, dev, deploy.AccessEntrySpec{PrincipalARN: deployerRole, KubernetesGroups: []string{"billpay:deployers"}})
	require.NoError(t, err)
	require.False(t, created, "a second call finds the entry")

	t.Run("OK", func(t *testing.T) {
		// The webhook's answers are cached for a second; a refusal from before the access entry may linger.
		require.Eventually(t, func() bool { _, err := cl.Apply(ctx, []deploy.Object{cm}, false); return err == nil }, 10*time.Second, 200*time.Millisecond)
	})
	t.Run("ErrForbiddenOutsideItsNamespace", func(t *testing.T) {
		other := cm.Clone()
		other.Metadata()["namespace"] = "default"
		_, err := cl.Apply(ctx, []deploy.Object{other}, false)
		require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
		require.Contains(t, errs.MessageOf(err), `User "`+deployerRole+`" cannot patch resource "configmaps"`)
	})

	t.Run("DeployWithECRImage", func(t *testing.T) {
		srv := kumo.NewServer()
		t.Cleanup(srv.Close)
		ecrOpts := func(o *awsecr.Options) { o.BaseEndpoint = aws.String(srv.URL) }
		reg := ecr.New(awsConfig, ecrOpts)
		_, _, err := reg.EnsureRepository(ctx, dev, "payment-service", nil)
		require.NoError(t, err)
		put, err := awsecr.NewFromConfig(awsConfig(dev), ecrOpts).PutImage(ctx, &awsecr.PutImageInput{
			RepositoryName: aws.String("payment-service"), ImageTag: aws.String("1.4.2"),
			ImageManifest: aws.String(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}`)})
		require.NoError(t, err)
		digest := aws.ToString(put.Image.ImageId.ImageDigest)

		st, err := store.Open(ctx, "", t.TempDir())
		require.NoError(t, err)
		require.NoError(t, st.Migrate(ctx))
		t.Cleanup(func() { _ = st.Close() })
		values, err := deploy.ParseValuesFile("dev.yaml", []byte("defaults: {replicas: 1, progressDeadlineSeconds: 30}\n"))
		require.NoError(t, err)
		env := dev
		env.Values = values
		cat := catalog{"component:default/payment-service": `{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
		  "metadata":{"name":"payment-service","annotations":{"backstage.io/kubernetes-id":"payment-service"}},
		  "spec":{"type":"service","owner":"group:payments-team","lifecycle":"production"}}`}
		svc, err := deploy.New(deploy.Deps{Store: st, Catalog: cat, Registry: reg, Locator: cs, Connector: kube.Connector{}},
			deploy.Config{Environments: []deploy.Environment{env}, Poll: 100 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = svc.Run(runCtx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })

		owner := auth.Principal{Subject: "user:default/alice", Kind: auth.KindUser, Ownership: []string{"group:default/payments-team"}}
		_, err = svc.Deploy(ctx, owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "9.9.9"})
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		require.Contains(t, errs.MessageOf(err), "image payment-service:9.9.9 not found in ECR repository payment-service")

		r, err := svc.Deploy(ctx, owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "1.4.2"})
		require.NoError(t, err)
		require.Equal(t, digest, r.Image.Digest)
		require.Eventually(t, func() bool {
			r, err = svc.Release(ctx, r.ID)
			return err == nil && r.Status.Done()
		}, 60*time.Second, 100*time.Millisecond)
		require.Equal(t, deploy.StatusSucceeded, r.Status, r.Message)
		d, ok, err := admin.Get(ctx, deploy.Object{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "payment-service", "namespace": "billpay-eks"}})
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "111111111111.dkr.ecr.us-east-1.amazonaws.com/payment-service@"+digest,
			d.Path("spec.template.spec.containers").([]any)[0].(map[string]any)["image"])
		require.Equal(t, deploy.ManagedBy, d.Path("metadata.managedFields").([]any)[0].(map[string]any)["manager"])
	})
}

type catalog map[string]string

func (c catalog) GetByRef(kind, namespace, name string) ([]byte, error) {
	raw, ok := c[kind+":"+namespace+"/"+name]
	if !ok {
		return nil, errs.E(errs.NotFound, "no entity %s:%s/%s", kind, namespace, name)
	}
	return []byte(raw), nil
}

func TestLocateFailures(t *testing.T) {
	cs := clusters()
	t.Run("ErrNoSuchCluster", func(t *testing.T) {
		env := dev
		env.Cluster = "nope"
		_, err := cs.Locate(t.Context(), env)
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		require.Contains(t, errs.MessageOf(err), "No cluster found for name: nope")
	})
	t.Run("ErrNotActive", func(t *testing.T) {
		fakeEKS.AddCluster(ekstest.Cluster{Name: "creating", Status: "CREATING"})
		env := dev
		env.Cluster = "creating"
		_, err := cs.Locate(t.Context(), env)
		require.True(t, errs.Is(err, errs.Unavailable), "%v", err)
		require.Contains(t, errs.MessageOf(err), "is CREATING, not ACTIVE")
	})
	t.Run("ErrEKSUnreachable", func(t *testing.T) {
		bad := eks.New(awsConfig, func(o *awseks.Options) {
			o.BaseEndpoint = aws.String("http://127.0.0.1:1")
			o.RetryMaxAttempts = 1
		})
		_, err := bad.Locate(t.Context(), dev)
		require.True(t, errs.Is(err, errs.Unavailable), "%v", err)
		require.Contains(t, errs.MessageOf(err), "EKS unreachable")
	})
}

// clustersWithIAM are clusters whose role checks go to the IAM fake.
func clustersWithIAM(fakeIAM *iamtest.IAM) *eks.Clusters {
	cs := clusters()
	cs.IAM = func(env deploy.Environment) eks.RoleReader {
		return awsiam.NewFromConfig(awsConfig(env), func(o *awsiam.Options) { o.BaseEndpoint = aws.String(fakeIAM.URL) })
	}
	return cs
}

// TestPodIdentityAssociation ensures associations through the real SDK clients: created, found again, pointed at the
// service's role when the one it names is Portal's too, refused when it is anyone else's.
func TestPodIdentityAssociation(t *testing.T) {
	fakeIAM := iamtest.New("111111111111")
	t.Cleanup(fakeIAM.Close)
	// The fake outlives the test; a cluster of its own keeps -count=N runs apart.
	cluster := fmt.Sprintf("pod-identity-cluster-%d", time.Now().UnixNano())
	fakeEKS.AddCluster(ekstest.Cluster{Name: cluster, Endpoint: "https://127.0.0.1:1", CA: []byte("-")})
	env := dev
	env.Cluster = cluster
	cs := clustersWithIAM(fakeIAM)
	boundary := "arn:aws:iam::111111111111:policy/billpay-service-boundary"
	spec := func(sa, role string) deploy.PodIdentitySpec {
		return deploy.PodIdentitySpec{Namespace: "billpay", ServiceAccount: sa, RoleARN: role,
			RolePath: "/billpay/services/", PermissionsBoundary: boundary}
	}
	role := "arn:aws:iam::111111111111:role/billpay/services/dev-refund-service"

	arn, created, err := cs.EnsurePodIdentityAssociation(t.Context(), env, spec("refund-service", role))
	require.NoError(t, err)
	require.True(t, created)
	require.Regexp(t, `^arn:aws:eks:us-east-1:111111111111:podidentityassociation/`+cluster+`/a-[0-9a-z]{17}$`, arn)
	a, ok := fakeEKS.PodIdentityAssociation(cluster, "billpay", "refund-service")
	require.True(t, ok)
	require.Equal(t, role, a.RoleARN)
	require.Equal(t, arn, a.ARN)
	q := fakeEKS.ListQueries[len(fakeEKS.ListQueries)-1]
	require.Equal(t, "billpay", q.Get("namespace"), "EKS filters the list")
	require.Equal(t, "refund-service", q.Get("serviceAccount"))

	t.Run("FoundAgain", func(t *testing.T) {
		creates := fakeEKS.Requests["CreatePodIdentityAssociation"]
		again, created, err := cs.EnsurePodIdentityAssociation(t.Context(), env, spec("refund-service", role))
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, arn, again)
		require.Equal(t, creates, fakeEKS.Requests["CreatePodIdentityAssociation"], "nothing created")
	})

	t.Run("Concurrent", func(t *testing.T) {
		// Runs that list before any of them creates: the losers of the create find the winner's association.
		const n = 8
		type result struct {
			arn     string
			created bool
			err     error
		}
		results := make(chan result, n)
		for range n {
			go func() {
				arn, created, err := cs.EnsurePodIdentityAssociation(t.Context(), env, spec("payout-service", role))
				results <- result{arn, created, err}
			}()
		}
		var arns []string
		created := 0
		for range n {
			r := <-results
			require.NoError(t, r.err)
			arns = append(arns, r.arn)
			if r.created {
				created++
			}
		}
		require.Equal(t, 1, created)
		for _, a := range arns {
			require.Equal(t, arns[0], a)
		}
	})

	t.Run("PortalsOtherRoleIsReplaced", func(t *testing.T) {
		// The service's role before its billpay.io/iam-role annotation renamed it: Portal's, so Portal may move on.
		fakeIAM.AddRole(iamtest.Role{Name: "billpay-ledger", Path: "/billpay/services/", PermissionsBoundary: boundary, AssumeRolePolicy: "{}"})
		old := fakeEKS.AddPodIdentityAssociation(cluster, ekstest.PodIdentityAssociation{Namespace: "billpay", ServiceAccount: "ledger-service",
			RoleARN: "arn:aws:iam::111111111111:role/billpay/services/billpay-ledger"})
		newRole := "arn:aws:iam::111111111111:role/billpay/services/dev-ledger-service"
		got, created, err := cs.EnsurePodIdentityAssociation(t.Context(), env, spec("ledger-service", newRole))
		require.NoError(t, err)
		require.True(t, created, "changed")
		require.Equal(t, old.ARN, got, "the same association")
		a, _ := fakeEKS.PodIdentityAssociation(cluster, "billpay", "ledger-service")
		require.Equal(t, newRole, a.RoleARN)
	})

	foreign := []struct {
		name  string
		role  iamtest.Role
		assoc ekstest.PodIdentityAssociation
		msg   string
	}{
		{"ErrRoleOutsideThePath", iamtest.Role{Name: "billpay-dev-audit-service", AssumeRolePolicy: "{}"},
			ekstest.PodIdentityAssociation{ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::111111111111:role/billpay-dev-audit-service"},
			"that role is not under /billpay/services/ in 111111111111"},
		{"ErrRoleInAnotherAccount", iamtest.Role{},
			ekstest.PodIdentityAssociation{ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::222222222222:role/billpay/services/x"},
			"that role is not under /billpay/services/ in 111111111111"},
		{"ErrRoleBelowThePath", iamtest.Role{Name: "deeper", Path: "/billpay/services/team/", PermissionsBoundary: boundary, AssumeRolePolicy: "{}"},
			ekstest.PodIdentityAssociation{ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::111111111111:role/billpay/services/team/deeper"},
			"that role is not under /billpay/services/"},
		{"ErrRoleWithoutTheBoundary", iamtest.Role{Name: "handmade", Path: "/billpay/services/", AssumeRolePolicy: "{}"},
			ekstest.PodIdentityAssociation{ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::111111111111:role/billpay/services/handmade"},
			"that role's permissions boundary is none, not " + boundary},
		{"ErrRoleGone", iamtest.Role{},
			ekstest.PodIdentityAssociation{ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::111111111111:role/billpay/services/deleted"},
			"that role does not exist"},
		{"ErrTargetRole", iamtest.Role{},
			ekstest.PodIdentityAssociation{ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::111111111111:role/billpay/services/dev-audit-service",
				TargetRoleARN: "arn:aws:iam::222222222222:role/audit"},
			"chains to the target role arn:aws:iam::222222222222:role/audit"},
		{"ErrOwnedByAnAddOn", iamtest.Role{},
			ekstest.PodIdentityAssociation{ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::111111111111:role/billpay/services/dev-audit-service",
				OwnerARN: "arn:aws:eks:us-east-1:111111111111:addon/" + cluster + "/aws-ebs-csi-driver/x"},
			"is owned by arn:aws:eks:us-east-1:111111111111:addon/"},
	}
	for i, tc := range foreign {
		t.Run(tc.name, func(t *testing.T) {
			if tc.role.Name != "" {
				fakeIAM.AddRole(tc.role)
			}
			tc.assoc.Namespace = fmt.Sprintf("team-%d", i)
			old := fakeEKS.AddPodIdentityAssociation(cluster, tc.assoc)
			s := spec("audit-service", "arn:aws:iam::111111111111:role/billpay/services/dev-audit-service")
			s.Namespace = tc.assoc.Namespace
			updates := fakeEKS.Requests["UpdatePodIdentityAssociation"]
			_, _, err := cs.EnsurePodIdentityAssociation(t.Context(), env, s)
			require.True(t, errs.Is(err, errs.Conflict), "%v", err)
			require.Contains(t, errs.MessageOf(err), old.ARN, "names the association")
			require.Contains(t, errs.MessageOf(err), "role "+tc.assoc.RoleARN)
			require.Contains(t, errs.MessageOf(err), tc.msg)
			require.Contains(t, errs.MessageOf(err), "Portal does not take over an association it did not make")
			require.Equal(t, updates, fakeEKS.Requests["UpdatePodIdentityAssociation"], "nothing changed")
			a, _ := fakeEKS.PodIdentityAssociation(cluster, tc.assoc.Namespace, "audit-service")
			require.Equal(t, tc.assoc.RoleARN, a.RoleARN)
		})
	}

	t.Run("ErrRoleUnreadable", func(t *testing.T) {
		fakeIAM.AddRole(iamtest.Role{Name: "hidden", Path: "/billpay/services/", PermissionsBoundary: boundary, AssumeRolePolicy: "{}"})
		fakeIAM.Deny("GetRole")
		t.Cleanup(func() { fakeIAM.Allow("GetRole") })
		fakeEKS.AddPodIdentityAssociation(cluster, ekstest.PodIdentityAssociation{Namespace: "hidden", ServiceAccount: "audit-service",
			RoleARN: "arn:aws:iam::111111111111:role/billpay/services/hidden"})
		s := spec("audit-service", "arn:aws:iam::111111111111:role/billpay/services/dev-audit-service")
		s.Namespace = "hidden"
		_, _, err := cs.EnsurePodIdentityAssociation(t.Context(), env, s)
		require.True(t, errs.Is(err, errs.Conflict), "%v", err)
		require.Contains(t, errs.MessageOf(err), "Portal may not read that role")
	})
	t.Run("ErrNoSuchCluster", func(t *testing.T) {
		other := env
		other.Cluster = "nope"
		_, _, err := cs.EnsurePodIdentityAssociation(t.Context(), other, spec("refund-service", role))
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		require.Contains(t, errs.MessageOf(err), "No cluster found for name: nope")
	})
	t.Run("ErrNotARole", func(t *testing.T) {
		_, _, err := cs.EnsurePodIdentityAssociation(t.Context(), env, spec("new-service", "arn:aws:iam::111111111111:user/alice"))
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		require.Contains(t, errs.MessageOf(err), "creating the Pod Identity association of billpay/new-service on "+cluster)
	})
}

// TestProvision creates a new service's ECR repository, secret, IAM role, Pod Identity association and access entry
// through the real SDK clients (kumo for ECR and Secrets Manager; iamtest for IAM, since kumo drops a role's
// permissions boundary; the EKS fake for associations and access entries), twice: the second run finds everything.
func TestProvision(t *testing.T) {
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	fakeIAM := iamtest.New("111111111111")
	t.Cleanup(fakeIAM.Close)
	fakeEKS.AddCluster(ekstest.Cluster{Name: "provision-cluster", Endpoint: "https://127.0.0.1:1", CA: []byte("-")})
	env := dev
	env.Cluster = "provision-cluster"
	cs := clustersWithIAM(fakeIAM)
	prov := deploy.Provisioning{
		Repositories:  ecr.New(awsConfig, func(o *awsecr.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		Secrets:       secrets.New(awsConfig, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		Roles:         iam.New(awsConfig, func(o *awsiam.Options) { o.BaseEndpoint = aws.String(fakeIAM.URL) }),
		PodIdentities: cs,
		AccessEntries: cs,
	}
	cat := catalog{"component:default/refund-service": `{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
	  "metadata":{"name":"refund-service"},"spec":{"type":"service","owner":"group:payments-team","lifecycle":"experimental"}}`}
	svc, err := deploy.New(deploy.Deps{Store: nopStore{}, Catalog: cat}, deploy.Config{Environments: []deploy.Environment{env}})
	require.NoError(t, err)
	owner := auth.Principal{Subject: "user:default/alice", Kind: auth.KindUser, Ownership: []string{"group:default/payments-team"}}
	in := deploy.ProvisionInput{Component: "refund-service", Environment: "dev"}

	res, err := svc.Provision(t.Context(), owner, prov, in)
	require.NoError(t, err)
	var resources []string
	for _, s := range res.Steps {
		require.True(t, s.Created, "%s created", s.Resource)
		resources = append(resources, s.Resource)
	}
	require.Equal(t, []string{"ecr-repository", "secret", "iam-role", "pod-identity-association", "eks-access-entry"}, resources)
	require.Contains(t, res.Steps[0].ID, "/refund-service")
	require.Contains(t, res.Steps[1].ID, ":secret:refund-service/app")
	require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/dev-refund-service", res.Steps[2].ID)
	role, ok := fakeIAM.Role("dev-refund-service")
	require.True(t, ok)
	require.Equal(t, "/billpay/services/", role.Path)
	require.Equal(t, "arn:aws:iam::111111111111:policy/billpay-service-boundary", role.PermissionsBoundary)
	require.Contains(t, role.Policies[iam.PolicyName], res.Steps[1].ID, "reads its own secret")
	assoc, ok := fakeEKS.PodIdentityAssociation("provision-cluster", "billpay-eks", "refund-service")
	require.True(t, ok, "the service account's pods get the role")
	require.Equal(t, res.Steps[2].ID, assoc.RoleARN)
	require.Equal(t, assoc.ARN, res.Steps[3].ID)
	entry, ok := fakeEKS.Entry("provision-cluster", res.Steps[2].ID)
	require.True(t, ok, "access entry for the role")
	require.Equal(t, []string{"billpay-eks"}, entry.Policies["arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"])

	again, err := svc.Provision(t.Context(), owner, prov, in)
	require.NoError(t, err)
	require.Len(t, again.Steps, len(res.Steps))
	for i, s := range again.Steps {
		require.False(t, s.Created, "%s found", s.Resource)
		require.Equal(t, res.Steps[i].ID, s.ID)
	}

	_, err = svc.Provision(t.Context(), auth.Principal{Subject: "user:default/mallory", Kind: auth.KindUser}, prov, in)
	require.True(t, errs.Is(err, errs.Forbidden), fmt.Sprint(err))

	t.Run("ErrRoleOutsideTheBoundary", func(t *testing.T) {
		// A role of the same name that someone else made: IAM names ignore paths, so CreateRole finds it.
		fakeIAM.AddRole(iamtest.Role{Name: "dev-ledger-service", AssumeRolePolicy: "{}"})
		cat["component:default/ledger-service"] = `{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
		  "metadata":{"name":"ledger-service"},"spec":{"type":"service","owner":"group:payments-team","lifecycle":"experimental"}}`
		res, err := svc.Provision(t.Context(), owner, prov, deploy.ProvisionInput{Component: "ledger-service", Environment: "dev"})
		require.True(t, errs.Is(err, errs.Conflict), fmt.Sprint(err))
		require.Contains(t, errs.MessageOf(err), "Portal does not take over a role outside its boundary")
		require.Len(t, res.Steps, 2, "stops at the IAM step")
		role, _ := fakeIAM.Role("dev-ledger-service")
		require.Empty(t, role.Policies)
		_, ok := fakeEKS.Entry("provision-cluster", role.ARN)
		require.False(t, ok, "no access entry for it")
		_, ok = fakeEKS.PodIdentityAssociation("provision-cluster", "billpay-eks", "ledger-service")
		require.False(t, ok, "no association for it")
	})

	t.Run("ErrForeignAssociation", func(t *testing.T) {
		// The service account has pods already, running as a role from the service-roles unit.
		cat["component:default/audit-service"] = `{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
		  "metadata":{"name":"audit-service"},"spec":{"type":"service","owner":"group:payments-team","lifecycle":"experimental"}}`
		theirs := fakeEKS.AddPodIdentityAssociation("provision-cluster", ekstest.PodIdentityAssociation{Namespace: "billpay-eks",
			ServiceAccount: "audit-service", RoleARN: "arn:aws:iam::111111111111:role/billpay-dev-audit-service"})
		res, err := svc.Provision(t.Context(), owner, prov, deploy.ProvisionInput{Component: "audit-service", Environment: "dev"})
		require.True(t, errs.Is(err, errs.Conflict), fmt.Sprint(err))
		require.Contains(t, errs.MessageOf(err), theirs.ARN)
		require.Len(t, res.Steps, 3, "stops at the association")
		a, _ := fakeEKS.PodIdentityAssociation("provision-cluster", "billpay-eks", "audit-service")
		require.Equal(t, theirs.RoleARN, a.RoleARN, "left as it was")
		_, ok := fakeEKS.Entry("provision-cluster", res.Steps[2].ID)
		require.False(t, ok, "no access entry either")
	})
}

// nopStore is a deploy.Store for services that only provision.
type nopStore struct{ deploy.Store }
