package charts

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/billpay/portal/internal/kube/kubetest"
)

// TestInstall installs the chart with Helm's own install and upgrade actions into a real control
// plane (kube-apiserver, controller-manager, scheduler, kwok nodes that run pods without
// containers, from scripts/kube-testenv.sh), waits for the rollout to become healthy, upgrades it,
// and checks that a release whose rollout cannot finish is rolled back, as release.yml relies on.
// kwok runs no containers, so probes and the image itself are not exercised here (build/image's
// test runs the binary from the image).
func TestInstall(t *testing.T) {
	env := MustControlPlane(t)
	ch := MustLoadChart(t)
	kc := MustHelm(t, env.Kubeconfig, "portal")
	cs := MustClientset(t, env.Kubeconfig)
	ctx := context.Background()

	vals := func(digest string, extra map[string]any) map[string]any {
		v := map[string]any{
			"image":        map[string]any{"digest": digest},
			"replicaCount": 3,
			"autoscaling":  map[string]any{"enabled": false},
			"secrets": map[string]any{"mode": "secret", "values": map[string]any{
				"PORTAL_DATABASE_URL": "postgres://portal@postgres.portal:5432/portal",
				"PORTAL_AUTH_TOKENS":  `[{"token":"0123456789abcdef0123","subject":"ci"}]`,
			}},
		}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	digestA := "sha256:" + strings.Repeat("a", 64)
	digestB := "sha256:" + strings.Repeat("b", 64)

	t.Run("Install", func(t *testing.T) {
		inst := action.NewInstall(kc)
		inst.ReleaseName, inst.Namespace, inst.CreateNamespace = "portal", "portal", true
		inst.Wait, inst.Timeout = true, 3*time.Minute
		rel, err := inst.Run(ch, vals(digestA, nil))
		require.NoError(t, err)
		require.Equal(t, release.StatusDeployed, rel.Info.Status)
		d := MustHealthyDeployment(t, cs, "portal", 3)
		require.True(t, strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, "@"+digestA))
		pods, err := cs.CoreV1().Pods("portal").List(ctx, metav1.ListOptions{LabelSelector: "backstage.io/kubernetes-id=portal"})
		require.NoError(t, err)
		require.Len(t, pods.Items, 3, "Portal's Kubernetes view finds the pods by the Backstage label")
		for _, p := range pods.Items {
			require.True(t, *p.Spec.SecurityContext.RunAsNonRoot)
			require.True(t, *p.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem)
		}
		for _, get := range []func() error{
			func() error {
				_, err := cs.CoreV1().Services("portal").Get(ctx, "portal", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := cs.CoreV1().ConfigMaps("portal").Get(ctx, "portal", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := cs.CoreV1().Secrets("portal").Get(ctx, "portal-secrets", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := cs.PolicyV1().PodDisruptionBudgets("portal").Get(ctx, "portal", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := cs.NetworkingV1().Ingresses("portal").Get(ctx, "portal", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := cs.CoreV1().ServiceAccounts("portal").Get(ctx, "portal", metav1.GetOptions{})
				return err
			},
		} {
			require.NoError(t, get())
		}
	})

	t.Run("Upgrade", func(t *testing.T) {
		up := action.NewUpgrade(kc)
		up.Namespace, up.Wait, up.Timeout = "portal", true, 3*time.Minute
		rel, err := up.Run("portal", ch, vals(digestB, nil))
		require.NoError(t, err)
		require.Equal(t, 2, rel.Version)
		d := MustHealthyDeployment(t, cs, "portal", 3)
		require.True(t, strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, "@"+digestB))
	})

	t.Run("FailedRolloutRollsBack", func(t *testing.T) {
		// Pods that no node accepts never become ready: the upgrade times out and --atomic restores
		// the last good revision while the old pods keep serving (maxUnavailable 0).
		up := action.NewUpgrade(kc)
		up.Namespace, up.Atomic, up.Wait, up.Timeout = "portal", true, true, 10*time.Second
		_, err := up.Run("portal", ch, vals(strings.Replace(digestB, "b", "c", 1),
			map[string]any{"nodeSelector": map[string]any{"portal.billpay.example.com/no-such-node": "true"}}))
		require.Error(t, err)
		require.Contains(t, err.Error(), "rolled back")
		hist, err := action.NewHistory(kc).Run("portal")
		require.NoError(t, err)
		last := hist[len(hist)-1]
		require.Equal(t, release.StatusDeployed, last.Info.Status)
		require.Contains(t, last.Info.Description, "Rollback to 2")
		d := MustHealthyDeployment(t, cs, "portal", 3)
		require.True(t, strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, "@"+digestB))
		require.Empty(t, d.Spec.Template.Spec.NodeSelector)
	})

	// Every environment's objects are accepted by the API server (ExternalSecret aside: no
	// operator here, so the plain Secret stands in).
	for _, envName := range environments {
		t.Run("Environment "+envName, func(t *testing.T) {
			v := MustReadValues(t, "values-"+envName+".yaml")
			v["image"].(map[string]any)["digest"] = digestA
			v["secrets"] = map[string]any{"mode": "secret", "values": map[string]any{"PORTAL_DATABASE_URL": "postgres://x@db/portal"}}
			ns := "portal-" + envName
			inst := action.NewInstall(MustHelm(t, env.Kubeconfig, ns))
			inst.ReleaseName, inst.Namespace, inst.CreateNamespace = "portal", ns, true
			rel, err := inst.Run(ch, v)
			require.NoError(t, err)
			require.Equal(t, release.StatusDeployed, rel.Info.Status)
			if envName != "dev" {
				hpa, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "portal", metav1.GetOptions{})
				require.NoError(t, err)
				require.GreaterOrEqual(t, *hpa.Spec.MinReplicas, int32(2))
			}
		})
	}
}

// MustControlPlane starts the local control plane, or skips (fails under CI=true) when its
// binaries are not built.
func MustControlPlane(t *testing.T) *kubetest.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Kubernetes control plane")
	}
	env, err := kubetest.Start(kubetest.Options{})
	if err != nil && !errors.Is(err, kubetest.ErrNotBuilt) {
		// A start can time out on a loaded machine; one more try before failing.
		t.Logf("control plane did not start, trying again: %v", err)
		env, err = kubetest.Start(kubetest.Options{})
	}
	if err != nil {
		if errors.Is(err, kubetest.ErrNotBuilt) && os.Getenv("CI") != "true" {
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("no Kubernetes control plane: %v", err)
	}
	t.Cleanup(env.Stop)
	return env
}

// MustHelm is Helm's action configuration for one namespace of the cluster kubeconfig names,
// with releases stored in Secrets as the helm CLI stores them.
func MustHelm(t *testing.T, kubeconfig, namespace string) *action.Configuration {
	t.Helper()
	settings := cli.New()
	settings.KubeConfig = kubeconfig
	settings.SetNamespace(namespace)
	cfg := new(action.Configuration)
	require.NoError(t, cfg.Init(settings.RESTClientGetter(), namespace, "secret", t.Logf))
	return cfg
}

func MustClientset(t *testing.T, kubeconfig string) *kubernetes.Clientset {
	t.Helper()
	settings := cli.New()
	settings.KubeConfig = kubeconfig
	rc, err := settings.RESTClientGetter().ToRESTConfig()
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)
	return cs
}

// MustHealthyDeployment waits until the Deployment's rollout is complete by the rules kubectl
// rollout status uses: the controller saw the latest spec, and every replica is updated and available.
func MustHealthyDeployment(t *testing.T, cs *kubernetes.Clientset, ns string, replicas int32) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	require.Eventually(t, func() bool {
		var err error
		d, err = cs.AppsV1().Deployments(ns).Get(context.Background(), "portal", metav1.GetOptions{})
		if err != nil {
			return false
		}
		s := d.Status
		return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == replicas && s.Replicas == replicas &&
			s.AvailableReplicas == replicas && s.ReadyReplicas == replicas
	}, 3*time.Minute, 200*time.Millisecond, "deployment portal never became healthy")
	return d
}
