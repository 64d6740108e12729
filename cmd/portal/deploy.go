package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/billpay/portal/internal/aws/ecr"
	"github.com/billpay/portal/internal/aws/eks"
	"github.com/billpay/portal/internal/aws/iam"
	"github.com/billpay/portal/internal/aws/secrets"
	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/deploy/tofu"
	"github.com/billpay/portal/internal/httpapi"
	"github.com/billpay/portal/internal/kube"
)

// resolveDeployPaths makes the deploy section's file locations relative to the config file's directory.
func resolveDeployPaths(cfg *config.Config, base string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	cfg.Deploy.ValuesDir = abs(cfg.Deploy.ValuesDir)
	cfg.Deploy.Tofu.Root = abs(cfg.Deploy.Tofu.Root)
	for i := range cfg.Deploy.Environments {
		cfg.Deploy.Environments[i].Kubeconfig = abs(cfg.Deploy.Environments[i].Kubeconfig)
	}
}

// deployEnvironments reads each environment's values file (<valuesDir>/<name>.yaml; none is an empty one).
func deployEnvironments(cfg config.Deploy) ([]deploy.Environment, error) {
	out := make([]deploy.Environment, 0, len(cfg.Environments))
	for _, e := range cfg.Environments {
		env := deploy.Environment{Name: e.Name, Region: e.Region, Account: e.Account, Cluster: e.Cluster, Namespace: e.Namespace,
			Registry: e.Registry, Protected: e.Protected, RequireApproval: e.RequireApproval, RolePath: cfg.RolePath}
		if env.Registry == "" {
			env.Registry = fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", e.Account, e.Region)
		}
		path := filepath.Join(cfg.ValuesDir, e.Name+".yaml")
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("deploy.valuesDir: %v", err)
		default:
			if env.Values, err = deploy.ParseValuesFile(path, data); err != nil {
				return nil, fmt.Errorf("deploy.valuesDir: %v", err)
			}
		}
		out = append(out, env)
	}
	return out, nil
}

// awsConfigs gives each environment its AWS configuration: the default chain (environment, shared files, instance
// role), the environment's region, and its role when one is configured. Endpoints follow AWS_ENDPOINT_URL_<SERVICE>.
type awsConfigs struct {
	base  aws.Config
	roles map[string]string
	mu    sync.Mutex
	cache map[string]aws.Config
}

func (a *awsConfigs) For(env deploy.Environment) aws.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.cache[env.Name]; ok {
		return c
	}
	c := a.base.Copy()
	c.Region = env.Region
	if role := a.roles[env.Name]; role != "" {
		c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(c), role,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "billpay-portal" }))
	}
	a.cache[env.Name] = c
	return c
}

// envLocator reaches most environments through EKS and those with a kubeconfig through it.
type envLocator struct {
	eks        *eks.Clusters
	kubeconfig map[string]string
}

func (l envLocator) Locate(ctx context.Context, env deploy.Environment) (deploy.Endpoint, error) {
	if p := l.kubeconfig[env.Name]; p != "" {
		return kube.KubeconfigLocator{Path: p}.Locate(ctx, env)
	}
	return l.eks.Locate(ctx, env)
}

// startDeploy builds the deploy service (ECR, EKS, IAM and Secrets Manager adapters, client-go for the clusters,
// OpenTofu for infrastructure units) and runs its worker, which also resumes releases a stopped replica left.
func (m *Main) startDeploy(ctx, runCtx context.Context, g *errgroup.Group) error {
	cfg := m.Config.Deploy
	envs, err := deployEnvironments(cfg)
	if err != nil {
		return err
	}
	// The portal runs on EKS with Pod Identity or IRSA (or with keys in the environment); the EC2 instance metadata
	// service is only asked when AWS_EC2_METADATA_DISABLED=false says so, so a portal without credentials never
	// reaches for a link-local address.
	imdsState := imds.ClientDisabled
	if os.Getenv("AWS_EC2_METADATA_DISABLED") == "false" {
		imdsState = imds.ClientEnabled
	}
	base, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithEC2IMDSClientEnableState(imdsState))
	if err != nil {
		return fmt.Errorf("deploy: AWS configuration: %v", err)
	}
	configs := &awsConfigs{base: base, roles: map[string]string{}, cache: map[string]aws.Config{}}
	loc := envLocator{eks: eks.New(configs.For), kubeconfig: map[string]string{}}
	protected := map[string]bool{}
	for _, e := range cfg.Environments {
		configs.roles[e.Name] = e.RoleARN
		loc.kubeconfig[e.Name] = e.Kubeconfig
		protected[e.Name] = e.Protected
	}
	registry := ecr.New(configs.For)
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	svc, err := deploy.New(deploy.Deps{Store: m.Store, Catalog: m.Catalog, Registry: registry, Locator: loc, Connector: kube.Connector{}},
		deploy.Config{Environments: envs, Worker: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(suffix)),
			Lease: time.Duration(cfg.Lease), Poll: time.Duration(cfg.Poll), Log: m.Log.With("component", "deploy")})
	if err != nil {
		return err
	}
	m.Deploy = &httpapi.DeployOptions{Service: svc, Provisioning: deploy.Provisioning{
		Repositories: registry, Secrets: secrets.New(configs.For), Roles: iam.New(configs.For), PodIdentities: loc.eks, AccessEntries: loc.eks,
		AccessPolicy: cfg.AccessPolicy, RolePath: cfg.RolePath, BoundaryPolicyName: cfg.BoundaryPolicyName,
	}}
	if cfg.Tofu.Root != "" {
		m.Deploy.Infra = &deploy.Infra{Store: m.Store, Runner: tofu.Runner{Tofu: cfg.Tofu.Binary}, Root: cfg.Tofu.Root,
			Owner: cfg.Tofu.Owner, Protected: protected}
	}
	g.Go(func() error { return svc.Run(runCtx) })
	return nil
}
