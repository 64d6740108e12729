// Package charts holds the tests of Portal's Helm chart (infra/charts/portal): Helm's own linter and
// template engine (helm.sh/helm/v3, no helm binary), strict decoding of every rendered object into
// the Kubernetes API types, the rendered portal.yaml loaded by the portal's own config loader, and an
// install into a local control plane with kwok nodes (install_test.go).
package charts

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/billpay/portal/internal/config"
	"github.com/billpay/portal/internal/deploy"
)

const chartDir = "portal"

// environments are the values files shipped beside the chart.
var environments = []string{"dev", "staging", "prod"}

// kubeVersion is the EKS version infra/live deploys (eks.kubernetes_version).
var kubeVersion = &chartutil.KubeVersion{Version: "v1.34.0", Major: "1", Minor: "34"}

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestLint(t *testing.T) {
	for _, env := range append([]string{"defaults"}, environments...) {
		t.Run(env, func(t *testing.T) {
			vals := map[string]any{}
			if env != "defaults" {
				vals = MustReadValues(t, "values-"+env+".yaml")
			}
			l := lint.AllWithKubeVersion(chartDir, vals, "portal", kubeVersion)
			for _, m := range l.Messages {
				// INFO is advice (an icon for the chart repository); warnings and errors fail.
				if m.Severity > support.InfoSev {
					t.Errorf("%s", m)
				}
			}
		})
	}
}

