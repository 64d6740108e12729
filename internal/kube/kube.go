// Package kube is the Kubernetes API adapter of deploys: server-side apply, reads of live objects and events, and
// the listing of an entity's workloads, with client-go's dynamic client. It implements deploy.Connector and
// deploy.Cluster, and translates API and transport errors into errs codes that say what went wrong.
package kube

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// Connector opens clusters; it implements deploy.Connector.
type Connector struct {
	// Timeout bounds each API request. Default 30s.
	Timeout time.Duration
}

var _ deploy.Connector = Connector{}

// Connect returns a client for ep. Nothing is sent until the first call.
func (c Connector) Connect(ep deploy.Endpoint) (deploy.Cluster, error) {
	cfg := RESTConfig(ep)
	if c.Timeout > 0 {
		cfg.Timeout = c.Timeout
	}
	return NewCluster(ep.Name, cfg)
}

// RESTConfig is the client-go configuration for an endpoint: its server and CA, and a bearer token taken from
// ep.Token on every request (the token source caches it and refreshes it before it expires).
func RESTConfig(ep deploy.Endpoint) *rest.Config {
	cfg := &rest.Config{
		Host:            ep.Server,
		TLSClientConfig: rest.TLSClientConfig{CAData: ep.CAData},
		UserAgent:       "billpay-portal",
		Timeout:         30 * time.Second,
		QPS:             50,
		Burst:           100,
	}
	if ep.Token != nil {
		src := ep.Token
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &bearer{src: src, next: rt} }
	}
	return cfg
}

type bearer struct {
	src  deploy.TokenSource
	next http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, _, err := b.src.Token(r.Context())
	if err != nil {
		return nil, &tokenError{err}
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(r)
}

// tokenError keeps a token source's failure apart from transport errors.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "cannot get a cluster token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// Cluster is one cluster's API; it implements deploy.Cluster.
type Cluster struct {
	name   string
	dyn    dynamic.Interface
	mapper *resourceMapper
}

var _ deploy.Cluster = (*Cluster)(nil)

// NewCluster returns a client for the cluster cfg reaches; name is used in messages.
func NewCluster(name string, cfg *rest.Config) (*Cluster, error) {
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "cluster %s: %v", name, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, client)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "cluster %s: %v", name, err)
	}
	return &Cluster{name: name, dyn: dyn, mapper: newResourceMapper(cfg.Host, client)}, nil
}

// FromKubeconfig returns the endpoint a kubeconfig file's current context names, with its bearer token (the
// portal uses it for clusters outside EKS, and tests use it for the local control plane).
func FromKubeconfig(name, path string) (deploy.Endpoint, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return deploy.Endpoint{}, errs.Wrap(errs.Invalid, err, "kubeconfig %s: %v", path, err)
	}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		return deploy.Endpoint{}, errs.E(errs.Invalid, "kubeconfig %s: embed the CA (certificate-authority-data)", path)
	}
	if cfg.BearerToken == "" {
		return deploy.Endpoint{}, errs.E(errs.Invalid, "kubeconfig %s: the current user has no token", path)
	}
	return deploy.Endpoint{Name: name, Server: cfg.Host, CAData: ca, Token: StaticToken(cfg.BearerToken)}, nil
}

// StaticToken is a token that never expires (service account or static tokens).
type StaticToken string

// Token returns the token.
func (t StaticToken) Token(context.Context) (string, time.Time, error) {
	return string(t), time.Time{}, nil
}

// KubeconfigLocator locates every environment's cluster through one kubeconfig file.
type KubeconfigLocator struct{ Path string }

var _ deploy.ClusterLocator = KubeconfigLocator{}

// Locate reads the kubeconfig.
func (l KubeconfigLocator) Locate(_ context.Context, env deploy.Environment) (deploy.Endpoint, error) {
	name := env.Cluster
	if name == "" {
		name = env.Name
	}
	return FromKubeconfig(name, l.Path)
}

