package deploy

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/billpay/portal/internal/catalog"
	"github.com/billpay/portal/internal/errs"
)

// Annotations a Component uses to describe its deploys. The Backstage ones are read as the Kubernetes plugin
// reads them, so the portal finds what it deployed the way Backstage would.
const (
	AnnotationKubernetesID        = "backstage.io/kubernetes-id"
	AnnotationKubernetesNamespace = "backstage.io/kubernetes-namespace"
	AnnotationKubernetesSelector  = "backstage.io/kubernetes-label-selector"
	// AnnotationECRRepository names the component's ECR repository (default: the component's name).
	AnnotationECRRepository = "billpay.io/ecr-repository"
	// AnnotationPort, AnnotationHealthPath and AnnotationIAMRole override the values file. AnnotationIAMRole (like a
	// values file's serviceAccount.roleName) is a role name, which is a role under the environment's RolePath, where
	// provisioning creates it, or a full role ARN, which is used as it is (for a role Portal does not provision).
	AnnotationPort       = "billpay.io/port"
	AnnotationHealthPath = "billpay.io/health-path"
	AnnotationIAMRole    = "billpay.io/iam-role"
)

// Labels on every object the portal renders.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelEnv       = "billpay.io/environment"
	// ManagedBy is the managed-by label's value and the server-side apply field manager.
	ManagedBy = "billpay-portal"
	// AnnotationRelease on the Deployment names the release that last applied it.
	AnnotationRelease = "billpay.io/release"
)

// Component is what deploys need to know of a catalog Component.
type Component struct {
	Ref         string
	Name        string
	Owner       string
	System      string
	Type        string
	Annotations map[string]string
}

// ComponentFromEntity reads a Component entity's JSON. It returns errs.Invalid for other kinds.
func ComponentFromEntity(raw []byte) (Component, error) {
	var e catalog.Entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return Component{}, errs.Wrap(errs.Internal, err, "cannot read entity: %v", err)
	}
	ref := e.Ref().String()
	if !strings.EqualFold(e.Kind(), "Component") {
		return Component{}, errs.E(errs.Invalid, "%s is not a Component; only Components are deployed", ref)
	}
	c := Component{Ref: ref, Name: e.Name(), Annotations: map[string]string{}}
	spec := e.Spec()
	c.Owner = normaliseEntityRef(stringOf(spec["owner"]), "group", e.Namespace())
	if s := stringOf(spec["system"]); s != "" {
		_, _, c.System = normaliseRef(s, "system")
	}
	c.Type = stringOf(spec["type"])
	if a, ok := e.Metadata()["annotations"].(map[string]any); ok {
		for k, v := range a {
			if s, ok := v.(string); ok {
				c.Annotations[k] = s
			}
		}
	}
	return c, nil
}

func stringOf(v any) string { s, _ := v.(string); return s }

func normaliseEntityRef(ref, defaultKind, defaultNamespace string) string {
	if ref == "" {
		return ""
	}
	kind, ns, name := normaliseRef(ref, defaultKind)
	if !strings.Contains(ref, "/") {
		ns = strings.ToLower(defaultNamespace)
	}
	return kind + ":" + ns + "/" + name
}

// KubernetesID is the name of the component's workload and the value of its backstage.io/kubernetes-id label.
func (c Component) KubernetesID() string {
	if id := c.Annotations[AnnotationKubernetesID]; id != "" {
		return id
	}
	return c.Name
}

// LabelSelector finds the component's objects, as Backstage's Kubernetes plugin finds them.
func (c Component) LabelSelector() string {
	if s := c.Annotations[AnnotationKubernetesSelector]; s != "" {
		return s
	}
	return AnnotationKubernetesID + "=" + c.KubernetesID()
}

// Namespace is where the component runs in env.
func (c Component) Namespace(env Environment) string {
	if ns := c.Annotations[AnnotationKubernetesNamespace]; ns != "" {
		return ns
	}
	if env.Namespace != "" {
		return env.Namespace
	}
	return "default"
}

// Repository is the component's ECR repository name.
func (c Component) Repository() string {
	if r := c.Annotations[AnnotationECRRepository]; r != "" {
		return r
	}
	return c.Name
}

