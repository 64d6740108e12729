package deploy

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/errs"
)

// Ports for provisioning a new service's AWS resources. Each Ensure call is idempotent: a resource that exists
// already is left as it is and reported with created=false.
type (
	// Repositories creates ECR repositories.
	Repositories interface {
		EnsureRepository(ctx context.Context, env Environment, name string, tags map[string]string) (uri string, created bool, err error)
	}
	// Secrets creates Secrets Manager secrets (with a generated initial value).
	Secrets interface {
		EnsureSecret(ctx context.Context, env Environment, name, description string, tags map[string]string) (arn string, created bool, err error)
	}
	// Roles creates the IAM role a service's pods assume through EKS Pod Identity (or IRSA).
	Roles interface {
		EnsureServiceRole(ctx context.Context, env Environment, spec RoleSpec) (arn string, created bool, err error)
	}
	// PodIdentities gives a service account's pods an IAM role (EKS Pod Identity associations). created is also true
	// when an association of the service account with another of Portal's roles was pointed at this one.
	PodIdentities interface {
		EnsurePodIdentityAssociation(ctx context.Context, env Environment, spec PodIdentitySpec) (arn string, created bool, err error)
	}
	// AccessEntries grants an IAM principal access to the cluster's API (EKS access entries).
	AccessEntries interface {
		EnsureAccessEntry(ctx context.Context, env Environment, spec AccessEntrySpec) (created bool, err error)
	}
)

// RoleSpec describes a service's IAM role.
type RoleSpec struct {
	Name string
	// Path is the IAM path the role is created under (Provisioning.RolePath): Portal's own role may create and change
	// roles under that path only, so a role elsewhere is out of its reach even when the name matches.
	Path string
	// PermissionsBoundary is the ARN of the managed policy that caps whatever the role is ever granted. Portal's own
	// role may create roles and set their policies only with this boundary, which is what keeps it from granting
	// itself (through a role it creates) more than a service may have.
	PermissionsBoundary string
	// Namespace and ServiceAccount are what the role is for; the trust policy admits EKS Pod Identity.
	Namespace      string
	ServiceAccount string
	// SecretARNs are the only secrets the role may read.
	SecretARNs []string
	Tags       map[string]string
}

// PodIdentitySpec describes the EKS Pod Identity association of a service account with its role.
type PodIdentitySpec struct {
	Namespace      string
	ServiceAccount string
	RoleARN        string
	// RolePath and PermissionsBoundary tell Portal's roles from others. A service account has one association per
	// cluster, so one that names another role is pointed at RoleARN only when that role is under RolePath with this
	// boundary, that is one Portal provisioned (say, before the billpay.io/iam-role annotation renamed it); any other
	// was made by someone else for a reason Portal cannot know, and taking it over would take their pods' role away.
	RolePath            string
	PermissionsBoundary string
}

// AccessEntrySpec describes an EKS access entry and its one access policy association.
type AccessEntrySpec struct {
	PrincipalARN     string
	KubernetesGroups []string
	// PolicyARN is an EKS access policy, arn:aws:eks::aws:cluster-access-policy/AmazonEKS...Policy.
	PolicyARN string
	// Namespaces scopes the policy; empty means the whole cluster.
	Namespaces []string
}

// ProvisionStep is one resource a provisioning run ensured.
type ProvisionStep struct {
	Resource string `json:"resource" example:"ecr-repository"`
	ID       string `json:"id" doc:"ARN or URI of the resource"`
	Created  bool   `json:"created" doc:"false when it existed already"`
}

// ProvisionResult is what provisioning a service did.
type ProvisionResult struct {
	Component   string          `json:"component"`
	Environment string          `json:"environment"`
	Steps       []ProvisionStep `json:"steps"`
}

// ProvisionInput asks for a new service's AWS resources in an environment.
type ProvisionInput struct {
	Component   string `json:"component" example:"component:default/payment-service"`
	Environment string `json:"environment" example:"dev"`
}

