package kube_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/kube"
	"github.com/billpay/portal/internal/kube/kubetest"
)

// TestKindsAreMappedFromTheAPI applies and reads objects whose resources are looked up in the real API server's
// resource lists: namespaced and cluster-scoped kinds, a kind nobody serves, and a custom resource whose
// definition appears after its group version was first looked up.
func TestKindsAreMappedFromTheAPI(t *testing.T) {
	kenv := kubetest.Shared(t)
	cl, err := kube.Connector{}.Connect(kenv.Endpoint("local"))
	require.NoError(t, err)
	ctx := t.Context()

	ns := deploy.Object{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "kinds-test"}}
	cm := deploy.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "settings", "namespace": "kinds-test"},
		"data": map[string]any{"mode": "strict"}}
	_, err = cl.Apply(ctx, []deploy.Object{ns, cm}, false)
	require.NoError(t, err)
	got, ok, err := cl.Get(ctx, cm)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "strict", got.String("data.mode"))

	_, err = cl.Apply(ctx, []deploy.Object{{"apiVersion": "v1", "kind": "Gadget", "metadata": map[string]any{"name": "x"}}}, false)
	require.Equal(t, errs.Invalid, errs.CodeOf(err), "%v", err)
	require.ErrorContains(t, err, "does not serve v1 Gadget")
	_, err = cl.Apply(ctx, []deploy.Object{{"apiVersion": "nowhere.billpay.io/v1", "kind": "Gadget", "metadata": map[string]any{"name": "x"}}}, false)
	require.ErrorContains(t, err, "does not serve nowhere.billpay.io/v1 Gadget")

	// The group version is looked up (and found empty) before its definition exists.
	widget := deploy.Object{"apiVersion": "kinds.billpay.io/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "w1", "namespace": "kinds-test"}, "spec": map[string]any{"size": "large"}}
	_, err = cl.Apply(ctx, []deploy.Object{widget}, false)
	require.ErrorContains(t, err, "does not serve kinds.billpay.io/v1 Widget")
	crd := deploy.Object{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.kinds.billpay.io"},
		"spec": map[string]any{
			"group": "kinds.billpay.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		}}
	_, err = cl.Apply(ctx, []deploy.Object{crd}, false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err = cl.Apply(ctx, []deploy.Object{widget}, false)
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "the custom resource is never served: %v", err)
	got, ok, err = cl.Get(ctx, widget)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "large", got.String("spec.size"))
}