func TestRenderEnvironments(t *testing.T) {
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			vals := MustReadValues(t, "values-"+env+".yaml")
			vals["image"].(map[string]any)["digest"] = testDigest
			objs := MustRender(t, vals)
			want := []string{"ConfigMap/portal", "Deployment/portal", "ExternalSecret/portal",
				"Ingress/portal", "PodDisruptionBudget/portal", "Service/portal", "ServiceAccount/portal"}
			autoscaled := env != "dev"
			if autoscaled {
				want = append(want, "HorizontalPodAutoscaler/portal")
			}
			require.ElementsMatch(t, want, objs.names(), "objects of %s", env)
			for _, o := range objs {
				labels := o.labels()
				require.Equal(t, "portal", labels["backstage.io/kubernetes-id"], "%s: Portal's Kubernetes view finds it by this label", o.name())
				require.Equal(t, "portal", labels["app.kubernetes.io/name"], o.name())
			}

			var d appsv1.Deployment
			objs.MustDecode(t, "Deployment/portal", &d)
			spec := d.Spec.Template.Spec
			c := spec.Containers[0]
			require.True(t, strings.HasSuffix(c.Image, "/portal@"+testDigest), "a digest pins the image: %s", c.Image)
			require.Contains(t, c.Image, map[string]string{"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}[env])
			require.Equal(t, []string{"--config", "/etc/portal/portal.yaml"}, c.Args)
			require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			require.Equal(t, "/healthz", c.StartupProbe.HTTPGet.Path)
			require.Equal(t, int32(7007), c.Ports[0].ContainerPort)
			require.Equal(t, "portal-secrets", c.EnvFrom[0].SecretRef.Name)
			require.NotNil(t, c.Resources.Limits.Memory())
			require.Equal(t, "GOMEMLIMIT", c.Env[0].Name)
			require.True(t, strings.HasSuffix(c.Env[0].Value, "MiB"), c.Env[0].Value)

			// Non-root, read-only root filesystem, no capabilities, no privilege escalation.
			require.True(t, *spec.SecurityContext.RunAsNonRoot)
			require.Equal(t, int64(65532), *spec.SecurityContext.RunAsUser)
			require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, spec.SecurityContext.SeccompProfile.Type)
			require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
			require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
			require.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
			require.False(t, *spec.AutomountServiceAccountToken)
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = m.Name
			}
			require.Equal(t, map[string]string{"/etc/portal": "config", "/data": "data", "/tmp": "tmp"}, mounts)

			// Rolling updates never go below the wanted count, and replicas spread over zones and nodes.
			require.Equal(t, "0", d.Spec.Strategy.RollingUpdate.MaxUnavailable.String())
			keys := []string{}
			for _, tsc := range spec.TopologySpreadConstraints {
				keys = append(keys, tsc.TopologyKey)
			}
			require.Equal(t, []string{"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, keys)
			require.NotEmpty(t, d.Spec.Template.Annotations["checksum/config"])
			require.Greater(t, *spec.TerminationGracePeriodSeconds, int64(20))

			minReplicas := int32(0)
			if autoscaled {
				var hpa autoscalingv2.HorizontalPodAutoscaler
				objs.MustDecode(t, "HorizontalPodAutoscaler/portal", &hpa)
				require.Nil(t, d.Spec.Replicas, "the HPA owns the replica count")
				require.Equal(t, "portal", hpa.Spec.ScaleTargetRef.Name)
				minReplicas = *hpa.Spec.MinReplicas
			} else {
				minReplicas = *d.Spec.Replicas
			}
			require.GreaterOrEqual(t, minReplicas, int32(2), "several replicas")

			var pdb policyv1.PodDisruptionBudget
			objs.MustDecode(t, "PodDisruptionBudget/portal", &pdb)
			require.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels)
			if env == "prod" {
				require.Equal(t, "2", pdb.Spec.MinAvailable.String())
				require.Less(t, int32(pdb.Spec.MinAvailable.IntValue()), minReplicas, "a drain can always make progress")
			}

			var sa corev1.ServiceAccount
			objs.MustDecode(t, "ServiceAccount/portal", &sa)
			if env == "prod" {
				require.Equal(t, "arn:aws:iam::333333333333:role/billpay-portal", sa.Annotations["eks.amazonaws.com/role-arn"])
			}

			var ing networkingv1.Ingress
			objs.MustDecode(t, "Ingress/portal", &ing)
			require.Equal(t, "alb", *ing.Spec.IngressClassName)
			require.Equal(t, "ip", ing.Annotations["alb.ingress.kubernetes.io/target-type"])
			require.Equal(t, "/readyz", ing.Annotations["alb.ingress.kubernetes.io/healthcheck-path"])
			require.Equal(t, "portal", ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name)

			var svc corev1.Service
			objs.MustDecode(t, "Service/portal", &svc)
			require.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector)

			es := objs.get(t, "ExternalSecret/portal")
			require.Equal(t, "portal/runtime", dig(es, "spec", "dataFrom", 0, "extract", "key"))
			require.Equal(t, "portal-secrets", dig(es, "spec", "target", "name"))

			// The rendered portal.yaml is valid for the portal itself, with secrets from the environment.
			var cm corev1.ConfigMap
			objs.MustDecode(t, "ConfigMap/portal", &cm)
			cfg := MustLoadConfig(t, cm.Data["portal.yaml"], "PORTAL_DATABASE_URL=postgres://portal@db:5432/portal")
			require.Equal(t, ":7007", cfg.Listen)
			require.Equal(t, "/data", cfg.DataDir)
			require.False(t, cfg.Auth.Guest, "no guest access in a cluster")
			require.Contains(t, cfg.BaseURL, "https://portal.")
			// Several replicas share TechDocs through the bucket infra/ creates for the environment.
			require.Equal(t, "awsS3", cfg.TechDocs.Publisher)
			require.Equal(t, map[string]string{"dev": "billpay-dev-techdocs", "staging": "billpay-staging-techdocs", "prod": "billpay-techdocs"}[env], cfg.TechDocs.S3.Bucket)
		})
	}
}