// Provisioning creates a new service's AWS resources; its zero ports make the matching step fail with
// errs.Unavailable.
type Provisioning struct {
	Repositories  Repositories
	Secrets       Secrets
	Roles         Roles
	PodIdentities PodIdentities
	AccessEntries AccessEntries
	// AccessPolicy is the EKS access policy a service's role gets in its namespace. Default: AmazonEKSViewPolicy.
	AccessPolicy string
	// RolePath is the IAM path service roles are created under. Default: the environment's RolePath, which is what
	// the rendered ServiceAccount's role ARN uses, then DefaultRolePath.
	RolePath string
	// BoundaryPolicyName is the customer managed policy, in each environment's account, that is every service role's
	// permissions boundary. Default: DefaultBoundaryPolicyName.
	BoundaryPolicyName string
}

const (
	// DefaultRolePath is where service roles live; infra/modules/portal grants Portal's role IAM rights on it only.
	DefaultRolePath = "/billpay/services/"
	// DefaultBoundaryPolicyName is the boundary infra/modules/portal creates (its service_boundary_name).
	DefaultBoundaryPolicyName = "billpay-service-boundary"
)

// Partition is the AWS partition of a region's ARNs: the boundary's ARN is built before any call returns one.
func Partition(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"cn-", "aws-cn"}, {"us-gov-", "aws-us-gov"}, {"us-isob-", "aws-iso-b"}, {"us-isof-", "aws-iso-f"},
		{"eu-isoe-", "aws-iso-e"}, {"us-iso-", "aws-iso"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// BoundaryARN is the ARN of the boundary policy name in env's account.
func BoundaryARN(env Environment, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:policy/%s", Partition(env.Region), env.Account, name)
}

// RoleARN is the ARN of the role name under the IAM path in env's account; an empty path is DefaultRolePath.
func RoleARN(env Environment, path, name string) string {
	if path == "" {
		path = DefaultRolePath
	}
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", Partition(env.Region), env.Account, path, name)
}

// isARN tells a role given by ARN (a billpay.io/iam-role annotation, a values file's roleName) from one given by name.
func isARN(role string) bool { return strings.HasPrefix(role, "arn:") }

// Provision ensures, for component in env: its ECR repository, its Secrets Manager secret (<name>/app), its IAM role
// (under prov.RolePath, bounded by prov.BoundaryPolicyName, Pod Identity trust, read access to that secret only), the
// EKS Pod Identity association that gives the role to the pods of its service account, and an EKS access entry for
// the role scoped to its namespace. It stops at the first failure and reports what it had done.
func (s *Service) Provision(ctx context.Context, p auth.Principal, prov Provisioning, in ProvisionInput) (ProvisionResult, error) {
	env, err := s.Environment(in.Environment)
	if err != nil {
		return ProvisionResult{}, err
	}
	comp, err := s.Component(in.Component)
	if err != nil {
		return ProvisionResult{}, err
	}
	if err := auth.Decide(p, auth.DeployRun, auth.Resource{Owner: comp.Owner, Protected: env.Protected}); err != nil {
		return ProvisionResult{}, err
	}
	rolePath, boundary := prov.RolePath, prov.BoundaryPolicyName
	if rolePath == "" {
		rolePath = env.RolePath
	}
	if rolePath == "" {
		rolePath = DefaultRolePath
	}
	if boundary == "" {
		boundary = DefaultBoundaryPolicyName
	}
	roleName := ServiceRoleName(env, comp)
	// Checked before anything is created: a role named by ARN elsewhere is not one provisioning may create, and
	// creating one of the same name under rolePath would give the pods a role their manifests do not name.
	if r := comp.Annotations[AnnotationIAMRole]; isARN(r) && r != RoleARN(env, rolePath, roleName) {
		return ProvisionResult{}, errs.E(errs.Conflict, "%s names the IAM role %s by its ARN in %s, and Portal provisions "+
			"only %s: name the role by name to have Portal provision it, or leave the role and its Pod Identity association "+
			"to whoever made it", comp.Ref, r, AnnotationIAMRole, RoleARN(env, rolePath, "*"))
	}
	res := ProvisionResult{Component: comp.Ref, Environment: env.Name}
	tags := map[string]string{"billpay.io/component": comp.Name, "billpay.io/environment": env.Name, "billpay.io/managed-by": ManagedBy}
	if comp.Owner != "" {
		tags["billpay.io/owner"] = comp.Owner
	}
	missing := func(what string) error {
		return errs.E(errs.Unavailable, "provisioning %s in %s: no %s adapter is configured", comp.Ref, env.Name, what)
	}
	if prov.Repositories == nil {
		return res, missing("ECR")
	}
	uri, created, err := prov.Repositories.EnsureRepository(ctx, env, comp.Repository(), tags)
	if err != nil {
		return res, err
	}
	res.Steps = append(res.Steps, ProvisionStep{Resource: "ecr-repository", ID: uri, Created: created})

	if prov.Secrets == nil {
		return res, missing("Secrets Manager")
	}
	secretARN, created, err := prov.Secrets.EnsureSecret(ctx, env, comp.Name+"/app",
		fmt.Sprintf("Application secrets of %s in %s", comp.Name, env.Name), tags)
	if err != nil {
		return res, err
	}
	res.Steps = append(res.Steps, ProvisionStep{Resource: "secret", ID: secretARN, Created: created})

	if prov.Roles == nil {
		return res, missing("IAM")
	}
	ns, sa := comp.Namespace(env), comp.KubernetesID()
	roleARN, created, err := prov.Roles.EnsureServiceRole(ctx, env, RoleSpec{
		Name: roleName, Path: rolePath, PermissionsBoundary: BoundaryARN(env, boundary),
		Namespace: ns, ServiceAccount: sa, SecretARNs: []string{secretARN}, Tags: tags,
	})
	if err != nil {
		return res, err
	}
	res.Steps = append(res.Steps, ProvisionStep{Resource: "iam-role", ID: roleARN, Created: created})

	if prov.PodIdentities == nil {
		return res, missing("EKS Pod Identity")
	}
	assocARN, created, err := prov.PodIdentities.EnsurePodIdentityAssociation(ctx, env, PodIdentitySpec{
		Namespace: ns, ServiceAccount: sa, RoleARN: roleARN, RolePath: rolePath, PermissionsBoundary: BoundaryARN(env, boundary),
	})
	if err != nil {
		return res, err
	}
	res.Steps = append(res.Steps, ProvisionStep{Resource: "pod-identity-association", ID: assocARN, Created: created})

	if prov.AccessEntries == nil {
		return res, missing("EKS")
	}
	policy := prov.AccessPolicy
	if policy == "" {
		policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	}
	created, err = prov.AccessEntries.EnsureAccessEntry(ctx, env, AccessEntrySpec{
		PrincipalARN: roleARN, PolicyARN: policy, Namespaces: []string{ns},
	})
	if err != nil {
		return res, err
	}
	res.Steps = append(res.Steps, ProvisionStep{Resource: "eks-access-entry", ID: env.Cluster + "/" + roleARN, Created: created})
	return res, nil
}

// ServiceRoleName is the name of the IAM role a component's pods run as in env: <env>-<component>, at most 64
// characters, or the component's billpay.io/iam-role annotation (the last segment of it, when that is an ARN). It is
// a name, not a path: provisioning creates the role under Provisioning.RolePath, so its ARN is
// arn:<partition>:iam::<account>:role/billpay/services/<name> by default (RoleARN), and whatever names the role by
// ARN (a Pod Identity association, the rendered IRSA role-arn annotation) includes that path. IAM names are unique in
// an account whatever the path, so a role of that name elsewhere (say, from the service-roles unit) makes
// provisioning refuse instead of creating a second one.
func ServiceRoleName(env Environment, c Component) string {
	if r := c.Annotations[AnnotationIAMRole]; r != "" {
		if isARN(r) {
			return r[strings.LastIndex(r, "/")+1:]
		}
		return r
	}
	name := env.Name + "-" + c.Name
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}

// TofuStatus is where an OpenTofu run is.
type TofuStatus string

const (
	TofuPlanning    TofuStatus = "planning"
	TofuPlanned     TofuStatus = "planned"
	TofuPlanFailed  TofuStatus = "plan_failed"
	TofuApplying    TofuStatus = "applying"
	TofuApplied     TofuStatus = "applied"
	TofuApplyFailed TofuStatus = "apply_failed"
)

// PlanSummary counts a plan's changes.
type PlanSummary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
}