// valueOverrides are the values the component's own annotations set.
func (c Component) valueOverrides() (map[string]any, error) {
	out := map[string]any{}
	if p := c.Annotations[AnnotationPort]; p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, errs.E(errs.Invalid, "%s: annotation %s=%q is not a port number", c.Ref, AnnotationPort, p)
		}
		out["port"] = n
	}
	if h := c.Annotations[AnnotationHealthPath]; h != "" {
		out["healthPath"] = h
	}
	if r := c.Annotations[AnnotationIAMRole]; r != "" {
		out["serviceAccount"] = map[string]any{"roleName": r}
	}
	return out, nil
}

// Render returns the objects that run component c with image in env: ServiceAccount, Service, Deployment,
// HorizontalPodAutoscaler and PodDisruptionBudget when enabled, and an ALB Ingress when enabled, in the order
// they are applied. The output depends on nothing else, so a release can store and re-apply it exactly.
func Render(c Component, env Environment, image Image, releaseID int64) ([]Object, error) {
	overrides, err := c.valueOverrides()
	if err != nil {
		return nil, err
	}
	v, err := env.Values.For(c.Name, overrides)
	if err != nil {
		return nil, err
	}
	name := c.KubernetesID()
	if !validDNSLabel(name) {
		return nil, errs.E(errs.Invalid, "%s: %q is not a valid Kubernetes name (lowercase letters, digits and dashes, at most 63)", c.Ref, name)
	}
	ns := c.Namespace(env)
	labels := map[string]any{
		LabelName: name, LabelManagedBy: ManagedBy, LabelEnv: env.Name, AnnotationKubernetesID: name,
	}
	if c.System != "" {
		labels[LabelPartOf] = c.System
	}
	meta := func(kind string, annotations map[string]any) map[string]any {
		m := map[string]any{"name": name, "namespace": ns, "labels": copyMap(labels)}
		if len(annotations) > 0 {
			m["annotations"] = annotations
		}
		return m
	}
	selector := map[string]any{LabelName: name}

	var objs []Object
	saAnnotations := map[string]any{}
	if r := v.ServiceAccount.RoleName; r != "" {
		if !isARN(r) {
			r = RoleARN(env, env.RolePath, r)
		}
		saAnnotations["eks.amazonaws.com/role-arn"] = r
	}
	objs = append(objs, Object{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("ServiceAccount", saAnnotations)})

	objs = append(objs, Object{"apiVersion": "v1", "kind": "Service", "metadata": meta("Service", nil), "spec": map[string]any{
		"type":     "ClusterIP",
		"selector": selector,
		"ports":    []any{map[string]any{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}},
	}})

	envVars := []any{
		map[string]any{"name": "AWS_REGION", "value": env.Region},
		map[string]any{"name": "BILLPAY_ENVIRONMENT", "value": env.Name},
	}
	keys := make([]string, 0, len(v.Env))
	for k := range v.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		envVars = append(envVars, map[string]any{"name": k, "value": v.Env[k]})
	}
	probe := func(initial int) map[string]any {
		return map[string]any{
			"httpGet":             map[string]any{"path": v.HealthPath, "port": "http"},
			"initialDelaySeconds": initial, "periodSeconds": 10, "failureThreshold": 3,
		}
	}
	container := map[string]any{
		"name": name, "image": image.Ref(), "imagePullPolicy": "IfNotPresent",
		"ports":          []any{map[string]any{"name": "http", "containerPort": v.Port, "protocol": "TCP"}},
		"env":            envVars,
		"readinessProbe": probe(5),
		"livenessProbe":  probe(30),
		"securityContext": map[string]any{
			"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
			"capabilities": map[string]any{"drop": []any{"ALL"}},
		},
	}
	if res := resources(v); len(res) > 0 {
		container["resources"] = res
	}
	podSpec := map[string]any{
		"serviceAccountName": name,
		"containers":         []any{container},
		"securityContext":    map[string]any{"runAsNonRoot": true, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
		"topologySpreadConstraints": []any{map[string]any{
			"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
			"labelSelector": map[string]any{"matchLabels": selector},
		}},
	}
	if len(v.NodeSelector) > 0 {
		ns := map[string]any{}
		for k, val := range v.NodeSelector {
			ns[k] = val
		}
		podSpec["nodeSelector"] = ns
	}
	depSpec := map[string]any{
		"selector":                map[string]any{"matchLabels": selector},
		"progressDeadlineSeconds": v.ProgressDeadlineSeconds,
		"revisionHistoryLimit":    10,
		"strategy": map[string]any{"type": "RollingUpdate",
			"rollingUpdate": map[string]any{"maxUnavailable": 0, "maxSurge": "25%"}},
		"template": map[string]any{
			"metadata": map[string]any{"labels": copyMap(labels)},
			"spec":     podSpec,
		},
	}
	// With an HPA the replica count is the HPA's: a deploy that set it would undo every scale-out.
	if !v.Autoscaling.Enabled {
		depSpec["replicas"] = v.Replicas
	}
	depAnnotations := map[string]any{"billpay.io/image-tag": image.Tag}
	if releaseID > 0 {
		depAnnotations[AnnotationRelease] = strconv.FormatInt(releaseID, 10)
	}
	objs = append(objs, Object{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("Deployment", depAnnotations), "spec": depSpec})

	if v.Autoscaling.Enabled {
		objs = append(objs, Object{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("HorizontalPodAutoscaler", nil),
			"spec": map[string]any{
				"scaleTargetRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
				"minReplicas":    v.Autoscaling.MinReplicas, "maxReplicas": v.Autoscaling.MaxReplicas,
				"metrics": []any{map[string]any{"type": "Resource", "resource": map[string]any{
					"name": "cpu", "target": map[string]any{"type": "Utilization", "averageUtilization": v.Autoscaling.TargetCPU}}}},
			}})
	}
	if v.PodDisruptionBudget.Enabled {
		objs = append(objs, Object{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("PodDisruptionBudget", nil),
			"spec": map[string]any{"selector": map[string]any{"matchLabels": selector}, "minAvailable": intOrString(v.PodDisruptionBudget.MinAvailable)}})
	}
	if v.Ingress.Enabled {
		host := v.Ingress.Host
		if host == "" && v.Ingress.HostSuffix != "" {
			host = name + "." + v.Ingress.HostSuffix
		}
		ann := map[string]any{
			"alb.ingress.kubernetes.io/scheme":           v.Ingress.Scheme,
			"alb.ingress.kubernetes.io/target-type":      "ip",
			"alb.ingress.kubernetes.io/healthcheck-path": v.HealthPath,
		}
		if v.Ingress.CertificateARN != "" {
			ann["alb.ingress.kubernetes.io/certificate-arn"] = v.Ingress.CertificateARN
			ann["alb.ingress.kubernetes.io/listen-ports"] = `[{"HTTP":80},{"HTTPS":443}]`
			ann["alb.ingress.kubernetes.io/ssl-redirect"] = "443"
		} else {
			ann["alb.ingress.kubernetes.io/listen-ports"] = `[{"HTTP":80}]`
		}
		if v.Ingress.GroupName != "" {
			ann["alb.ingress.kubernetes.io/group.name"] = v.Ingress.GroupName
		}
		rule := map[string]any{"http": map[string]any{"paths": []any{map[string]any{
			"path": v.Ingress.Path, "pathType": "Prefix",
			"backend": map[string]any{"service": map[string]any{"name": name, "port": map[string]any{"name": "http"}}},
		}}}}
		if host != "" {
			rule["host"] = host
		}
		objs = append(objs, Object{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("Ingress", ann),
			"spec": map[string]any{"ingressClassName": "alb", "rules": []any{rule}}})
	}
	// Through JSON once, so stored, rendered and compared objects all have the same number types.
	for i := range objs {
		objs[i] = objs[i].Clone()
	}
	return objs, nil
}

func resources(v Values) map[string]any {
	out := map[string]any{}
	for name, m := range map[string]map[string]string{"requests": v.Resources.Requests, "limits": v.Resources.Limits} {
		if len(m) == 0 {
			continue
		}
		r := map[string]any{}
		for k, q := range m {
			r[k] = q
		}
		out[name] = r
	}
	return out
}

func intOrString(s string) any {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func validDNSLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// workload returns the Deployment among objs.
func workload(objs []Object) (Object, bool) {
	for _, o := range objs {
		if o.Kind() == "Deployment" {
			return o, true
		}
	}
	return nil, false
}