func TestRenderSecretModes(t *testing.T) {
	base := func(mode string) map[string]any {
		return map[string]any{"secrets": map[string]any{"mode": mode}}
	}
	t.Run("CSI", func(t *testing.T) {
		objs := MustRender(t, base("csi"))
		spc := objs.get(t, "SecretProviderClass/portal")
		require.Equal(t, "aws", dig(spc, "spec", "provider"))
		require.Contains(t, dig(spc, "spec", "parameters", "objects"), `objectName: "portal/runtime"`)
		require.Equal(t, "portal-secrets", dig(spc, "spec", "secretObjects", 0, "secretName"))
		var d appsv1.Deployment
		objs.MustDecode(t, "Deployment/portal", &d)
		// The driver syncs the Secret only while a pod mounts the volume.
		require.Equal(t, "portal", d.Spec.Template.Spec.Volumes[3].CSI.VolumeAttributes["secretProviderClass"])
		require.Equal(t, "portal-secrets", d.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name)
	})
	t.Run("Secret", func(t *testing.T) {
		vals := base("secret")
		vals["secrets"].(map[string]any)["values"] = map[string]any{"PORTAL_DATABASE_URL": "postgres://x@db/portal"}
		objs := MustRender(t, vals)
		var s corev1.Secret
		objs.MustDecode(t, "Secret/portal-secrets", &s)
		require.Equal(t, "postgres://x@db/portal", s.StringData["PORTAL_DATABASE_URL"])
		require.NotContains(t, objs.names(), "ExternalSecret/portal")
	})
	t.Run("SecretKeysAreVariables", func(t *testing.T) {
		vals := base("secret")
		vals["secrets"].(map[string]any)["values"] = map[string]any{"database_url": "x"}
		_, err := Render(t, vals)
		require.ErrorContains(t, err, "database_url")
	})
	t.Run("Existing", func(t *testing.T) {
		vals := base("existing")
		vals["secrets"].(map[string]any)["existingSecret"] = "portal-runtime"
		objs := MustRender(t, vals)
		var d appsv1.Deployment
		objs.MustDecode(t, "Deployment/portal", &d)
		require.Equal(t, "portal-runtime", d.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name)
	})
	t.Run("None", func(t *testing.T) {
		objs := MustRender(t, base("none"))
		var d appsv1.Deployment
		objs.MustDecode(t, "Deployment/portal", &d)
		require.Empty(t, d.Spec.Template.Spec.Containers[0].EnvFrom)
	})
}

// TestDeployValues renders the repository's deploy/values files as the release passes them
// (--set-file deployValues.<env>=deploy/values/<env>.yaml) and checks that Portal finds them.
func TestDeployValues(t *testing.T) {
	files, err := filepath.Glob("../../deploy/values/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	dv := map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		dv[strings.TrimSuffix(filepath.Base(f), ".yaml")] = string(data)
	}
	objs := MustRender(t, map[string]any{"deployValues": dv})
	var cm corev1.ConfigMap
	objs.MustDecode(t, "ConfigMap/portal-deploy-values", &cm)
	for name, text := range dv {
		require.Equal(t, text, cm.Data[name+".yaml"], "deploy values for %s survive the template unchanged", name)
		_, err := deploy.ParseValuesFile(name+".yaml", []byte(cm.Data[name+".yaml"]))
		require.NoError(t, err, "Portal reads the mounted %s.yaml", name)
	}
	var portal corev1.ConfigMap
	objs.MustDecode(t, "ConfigMap/portal", &portal)
	cfg := MustLoadConfig(t, portal.Data["portal.yaml"])
	require.Equal(t, "/etc/portal-deploy-values", cfg.Deploy.ValuesDir)
	var d appsv1.Deployment
	objs.MustDecode(t, "Deployment/portal", &d)
	mounted := false
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounted = mounted || (m.Name == "deploy-values" && m.MountPath == cfg.Deploy.ValuesDir)
	}
	require.True(t, mounted, "the deploy values are mounted where portal.yaml says")
	require.NotEmpty(t, d.Spec.Template.Annotations["checksum/deploy-values"])
}

