package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

const kubernetesTag = "Kubernetes"

func (s *Server) kubernetesOp(id, method, path, summary string) huma.Operation {
	return s.operation(kubernetesTag, id, method, "/api/kubernetes"+path, summary, false)
}

type kubernetesCluster struct {
	Name         string `json:"name" example:"dev"`
	Title        string `json:"title,omitempty" example:"billpay-dev-eks-cluster"`
	AuthProvider string `json:"authProvider" example:"aws"`
}

// kubernetesRequest is the body of Backstage's POST /services/:serviceId: the entity (its annotations choose the
// label selector and namespace) and client credentials, which the portal does not need.
type kubernetesRequest struct {
	Entity json.RawMessage `json:"entity,omitempty" doc:"The entity; its backstage.io/kubernetes-* annotations are read"`
	Auth   map[string]any  `json:"auth,omitempty" doc:"Accepted for compatibility; the portal uses its own cluster credentials"`
}

// componentForObjects reads what the object listing needs from any entity: its name and annotations.
func componentForObjects(raw []byte) (deploy.Component, error) {
	var e catalog.Entity
	if err := json.Unmarshal(raw, &e); err != nil || e.Name() == "" {
		return deploy.Component{}, errs.E(errs.Invalid, "entity must be an object with metadata.name")
	}
	c := deploy.Component{Ref: e.Ref().String(), Name: e.Name(), Annotations: map[string]string{}}
	if a, ok := e.Metadata()["annotations"].(map[string]any); ok {
		for k, v := range a {
			if s, ok := v.(string); ok {
				c.Annotations[k] = s
			}
		}
	}
	return c, nil
}

func (s *Server) entityForObjects(ref string) (deploy.Component, error) {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{Kind: "component", Namespace: catalog.DefaultNamespace})
	if err != nil {
		return deploy.Component{}, errs.E(errs.Invalid, "%v", errs.MessageOf(err))
	}
	if s.opts.Catalog == nil {
		return deploy.Component{}, errs.E(errs.Unavailable, "no catalog")
	}
	raw, err := s.opts.Catalog.GetByRef(r.Kind, r.Namespace, r.Name)
	if err != nil {
		return deploy.Component{}, err
	}
	return componentForObjects(raw)
}

func (s *Server) registerKubernetes() {
	svc := s.opts.Deploy.Service
	huma.Register(s.api, s.kubernetesOp("listKubernetesClusters", http.MethodGet, "/clusters", "List clusters (one per deploy environment)"),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Items []kubernetesCluster `json:"items"`
			}
		}, error) {
			out := &struct {
				Body struct {
					Items []kubernetesCluster `json:"items"`
				}
			}{}
			out.Body.Items = []kubernetesCluster{}
			for _, e := range svc.Environments() {
				out.Body.Items = append(out.Body.Items, kubernetesCluster{Name: e.Name, Title: e.Cluster, AuthProvider: "aws"})
			}
			return out, nil
		})

	byService := s.kubernetesOp("getKubernetesObjectsByService", http.MethodPost, "/services/{serviceId}",
		"Objects of a service in every cluster (Backstage's Kubernetes plugin)")
	byService.Description = "Backstage's `POST /api/kubernetes/services/:serviceId`: lists pods, services, configmaps, " +
		"deployments, replicasets, horizontalpodautoscalers, jobs, cronjobs, ingresses, statefulsets, daemonsets, limitranges " +
		"and resourcequotas labelled `backstage.io/kubernetes-id=<serviceId>` (or matching the entity's " +
		"backstage.io/kubernetes-label-selector), in the entity's backstage.io/kubernetes-namespace or every namespace. " +
		"A cluster that cannot be reached is listed with its errors."
	huma.Register(s.api, byService, func(ctx context.Context, in *struct {
		ServiceID string `path:"serviceId" example:"payment-service"`
		Body      kubernetesRequest
	}) (*struct{ Body deploy.ObjectsByEntity }, error) {
		c := deploy.Component{Name: in.ServiceID, Annotations: map[string]string{deploy.AnnotationKubernetesID: in.ServiceID}}
		if len(in.Body.Entity) > 0 && string(in.Body.Entity) != "null" {
			var err error
			if c, err = componentForObjects(in.Body.Entity); err != nil {
				return nil, portalErr(err)
			}
			if c.Annotations[deploy.AnnotationKubernetesID] == "" {
				c.Annotations[deploy.AnnotationKubernetesID] = in.ServiceID
			}
		}
		return &struct{ Body deploy.ObjectsByEntity }{Body: svc.Workloads(ctx, c, deploy.WorkloadsQuery{})}, nil
	})

	query := s.kubernetesOp("queryKubernetesWorkloads", http.MethodPost, "/resources/workloads/query",
		"Objects of a catalog entity in every cluster (Backstage's Kubernetes plugin)")
	huma.Register(s.api, query, func(ctx context.Context, in *struct {
		Body struct {
			EntityRef string         `json:"entityRef" example:"component:default/payment-service"`
			Auth      map[string]any `json:"auth,omitempty"`
		}
	}) (*struct{ Body deploy.ObjectsByEntity }, error) {
		c, err := s.entityForObjects(in.Body.EntityRef)
		if err != nil {
			return nil, portalErr(err)
		}
		return &struct{ Body deploy.ObjectsByEntity }{Body: svc.Workloads(ctx, c, deploy.WorkloadsQuery{})}, nil
	})

	huma.Register(s.api, s.kubernetesOp("getEntityWorkloads", http.MethodGet, "/entities/{kind}/{namespace}/{name}",
		"Workloads, pods and their status for a catalog entity"),
		func(ctx context.Context, in *struct {
			Kind        string `path:"kind" example:"component"`
			Namespace   string `path:"namespace" example:"default"`
			Name        string `path:"name" example:"payment-service"`
			Environment string `query:"environment" doc:"Comma-separated environments; all when empty" example:"dev"`
			Types       string `query:"types" doc:"Comma-separated object types; Backstage's defaults when empty" example:"pods,deployments"`
		}) (*struct{ Body deploy.ObjectsByEntity }, error) {
			c, err := s.entityForObjects(in.Kind + ":" + in.Namespace + "/" + in.Name)
			if err != nil {
				return nil, portalErr(err)
			}
			q := deploy.WorkloadsQuery{Environments: splitList(in.Environment), Types: splitList(in.Types)}
			for _, t := range q.Types {
				if !validObjectType(t) {
					return nil, huma.Error400BadRequest("unknown object type " + t + "; types are " + strings.Join(deploy.DefaultObjectTypes, ", "))
				}
			}
			return &struct{ Body deploy.ObjectsByEntity }{Body: svc.Workloads(ctx, c, q)}, nil
		})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func validObjectType(t string) bool {
	for _, d := range deploy.DefaultObjectTypes {
		if d == t {
			return true
		}
	}
	return false
}
