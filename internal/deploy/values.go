package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"

	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/errs"
)

// ValuesFile is an environment's values file (deploy/values/<environment>.yaml): settings for every component,
// and per component overrides, deep-merged in that order.
//
//	defaults:
//	  replicas: 2
//	  ingress: {enabled: true, scheme: internal, hostSuffix: dev.billpay.example.com}
//	components:
//	  payment-service:
//	    replicas: 3
//	    env: {SPRING_PROFILES_ACTIVE: dev}
type ValuesFile struct {
	Defaults   map[string]any            `yaml:"defaults"`
	Components map[string]map[string]any `yaml:"components"`
}

// ParseValuesFile reads a values file and checks every section against Values, naming the bad key.
func ParseValuesFile(name string, data []byte) (ValuesFile, error) {
	var f ValuesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return ValuesFile{}, errs.E(errs.Invalid, "values file %s: %v", name, err)
	}
	if _, err := decodeValues(f.Defaults); err != nil {
		return ValuesFile{}, errs.E(errs.Invalid, "values file %s: defaults: %v", name, err)
	}
	for c, v := range f.Components {
		if _, err := decodeValues(mergeMaps(f.Defaults, v)); err != nil {
			return ValuesFile{}, errs.E(errs.Invalid, "values file %s: components.%s: %v", name, c, err)
		}
	}
	return f, nil
}

// Values are the settings the manifests are rendered from.
type Values struct {
	// Replicas is the Deployment's replica count when autoscaling is off.
	Replicas int32 `yaml:"replicas"`
	// Port is the container port; the Service exposes it on port 80.
	Port int32 `yaml:"port"`
	// HealthPath is polled by the readiness and liveness probes and the ALB health check.
	HealthPath string            `yaml:"healthPath"`
	Env        map[string]string `yaml:"env"`
	Resources  struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	Autoscaling struct {
		Enabled     bool  `yaml:"enabled"`
		MinReplicas int32 `yaml:"minReplicas"`
		MaxReplicas int32 `yaml:"maxReplicas"`
		// TargetCPU is the average CPU utilisation, in percent of requests, the HPA aims for.
		TargetCPU int32 `yaml:"targetCPU"`
	} `yaml:"autoscaling"`
	PodDisruptionBudget struct {
		Enabled bool `yaml:"enabled"`
		// MinAvailable is a count ("1") or a percentage ("50%").
		MinAvailable string `yaml:"minAvailable"`
	} `yaml:"podDisruptionBudget"`
	// ProgressDeadlineSeconds is how long a rollout may go without progress before it fails.
	ProgressDeadlineSeconds int32 `yaml:"progressDeadlineSeconds"`
	ServiceAccount          struct {
		// RoleName is the IAM role the pods assume (IRSA annotation; with EKS Pod Identity the association
		// names the same role).
		RoleName string `yaml:"roleName"`
	} `yaml:"serviceAccount"`
	Ingress struct {
		Enabled bool `yaml:"enabled"`
		// Host is the full host name; when empty it is <name>.<hostSuffix>.
		Host       string `yaml:"host"`
		HostSuffix string `yaml:"hostSuffix"`
		Path       string `yaml:"path"`
		// Scheme is internal or internet-facing.
		Scheme         string `yaml:"scheme"`
		CertificateARN string `yaml:"certificateArn"`
		// GroupName shares one ALB among the environment's Ingresses.
		GroupName string `yaml:"groupName"`
	} `yaml:"ingress"`
	NodeSelector map[string]string `yaml:"nodeSelector"`
}

// builtinValues apply under every values file.
var builtinValues = map[string]any{
	"replicas": 2, "port": 8080, "healthPath": "/healthz", "progressDeadlineSeconds": 300,
	"resources": map[string]any{
		"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
		"limits":   map[string]any{"memory": "256Mi"},
	},
	"autoscaling":         map[string]any{"enabled": false, "minReplicas": 2, "maxReplicas": 6, "targetCPU": 70},
	"podDisruptionBudget": map[string]any{"enabled": true, "minAvailable": "1"},
	"ingress":             map[string]any{"enabled": false, "path": "/", "scheme": "internal"},
}

// For returns the values of one component: built-in defaults, the file's defaults, the component's section and
// finally overrides (from the component's annotations), deep-merged.
func (f ValuesFile) For(component string, overrides map[string]any) (Values, error) {
	merged := mergeMaps(mergeMaps(mergeMaps(builtinValues, f.Defaults), f.Components[component]), overrides)
	v, err := decodeValues(merged)
	if err != nil {
		return Values{}, errs.E(errs.Invalid, "values for %s: %v", component, err)
	}
	switch {
	case v.Port <= 0 || v.Port > 65535:
		return v, errs.E(errs.Invalid, "values for %s: port %d is not a TCP port", component, v.Port)
	case v.Autoscaling.Enabled && (v.Autoscaling.MinReplicas < 1 || v.Autoscaling.MaxReplicas < v.Autoscaling.MinReplicas):
		return v, errs.E(errs.Invalid, "values for %s: autoscaling needs 1 <= minReplicas <= maxReplicas", component)
	case v.Replicas < 0:
		return v, errs.E(errs.Invalid, "values for %s: replicas must not be negative", component)
	case v.Ingress.Scheme != "internal" && v.Ingress.Scheme != "internet-facing":
		return v, errs.E(errs.Invalid, "values for %s: ingress.scheme %q is not internal or internet-facing", component, v.Ingress.Scheme)
	}
	return v, nil
}

func decodeValues(m map[string]any) (Values, error) {
	var v Values
	data, err := yaml.Marshal(m)
	if err != nil {
		return v, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&v); err != nil && !errors.Is(err, io.EOF) {
		return v, fmt.Errorf("%v", err)
	}
	return v, nil
}

// mergeMaps returns base with over laid on top; nested maps merge, everything else is replaced.
func mergeMaps(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		if om, ok := v.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}
