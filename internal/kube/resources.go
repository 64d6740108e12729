package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resourceMapper finds the resource that serves a kind by reading the API's resource list of its group
// version (GET /api/v1, /apis/<group>/<version>), once per group version. client-go's discovery client does
// the same but links in every built-in API group's types through its scheme (57 packages, ~10 MB of a
// running portal's memory, resident from start) for a lookup that needs none of them.
type resourceMapper struct {
	host   string
	client *http.Client

	mu    sync.Mutex
	lists map[schema.GroupVersion][]metav1.APIResource
}

func newResourceMapper(host string, client *http.Client) *resourceMapper {
	return &resourceMapper{host: strings.TrimSuffix(host, "/"), client: client, lists: map[schema.GroupVersion][]metav1.APIResource{}}
}

// errNotServed means the cluster serves no resource of that kind in that group version.
var errNotServed = errors.New("kind not served")

// mapping returns the resource of gvk and whether it is namespaced. A kind missing from a cached list is looked
// up once more: the list may predate a CustomResourceDefinition.
func (m *resourceMapper) mapping(ctx context.Context, gvk schema.GroupVersionKind) (schema.GroupVersionResource, bool, error) {
	gv := gvk.GroupVersion()
	m.mu.Lock()
	list := m.lists[gv]
	m.mu.Unlock()
	if r, ok := findKind(list, gvk.Kind); ok {
		return gv.WithResource(r.Name), r.Namespaced, nil
	}
	list, err := m.fetch(ctx, gv)
	if err != nil {
		return schema.GroupVersionResource{}, false, err
	}
	m.mu.Lock()
	m.lists[gv] = list
	m.mu.Unlock()
	if r, ok := findKind(list, gvk.Kind); ok {
		return gv.WithResource(r.Name), r.Namespaced, nil
	}
	return schema.GroupVersionResource{}, false, errNotServed
}

func findKind(list []metav1.APIResource, kind string) (metav1.APIResource, bool) {
	for _, r := range list {
		// Subresources (deployments/scale) report their parent's kind or their own; neither is applied directly.
		if r.Kind == kind && !strings.Contains(r.Name, "/") {
			return r, true
		}
	}
	return metav1.APIResource{}, false
}

// fetch reads a group version's resource list. An unserved group version is an empty list; other failures keep
// the API's status, so that callers tell a refused token from a missing permission.
func (m *resourceMapper) fetch(ctx context.Context, gv schema.GroupVersion) ([]metav1.APIResource, error) {
	path := "/apis/" + gv.Group + "/" + gv.Version
	if gv.Group == "" {
		path = "/api/" + gv.Version
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.host+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		var status metav1.Status
		if json.Unmarshal(body, &status) == nil && status.Kind == "Status" {
			return nil, &apierrors.StatusError{ErrStatus: status}
		}
		return nil, apierrors.NewGenericServerResponse(resp.StatusCode, http.MethodGet, schema.GroupResource{}, "", strings.TrimSpace(string(body)), 0, false)
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("reading the resources of %s: %w", gv, err)
	}
	return list.APIResources, nil
}