// TofuRun is an OpenTofu plan of one unit and, once a second person approved it, its apply.
type TofuRun struct {
	ID          int64       `json:"id"`
	Unit        string      `json:"unit" example:"infra/live/dev/ecr"`
	Environment string      `json:"environment,omitempty"`
	Status      TofuStatus  `json:"status"`
	RequestedBy string      `json:"requestedBy"`
	ApprovedBy  string      `json:"approvedBy,omitempty"`
	Plan        string      `json:"plan,omitempty" doc:"The plan as tofu show prints it"`
	Summary     PlanSummary `json:"summary"`
	// PlanFile is the saved plan that apply runs, so what is applied is exactly what was approved.
	PlanFile  []byte    `json:"-"`
	Output    string    `json:"output,omitempty"`
	Message   string    `json:"message,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// TofuStore keeps OpenTofu runs.
type TofuStore interface {
	CreateTofuRun(ctx context.Context, r TofuRun) (TofuRun, error)
	GetTofuRun(ctx context.Context, id int64) (TofuRun, error)
	ListTofuRuns(ctx context.Context, unit string, limit int) ([]TofuRun, error)
	// UpdateTofuRun sets u's non-zero fields; with from it changes only a run in one of those states
	// (errs.Conflict otherwise).
	UpdateTofuRun(ctx context.Context, id int64, from []TofuStatus, u TofuRun) (TofuRun, error)
}

// PlanOutput is what a plan produced.
type PlanOutput struct {
	Text    string
	File    []byte
	Summary PlanSummary
}

// TofuRunner runs OpenTofu (directly, or through Terragrunt) in a unit's directory.
type TofuRunner interface {
	Plan(ctx context.Context, dir string) (PlanOutput, error)
	Apply(ctx context.Context, dir string, planFile []byte) (output string, err error)
}

// Infra plans and applies OpenTofu units under a root directory; applies need a second person's approval.
type Infra struct {
	Store  TofuStore
	Runner TofuRunner
	// Root is the directory units are relative to (the repository root, for infra/live/<env>/<unit>).
	Root string
	// Owner owns the infrastructure: its members plan, and approve others' plans.
	Owner string
	// Protected are environments (path segments of a unit: infra/live/<env>/...) treated as protected.
	Protected map[string]bool
}

// PlanInput names a unit to plan.
type PlanInput struct {
	Unit string `json:"unit" example:"infra/live/dev/ecr" doc:"The unit's directory, relative to the portal's infrastructure root"`
}

func (in *Infra) dir(unit string) (string, string, error) {
	clean := filepath.ToSlash(filepath.Clean(unit))
	if unit == "" || filepath.IsAbs(unit) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", "", errs.E(errs.Invalid, "unit %q must be a directory inside the infrastructure root", unit)
	}
	env := ""
	if parts := strings.Split(clean, "/"); len(parts) >= 3 && parts[len(parts)-3] == "live" {
		env = parts[len(parts)-2]
	}
	return filepath.Join(in.Root, clean), env, nil
}

// Plan runs `tofu plan` on a unit and stores the plan; nothing changes until Approve.
func (in *Infra) Plan(ctx context.Context, p auth.Principal, req PlanInput) (TofuRun, error) {
	if in == nil || in.Runner == nil || in.Store == nil {
		return TofuRun{}, errs.E(errs.Unavailable, "OpenTofu runs are not configured")
	}
	dir, env, err := in.dir(req.Unit)
	if err != nil {
		return TofuRun{}, err
	}
	if err := auth.Decide(p, auth.DeployRun, auth.Resource{Owner: in.Owner, Protected: in.Protected[env]}); err != nil {
		return TofuRun{}, err
	}
	run, err := in.Store.CreateTofuRun(ctx, TofuRun{Unit: filepath.ToSlash(filepath.Clean(req.Unit)), Environment: env,
		Status: TofuPlanning, RequestedBy: p.Subject})
	if err != nil {
		return TofuRun{}, err
	}
	out, err := in.Runner.Plan(ctx, dir)
	if err != nil {
		return in.Store.UpdateTofuRun(context.WithoutCancel(ctx), run.ID, nil, TofuRun{Status: TofuPlanFailed, Message: errs.MessageOf(err)})
	}
	return in.Store.UpdateTofuRun(ctx, run.ID, nil, TofuRun{Status: TofuPlanned, Plan: out.Text, PlanFile: out.File, Summary: out.Summary,
		Message: fmt.Sprintf("%d to add, %d to change, %d to destroy", out.Summary.Add, out.Summary.Change, out.Summary.Destroy)})
}

// Approve applies a stored plan: the approver must be an owner other than the requester. The run moves to
// applying first, so a plan is applied at most once.
func (in *Infra) Approve(ctx context.Context, p auth.Principal, id int64) (TofuRun, error) {
	if in == nil || in.Runner == nil || in.Store == nil {
		return TofuRun{}, errs.E(errs.Unavailable, "OpenTofu runs are not configured")
	}
	run, err := in.Store.GetTofuRun(ctx, id)
	if err != nil {
		return TofuRun{}, err
	}
	if err := auth.Decide(p, auth.DeployApprove, auth.Resource{Owner: in.Owner, RequestedBy: run.RequestedBy}); err != nil {
		return TofuRun{}, err
	}
	dir, _, err := in.dir(run.Unit)
	if err != nil {
		return TofuRun{}, err
	}
	run, err = in.Store.UpdateTofuRun(ctx, id, []TofuStatus{TofuPlanned}, TofuRun{Status: TofuApplying, ApprovedBy: p.Subject})
	if err != nil {
		return TofuRun{}, err
	}
	output, err := in.Runner.Apply(ctx, dir, run.PlanFile)
	if err != nil {
		return in.Store.UpdateTofuRun(context.WithoutCancel(ctx), id, nil, TofuRun{Status: TofuApplyFailed, Output: output, Message: errs.MessageOf(err)})
	}
	return in.Store.UpdateTofuRun(ctx, id, nil, TofuRun{Status: TofuApplied, Output: output, Message: "applied"})
}

// Run returns one OpenTofu run.
func (in *Infra) Run(ctx context.Context, id int64) (TofuRun, error) {
	if in == nil || in.Store == nil {
		return TofuRun{}, errs.E(errs.Unavailable, "OpenTofu runs are not configured")
	}
	return in.Store.GetTofuRun(ctx, id)
}

// Runs lists the newest OpenTofu runs, of one unit when unit is set.
func (in *Infra) Runs(ctx context.Context, unit string, limit int) ([]TofuRun, error) {
	if in == nil || in.Store == nil {
		return nil, errs.E(errs.Unavailable, "OpenTofu runs are not configured")
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return in.Store.ListTofuRuns(ctx, unit, limit)
}
