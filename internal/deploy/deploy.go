// Package deploy puts catalog Components into Kubernetes clusters on EKS and keeps the record of it: environments,
// releases and their events, manifest rendering, rollout tracking, rollback, dry-run diffs, approvals of protected
// deploys, and provisioning runs (AWS resources for a new service, OpenTofu plans and applies).
//
// It declares the ports it needs (Registry, ClusterLocator, Connector, Store, ...) and never imports an SDK: the
// adapters live in internal/aws (ECR, EKS, STS, IAM, Secrets Manager), internal/kube (client-go) and
// internal/store (ent).
//
// Entry points for other callers, such as the scaffolder's deploy:eks and OpenTofu actions (all take the principal
// the permission policy judges):
//
//   - Service.Deploy (and DryRun) queue a release of an image tag; Service.Release and Service.Events follow it,
//     Service.Subscribe signals new events; Service.Approve, Service.Rollback;
//   - Service.Provision creates a new service's ECR repository, secret, IAM role and EKS access entry;
//   - Infra.Plan stores an OpenTofu plan of a unit and Infra.Approve applies it once a second owner approves.
package deploy

import (
	"context"
	"strings"
	"time"
)

// Environment is one place components are deployed to: an EKS cluster in an AWS account and region.
type Environment struct {
	Name    string `json:"name" example:"dev"`
	Region  string `json:"region" example:"us-east-1"`
	Account string `json:"account" example:"111111111111"`
	// Cluster is the EKS cluster's name.
	Cluster string `json:"cluster" example:"billpay-dev-eks-cluster"`
	// Namespace is where components go unless their backstage.io/kubernetes-namespace annotation says otherwise.
	Namespace string `json:"namespace" example:"billpay"`
	// Registry is the ECR registry host, <account>.dkr.ecr.<region>.amazonaws.com.
	Registry string `json:"registry" example:"111111111111.dkr.ecr.us-east-1.amazonaws.com"`
	// Protected marks production-like environments (the permission policy is stricter there).
	Protected bool `json:"protected"`
	// RequireApproval holds each deploy until a second owner of the component approves it.
	RequireApproval bool `json:"requireApproval"`
	// Values are the environment's values file: defaults and per-component settings for the manifests.
	Values ValuesFile `json:"-"`
	// RolePath is the IAM path of the service roles named by name (deploy.rolePath; default DefaultRolePath). It is
	// here, not only in Provisioning, because Render builds the ServiceAccount's role ARN and depends on nothing but
	// its arguments.
	RolePath string `json:"-"`
}

// Status is where a release is in its life.
type Status string

const (
	// StatusPendingApproval waits for a second owner's approval (environments with RequireApproval).
	StatusPendingApproval Status = "pending_approval"
	// StatusQueued waits for a worker.
	StatusQueued Status = "queued"
	// StatusApplying is a worker applying the manifests.
	StatusApplying Status = "applying"
	// StatusRollingOut is a worker watching the Deployment roll out.
	StatusRollingOut Status = "rolling_out"
	// StatusSucceeded: the rollout finished and every replica is available.
	StatusSucceeded Status = "succeeded"
	// StatusFailed: the image was missing, the cluster unreachable or refused the portal, the apply was
	// rejected, or the rollout went past its progress deadline. The message says which.
	StatusFailed Status = "failed"
)

// Done reports whether a release has finished, one way or the other.
func (s Status) Done() bool { return s == StatusSucceeded || s == StatusFailed }

// Running reports whether a worker has started the release.
func (s Status) Running() bool { return s == StatusApplying || s == StatusRollingOut }

// Kind tells a deploy from a rollback.
type Kind string

const (
	KindDeploy   Kind = "deploy"
	KindRollback Kind = "rollback"
)

// Image is a container image resolved to its digest, so a release always runs exactly what was resolved.
type Image struct {
	// Repository is the repository URI, <registry>/<name>.
	Repository string `json:"repository" example:"111111111111.dkr.ecr.us-east-1.amazonaws.com/payment-service"`
	Tag        string `json:"tag" example:"1.4.2"`
	Digest     string `json:"digest" example:"sha256:4f1c..."`
}

// Ref is the image reference the Deployment runs: by digest, never by tag.
func (i Image) Ref() string {
	if i.Digest == "" {
		return i.Repository + ":" + i.Tag
	}
	return i.Repository + "@" + i.Digest
}

