package deploy

import (
	"context"
	"sort"
	"sync"

	"github.com/billpay/portal/internal/errs"
)

// DefaultObjectTypes are the object lists Backstage's Kubernetes plugin fetches for an entity by default.
var DefaultObjectTypes = []string{
	"pods", "services", "configmaps", "limitranges", "resourcequotas", "deployments", "replicasets",
	"horizontalpodautoscalers", "jobs", "cronjobs", "ingresses", "statefulsets", "daemonsets",
}

// ObjectsByEntity is Backstage's ObjectsByEntityResponse: per cluster, the entity's objects by type and what could
// not be fetched. Clusters with neither objects nor errors are left out, as Backstage leaves them out.
type ObjectsByEntity struct {
	Items []ClusterObjects `json:"items"`
}

// ClusterObjects is one cluster's share of an ObjectsByEntity.
type ClusterObjects struct {
	Cluster    ClusterAttributes `json:"cluster"`
	Resources  []FetchResponse   `json:"resources"`
	PodMetrics []any             `json:"podMetrics" doc:"Always empty: the portal reads no metrics.k8s.io"`
	Errors     []FetchError      `json:"errors"`
}

// ClusterAttributes names a cluster; the portal's clusters are its deploy environments.
type ClusterAttributes struct {
	Name  string `json:"name" example:"dev"`
	Title string `json:"title,omitempty" example:"billpay-dev-eks-cluster"`
}

// FetchResponse is one type of object: {type: "pods", resources: [...]}.
type FetchResponse struct {
	Type      string   `json:"type" example:"pods"`
	Resources []Object `json:"resources"`
}

// FetchError is Backstage's KubernetesFetchError: a StatusError (errorType BAD_REQUEST, UNAUTHORIZED_ERROR,
// NOT_FOUND, SYSTEM_ERROR or UNKNOWN_ERROR, with statusCode and resourcePath) or a RawFetchError (errorType
// FETCH_ERROR, with message).
type FetchError struct {
	ErrorType    string `json:"errorType" example:"FETCH_ERROR"`
	StatusCode   int    `json:"statusCode,omitempty"`
	ResourcePath string `json:"resourcePath,omitempty"`
	Message      string `json:"message,omitempty"`
}

// WorkloadsQuery selects what to list for a component.
type WorkloadsQuery struct {
	// Environments limits the clusters asked; empty asks every environment.
	Environments []string
	// Types are object types as Backstage names them; empty means DefaultObjectTypes.
	Types []string
}

// Workloads lists the component's objects in every environment's cluster, found by the backstage.io/kubernetes-id
// label (or the backstage.io/kubernetes-label-selector annotation) in the namespace the
// backstage.io/kubernetes-namespace annotation names, or in every namespace. A cluster that cannot be reached is
// reported in its errors, never left out silently.
func (s *Service) Workloads(ctx context.Context, c Component, q WorkloadsQuery) ObjectsByEntity {
	envs := s.Environments()
	if len(q.Environments) > 0 {
		envs = envs[:0:0]
		for _, n := range q.Environments {
			if e, ok := s.envs[n]; ok {
				envs = append(envs, e)
			}
		}
	}
	types := q.Types
	if len(types) == 0 {
		types = DefaultObjectTypes
	}
	namespace := c.Annotations[AnnotationKubernetesNamespace]
	out := make([]ClusterObjects, len(envs))
	var wg sync.WaitGroup
	for i, env := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			co := ClusterObjects{Cluster: ClusterAttributes{Name: env.Name, Title: env.Cluster}, Resources: []FetchResponse{},
				PodMetrics: []any{}, Errors: []FetchError{}}
			cl, err := s.cluster(ctx, env)
			if err == nil {
				var lists map[string][]Object
				lists, err = cl.List(ctx, namespace, c.LabelSelector(), types)
				if err != nil {
					s.forgetOnAuth(env, err)
				}
				for _, t := range types {
					if objs := lists[t]; len(objs) > 0 {
						sort.Slice(objs, func(a, b int) bool { return objs[a].Key() < objs[b].Key() })
						co.Resources = append(co.Resources, FetchResponse{Type: t, Resources: objs})
					}
				}
			}
			if err != nil {
				co.Errors = append(co.Errors, fetchError(err))
			}
			out[i] = co
		}()
	}
	wg.Wait()
	res := ObjectsByEntity{Items: []ClusterObjects{}}
	for _, co := range out {
		if len(co.Resources) > 0 || len(co.Errors) > 0 {
			res.Items = append(res.Items, co)
		}
	}
	return res
}

func fetchError(err error) FetchError {
	switch errs.CodeOf(err) {
	case errs.Unauthenticated:
		return FetchError{ErrorType: "UNAUTHORIZED_ERROR", StatusCode: 401, Message: errs.MessageOf(err)}
	case errs.Forbidden:
		return FetchError{ErrorType: "UNAUTHORIZED_ERROR", StatusCode: 403, Message: errs.MessageOf(err)}
	case errs.NotFound:
		return FetchError{ErrorType: "NOT_FOUND", StatusCode: 404, Message: errs.MessageOf(err)}
	case errs.Invalid:
		return FetchError{ErrorType: "BAD_REQUEST", StatusCode: 400, Message: errs.MessageOf(err)}
	}
	return FetchError{ErrorType: "FETCH_ERROR", Message: errs.MessageOf(err)}
}