func (c *Cluster) resource(ctx context.Context, apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, errs.E(errs.Invalid, "%q is not an apiVersion", apiVersion)
	}
	gvr, namespaced, err := c.mapper.mapping(ctx, gv.WithKind(kind))
	if errors.Is(err, errNotServed) {
		return nil, false, errs.E(errs.Invalid, "cluster %s does not serve %s %s", c.name, apiVersion, kind)
	}
	if err != nil {
		return nil, false, c.apiErr(err, "discovering "+apiVersion+" "+kind)
	}
	return c.dyn.Resource(gvr), namespaced, nil
}

func (c *Cluster) client(ctx context.Context, obj deploy.Object) (dynamic.ResourceInterface, error) {
	ri, namespaced, err := c.resource(ctx, obj.APIVersion(), obj.Kind())
	if err != nil {
		return nil, err
	}
	if namespaced {
		return ri.Namespace(obj.Namespace()), nil
	}
	return ri, nil
}

// Apply server-side applies each object with the portal's field manager, forcing ownership of the fields the
// portal sets (and only those: fields others manage, such as an HPA's replicas, stay theirs).
func (c *Cluster) Apply(ctx context.Context, objs []deploy.Object, dryRun bool) ([]deploy.Object, error) {
	out := make([]deploy.Object, 0, len(objs))
	force := true
	opts := metav1.PatchOptions{FieldManager: deploy.ManagedBy, Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, obj := range objs {
		ri, err := c.client(ctx, obj)
		if err != nil {
			return out, err
		}
		body, err := json.Marshal(obj)
		if err != nil {
			return out, errs.Wrap(errs.Invalid, err, "%s: %v", obj.Key(), err)
		}
		res, err := ri.Patch(ctx, obj.Name(), types.ApplyPatchType, body, opts)
		if err != nil {
			return out, c.apiErr(err, "applying "+obj.Key())
		}
		out = append(out, deploy.Object(res.Object))
	}
	return out, nil
}

// Get reads the live object obj names.
func (c *Cluster) Get(ctx context.Context, obj deploy.Object) (deploy.Object, bool, error) {
	ri, err := c.client(ctx, obj)
	if err != nil {
		return nil, false, err
	}
	res, err := ri.Get(ctx, obj.Name(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, c.apiErr(err, "reading "+obj.Key())
	}
	return deploy.Object(res.Object), true, nil
}

var eventsGVR = schema.GroupVersionResource{Version: "v1", Resource: "events"}

// Warnings lists Warning events about objects named prefix... in namespace since a time: FailedScheduling,
// FailedCreate, BackOff and the like, which say why a rollout does not progress.
func (c *Cluster) Warnings(ctx context.Context, namespace, prefix string, since time.Time) ([]deploy.ClusterEvent, error) {
	list, err := c.dyn.Resource(eventsGVR).Namespace(namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil {
		return nil, c.apiErr(err, "listing events in "+namespace)
	}
	var out []deploy.ClusterEvent
	for _, item := range list.Items {
		o := deploy.Object(item.Object)
		name := o.String("involvedObject.name")
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		last := eventTime(o)
		if last.Before(since) {
			continue
		}
		out = append(out, deploy.ClusterEvent{
			UID: o.String("metadata.uid"), Object: o.String("involvedObject.kind") + "/" + name,
			Reason: o.String("reason"), Message: o.String("message"), Last: last,
		})
	}
	return out, nil
}

func eventTime(o deploy.Object) time.Time {
	for _, p := range []string{"lastTimestamp", "eventTime", "series.lastObservedTime", "firstTimestamp", "metadata.creationTimestamp"} {
		if s := o.String(p); s != "" {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// objectTypes maps Backstage's object type names to API resources.
var objectTypes = map[string]schema.GroupVersionResource{
	"pods":                     {Version: "v1", Resource: "pods"},
	"services":                 {Version: "v1", Resource: "services"},
	"configmaps":               {Version: "v1", Resource: "configmaps"},
	"limitranges":              {Version: "v1", Resource: "limitranges"},
	"resourcequotas":           {Version: "v1", Resource: "resourcequotas"},
	"deployments":              {Group: "apps", Version: "v1", Resource: "deployments"},
	"replicasets":              {Group: "apps", Version: "v1", Resource: "replicasets"},
	"statefulsets":             {Group: "apps", Version: "v1", Resource: "statefulsets"},
	"daemonsets":               {Group: "apps", Version: "v1", Resource: "daemonsets"},
	"horizontalpodautoscalers": {Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"},
	"jobs":                     {Group: "batch", Version: "v1", Resource: "jobs"},
	"cronjobs":                 {Group: "batch", Version: "v1", Resource: "cronjobs"},
	"ingresses":                {Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"},
}

// List returns, per object type, the objects matching selector in namespace ("" for all namespaces), each with
// apiVersion and kind set and without managedFields. The first error stops the listing.
func (c *Cluster) List(ctx context.Context, namespace, selector string, resources []string) (map[string][]deploy.Object, error) {
	out := map[string][]deploy.Object{}
	for _, t := range resources {
		gvr, ok := objectTypes[t]
		if !ok {
			return out, errs.E(errs.Invalid, "unknown object type %q", t)
		}
		var ri dynamic.ResourceInterface = c.dyn.Resource(gvr)
		if namespace != "" {
			ri = c.dyn.Resource(gvr).Namespace(namespace)
		}
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return out, c.apiErr(err, "listing "+t)
		}
		objs := make([]deploy.Object, 0, len(list.Items))
		for _, item := range list.Items {
			u := item.DeepCopy()
			unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
			if u.GetKind() == "" {
				u.SetAPIVersion(gvr.GroupVersion().String())
				u.SetKind(strings.TrimSuffix(list.GetKind(), "List"))
			}
			objs = append(objs, deploy.Object(u.Object))
		}
		out[t] = objs
	}
	return out, nil
}

// apiErr says what failed in terms of the cause: an unreachable cluster, a refused token, RBAC, validation.
func (c *Cluster) apiErr(err error, doing string) error {
	var te *tokenError
	var ue *url.Error
	var ne net.Error
	var ca x509.UnknownAuthorityError
	var he x509.HostnameError
	var status apierrors.APIStatus
	switch {
	case errors.As(err, &te):
		return errs.Wrap(errs.Unauthenticated, err, "%s: %v", doing, te)
	case apierrors.IsUnauthorized(err):
		return errs.Wrap(errs.Unauthenticated, err, "%s: cluster %s refused the credentials (401 Unauthorized)", doing, c.name)
	case apierrors.IsForbidden(err):
		return errs.Wrap(errs.Forbidden, err, "%s: %s", doing, apiMessage(err))
	case apierrors.IsNotFound(err):
		return errs.Wrap(errs.NotFound, err, "%s: %s", doing, apiMessage(err))
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return errs.Wrap(errs.Invalid, err, "%s: %s", doing, apiMessage(err))
	case apierrors.IsConflict(err):
		return errs.Wrap(errs.Conflict, err, "%s: %s", doing, apiMessage(err))
	case errors.As(err, &ca), errors.As(err, &he):
		return errs.Wrap(errs.Unavailable, err, "%s: cluster %s presented a certificate the portal does not trust: %v", doing, c.name, err)
	case errors.As(err, &status):
		return errs.Wrap(errs.Unavailable, err, "%s: cluster %s answered %d: %s", doing, c.name, status.Status().Code, apiMessage(err))
	case errors.As(err, &ue), errors.As(err, &ne):
		return errs.Wrap(errs.Unavailable, err, "%s: cluster %s unreachable: %v", doing, c.name, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.Unavailable, err, "%s: cluster %s did not answer in time", doing, c.name)
	}
	return errs.Wrap(errs.Unavailable, err, "%s: %v", doing, err)
}

func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return fmt.Sprint(err)
}