// Release is one deploy (or rollback) of a component to an environment, with the exact objects it applies.
type Release struct {
	ID          int64  `json:"id"`
	Component   string `json:"component" example:"component:default/payment-service"`
	Environment string `json:"environment" example:"dev"`
	Kind        Kind   `json:"kind"`
	// RollbackOf is the release whose objects a rollback re-applies.
	RollbackOf  int64      `json:"rollbackOf,omitempty"`
	Image       Image      `json:"image"`
	Status      Status     `json:"status"`
	Message     string     `json:"message,omitempty"`
	RequestedBy string     `json:"requestedBy"`
	ApprovedBy  string     `json:"approvedBy,omitempty"`
	Namespace   string     `json:"namespace"`
	Workload    string     `json:"workload" doc:"The Deployment's name"`
	Objects     []Object   `json:"objects,omitempty" doc:"The rendered objects this release applies"`
	Generation  int64      `json:"generation,omitempty" doc:"The Deployment's metadata.generation after the apply"`
	Attempts    int        `json:"attempts"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
}

// ReleaseEvent is one step of a release, as shown on the entity page and streamed to followers.
type ReleaseEvent struct {
	ID        int64     `json:"id"`
	ReleaseID int64     `json:"releaseId"`
	At        time.Time `json:"at"`
	// Type is Normal or Warning, as Kubernetes events have it.
	Type    string `json:"type" enum:"Normal,Warning"`
	Reason  string `json:"reason" example:"RolloutProgressing"`
	Message string `json:"message"`
}

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// ReleaseFilter selects releases; zero fields match everything. Results are newest first.
type ReleaseFilter struct {
	Component   string
	Environment string
	Status      []Status
	Limit       int
	Offset      int
}

// ReleaseUpdate changes a release; nil fields stay. From, when set, makes the update conditional on the release's
// current status (errs.Conflict otherwise), so two replicas never both move one release.
type ReleaseUpdate struct {
	From       []Status
	Status     *Status
	Message    *string
	ApprovedBy *string
	Generation *int64
	Image      *Image
	Objects    []Object
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Store keeps releases and their events. Implementations return errs.NotFound for unknown IDs.
type Store interface {
	// CreateRelease stores a new release and returns it with its ID. It returns errs.Conflict when the component
	// already has an unfinished release in the environment.
	CreateRelease(ctx context.Context, r Release) (Release, error)
	GetRelease(ctx context.Context, id int64) (Release, error)
	// ListReleases returns a page of matching releases (newest first) and how many match in all.
	ListReleases(ctx context.Context, f ReleaseFilter) ([]Release, int, error)
	UpdateRelease(ctx context.Context, id int64, u ReleaseUpdate) (Release, error)
	// ClaimRelease hands one release to worker: the oldest queued one, or one whose worker stopped renewing its
	// lease (a restart). It returns false when there is none. Several replicas may call it at once.
	ClaimRelease(ctx context.Context, worker string, now time.Time, lease time.Duration) (Release, bool, error)
	// RenewLease extends worker's claim; errs.Conflict when another worker holds the release now.
	RenewLease(ctx context.Context, id int64, worker string, until time.Time) error
	AddEvent(ctx context.Context, e ReleaseEvent) (ReleaseEvent, error)
	// ListEvents returns a release's events after afterID, oldest first (releaseID 0: every release's).
	ListEvents(ctx context.Context, releaseID, afterID int64, limit int) ([]ReleaseEvent, error)
}

// Registry resolves image tags in the environment's container registry (ECR).
type Registry interface {
	// ResolveImage returns repository:tag with its digest. errs.NotFound when the repository or the tag does not
	// exist; errs.Unavailable when the registry cannot be reached.
	ResolveImage(ctx context.Context, env Environment, repository, tag string) (Image, error)
}

// TokenSource gives bearer tokens for a cluster; implementations cache a token until shortly before it expires.
type TokenSource interface {
	Token(ctx context.Context) (token string, expiry time.Time, err error)
}

// Endpoint is how to reach an environment's Kubernetes API.
type Endpoint struct {
	// Name is the cluster's name, as the Kubernetes API responses name it.
	Name   string
	Server string
	// CAData is the PEM of the cluster's certificate authority.
	CAData []byte
	Token  TokenSource
}

// ClusterLocator finds an environment's cluster (EKS: DescribeCluster for endpoint and CA, an STS-signed token).
type ClusterLocator interface {
	// Locate returns errs.NotFound when the cluster does not exist, errs.Unavailable when it is not active or
	// the cloud API cannot be reached.
	Locate(ctx context.Context, env Environment) (Endpoint, error)
}

// Connector opens a Kubernetes API client for an endpoint.
type Connector interface {
	Connect(ep Endpoint) (Cluster, error)
}

// Cluster is the part of the Kubernetes API deploys use. Errors carry errs codes: Unavailable for an unreachable
// cluster, Unauthenticated when it refuses the token, Forbidden when RBAC refuses, Invalid when it rejects an object.
type Cluster interface {
	// Apply server-side applies objects in order and returns them as the server stored them (or, with dryRun,
	// as it would store them, changing nothing).
	Apply(ctx context.Context, objs []Object, dryRun bool) ([]Object, error)
	// Get returns the live object that obj names, or false when there is none.
	Get(ctx context.Context, obj Object) (Object, bool, error)
	// Warnings returns Warning events in namespace about objects whose names start with prefix, newer than since.
	Warnings(ctx context.Context, namespace, prefix string, since time.Time) ([]ClusterEvent, error)
	// List returns the objects of each resource type ("pods", "deployments", ...) that match selector in
	// namespace ("" for every namespace).
	List(ctx context.Context, namespace, selector string, resources []string) (map[string][]Object, error)
}

// ClusterEvent is a Kubernetes event about one of a release's objects.
type ClusterEvent struct {
	UID     string
	Object  string // kind/name
	Reason  string
	Message string
	Last    time.Time
}

// Catalog gives entities by reference; the catalog service implements it.
type Catalog interface {
	GetByRef(kind, namespace, name string) ([]byte, error)
}

// normaliseRef lowercases an entity ref and fills in kind and namespace defaults.
func normaliseRef(ref, defaultKind string) (kind, namespace, name string) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	kind = defaultKind
	if k, rest, ok := strings.Cut(ref, ":"); ok {
		kind, ref = k, rest
	}
	namespace = "default"
	if ns, n, ok := strings.Cut(ref, "/"); ok {
		namespace, ref = ns, n
	}
	return kind, namespace, ref
}