func TestValuesSchemaRejectsMistakes(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"UnknownKey":    {"replicas": 3},
		"BadDigest":     {"image": map[string]any{"digest": "latest"}},
		"BadSecretMode": {"secrets": map[string]any{"mode": "vault"}},
		"BadRoleArn":    {"serviceAccount": map[string]any{"roleArn": "billpay-portal"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Render(t, vals)
			require.Error(t, err)
		})
	}
}

func TestReplicaCountWithoutAutoscaling(t *testing.T) {
	objs := MustRender(t, map[string]any{"autoscaling": map[string]any{"enabled": false}, "replicaCount": 3})
	var d appsv1.Deployment
	objs.MustDecode(t, "Deployment/portal", &d)
	require.Equal(t, int32(3), *d.Spec.Replicas)
	require.NotContains(t, objs.names(), "HorizontalPodAutoscaler/portal")
}

// object is one rendered manifest.
type object map[string]any

func (o object) name() string {
	return fmt.Sprintf("%s/%s", o["kind"], dig(o, "metadata", "name"))
}

func (o object) labels() map[string]any {
	m, _ := dig(o, "metadata", "labels").(map[string]any)
	return m
}

type objects []object

func (os objects) names() []string {
	var out []string
	for _, o := range os {
		out = append(out, o.name())
	}
	sort.Strings(out)
	return out
}

func (os objects) get(t *testing.T, name string) object {
	t.Helper()
	for _, o := range os {
		if o.name() == name {
			return o
		}
	}
	t.Fatalf("no %s among %v", name, os.names())
	return nil
}

// MustDecode decodes the named object into a Kubernetes API type, failing on unknown fields, so a
// misspelt or misplaced field in a template is an error here rather than silently dropped by the
// API server.
func (os objects) MustDecode(t *testing.T, name string, into any) {
	t.Helper()
	data, err := yaml.Marshal(os.get(t, name))
	require.NoError(t, err)
	require.NoError(t, yaml.UnmarshalStrict(data, into), name)
}

// Render renders the chart with the given values over the defaults, validated against
// values.schema.json, as `helm template` does.
func Render(t *testing.T, vals map[string]any) (objects, error) {
	t.Helper()
	ch := MustLoadChart(t)
	rv, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals,
		chartutil.ReleaseOptions{Name: "portal", Namespace: "portal", Revision: 1, IsInstall: true},
		&chartutil.Capabilities{KubeVersion: *kubeVersion, APIVersions: chartutil.DefaultVersionSet}, false)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	return parseManifests(t, files), nil
}

func MustRender(t *testing.T, vals map[string]any) objects {
	t.Helper()
	objs, err := Render(t, vals)
	require.NoError(t, err)
	return objs
}

func parseManifests(t *testing.T, files map[string]string) objects {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out objects
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(files[n], "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var o object
			require.NoError(t, yaml.Unmarshal([]byte(doc), &o), "%s:\n%s", n, doc)
			if len(o) == 0 {
				continue
			}
			out = append(out, o)
		}
	}
	return out
}

func MustLoadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	require.NoError(t, err)
	return ch
}

func MustReadValues(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, name))
	require.NoError(t, err)
	vals := map[string]any{}
	require.NoError(t, yaml.Unmarshal(data, &vals))
	return vals
}

// MustLoadConfig loads a rendered portal.yaml with the portal's own loader (unknown keys and invalid
// values are errors there too).
func MustLoadConfig(t *testing.T, portalYAML string, environ ...string) config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "portal.yaml")
	require.NoError(t, os.WriteFile(p, []byte(portalYAML), 0o644))
	cfg, err := config.Load(p, environ)
	require.NoError(t, err, "rendered portal.yaml:\n%s", portalYAML)
	return cfg
}

// dig walks maps by key and lists by index.
func dig(v any, path ...any) any {
	if o, ok := v.(object); ok {
		v = map[string]any(o)
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
