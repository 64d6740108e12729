package deploy_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const paymentService = `{"apiVersion":"backstage.io/v1alpha1","kind":"Component",
  "metadata":{"name":"payment-service","namespace":"default","annotations":{
    "backstage.io/kubernetes-id":"payment-service","backstage.io/kubernetes-namespace":"billpay",
    "billpay.io/iam-role":"billpay-payment-service"}},
  "spec":{"type":"service","lifecycle":"production","owner":"group:payments-team","system":"payments"}}`

func mustValues(t *testing.T, path string) deploy.ValuesFile {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	v, err := deploy.ParseValuesFile(path, data)
	require.NoError(t, err)
	return v
}

// TestRender renders payment-service with the shipped values of every environment and compares with golden files
// (go test ./internal/deploy -update rewrites them).
func TestRender(t *testing.T) {
	comp, err := deploy.ComponentFromEntity([]byte(paymentService))
	require.NoError(t, err)
	require.Equal(t, "group:default/payments-team", comp.Owner)
	for _, env := range []string{"dev", "staging", "prod"} {
		t.Run(env, func(t *testing.T) {
			e := deploy.Environment{Name: env, Region: "us-east-1", Account: "333333333333", Cluster: "billpay-eks-cluster", Namespace: "billpay",
				Registry: "333333333333.dkr.ecr.us-east-1.amazonaws.com", Values: mustValues(t, "../../deploy/values/"+env+".yaml")}
			img := deploy.Image{Repository: e.Registry + "/payment-service", Tag: "1.4.2", Digest: "sha256:" + strings.Repeat("ab", 32)}
			objs, err := deploy.Render(comp, e, img, 0)
			require.NoError(t, err)
			var out strings.Builder
			for _, o := range objs {
				data, err := yaml.Marshal(map[string]any(o))
				require.NoError(t, err)
				out.WriteString("---\n")
				out.Write(data)
			}
			golden := filepath.Join("testdata", "render-payment-service-"+env+".yaml")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(out.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), out.String())
		})
	}
}

func TestRenderRules(t *testing.T) {
	comp, err := deploy.ComponentFromEntity([]byte(paymentService))
	require.NoError(t, err)
	env := deploy.Environment{Name: "prod", Account: "333333333333", Values: mustValues(t, "../../deploy/values/prod.yaml")}
	objs, err := deploy.Render(comp, env, deploy.Image{Repository: "r/payment-service", Tag: "1", Digest: "sha256:1"}, 0)
	require.NoError(t, err)
	kinds := []string{}
	for _, o := range objs {
		kinds = append(kinds, o.Kind())
		require.Equal(t, "payment-service", o.Metadata()["labels"].(map[string]any)["backstage.io/kubernetes-id"], o.Key())
		require.Equal(t, "billpay", o.Namespace())
	}
	require.Equal(t, []string{"ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"}, kinds)
	dep := objs[2]
	require.Nil(t, dep.Path("spec.replicas"), "the HPA owns replicas")
	require.Equal(t, "r/payment-service@sha256:1", dep.Path("spec.template.spec.containers").([]any)[0].(map[string]any)["image"])
	require.Equal(t, "internet-facing", objs[5].Metadata()["annotations"].(map[string]any)["alb.ingress.kubernetes.io/scheme"])
	require.Equal(t, "arn:aws:iam::333333333333:role/billpay/services/billpay-payment-service",
		objs[0].Metadata()["annotations"].(map[string]any)["eks.amazonaws.com/role-arn"], "the role provisioning creates, under its path")

	t.Run("ErrNotAComponent", func(t *testing.T) {
		_, err := deploy.ComponentFromEntity([]byte(`{"kind":"API","metadata":{"name":"x"}}`))
		require.True(t, errs.Is(err, errs.Invalid))
	})
	t.Run("ErrBadValues", func(t *testing.T) {
		_, err := deploy.ParseValuesFile("dev.yaml", []byte("defaults: {replica: 2}\n"))
		require.ErrorContains(t, err, "field replica not found")
		_, err = deploy.ParseValuesFile("dev.yaml", []byte("components: {x: {ingress: {scheme: public}}}\n"))
		require.NoError(t, err)
		v, _ := deploy.ParseValuesFile("dev.yaml", []byte("components: {x: {ingress: {scheme: public}}}\n"))
		_, err = v.For("x", nil)
		require.ErrorContains(t, err, `ingress.scheme "public"`)
	})
}

// TestRenderRoleARN: the ServiceAccount names the role by the ARN provisioning gives it (the environment's role path
// and partition), unless the component names a role by its full ARN.
func TestRenderRoleARN(t *testing.T) {
	roleARN := func(t *testing.T, env deploy.Environment, annotations map[string]string, values string) string {
		t.Helper()
		comp := deploy.Component{Ref: "component:default/ledger", Name: "ledger", Annotations: annotations}
		if values == "" {
			values = "defaults: {}\n"
		}
		v, err := deploy.ParseValuesFile("env.yaml", []byte(values))
		require.NoError(t, err)
		env.Values = v
		objs, err := deploy.Render(comp, env, deploy.Image{Repository: "r/ledger", Tag: "1", Digest: "sha256:1"}, 0)
		require.NoError(t, err)
		require.Equal(t, "ServiceAccount", objs[0].Kind())
		a, _ := objs[0].Metadata()["annotations"].(map[string]any)
		s, _ := a["eks.amazonaws.com/role-arn"].(string)
		return s
	}
	dev := deploy.Environment{Name: "dev", Region: "us-east-1", Account: "111111111111", Namespace: "billpay"}
	role := map[string]string{deploy.AnnotationIAMRole: "billpay-ledger"}

	require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/billpay-ledger", roleARN(t, dev, role, ""), "default path")
	configured := dev
	configured.RolePath = "/svc/"
	require.Equal(t, "arn:aws:iam::111111111111:role/svc/billpay-ledger", roleARN(t, configured, role, ""))
	china := dev
	china.Region, china.Account = "cn-north-1", "444444444444"
	require.Equal(t, "arn:aws-cn:iam::444444444444:role/billpay/services/billpay-ledger", roleARN(t, china, role, ""))
	require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/from-values",
		roleARN(t, dev, nil, "components: {ledger: {serviceAccount: {roleName: from-values}}}\n"), "a values file's name")

	full := "arn:aws:iam::222222222222:role/billpay-dev-ledger"
	require.Equal(t, full, roleARN(t, configured, map[string]string{deploy.AnnotationIAMRole: full}, ""), "a full ARN as it is")
	require.Empty(t, roleARN(t, dev, nil, ""), "no role named: Pod Identity alone")
}

func TestDeploymentHealth(t *testing.T) {
	dep := func(status string) deploy.Object {
		var o deploy.Object
		require.NoError(t, yaml.Unmarshal([]byte("metadata: {generation: 2}\nspec: {replicas: 2, progressDeadlineSeconds: 60}\nstatus: "+status), &o))
		return deploy.Object(o).Clone()
	}
	for _, c := range []struct {
		name, status string
		want         deploy.Health
		msg          string
	}{
		{"ControllerBehind", "{observedGeneration: 1}", deploy.HealthProgressing, "observe generation 2"},
		{"Updating", "{observedGeneration: 2, replicas: 2, updatedReplicas: 1}", deploy.HealthProgressing, "1 of 2 new replicas updated"},
		{"OldPodsLeft", "{observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2}", deploy.HealthProgressing, "1 old replicas pending termination"},
		{"NotAvailable", "{observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1}", deploy.HealthProgressing, "1 of 2 updated replicas available"},
		{"Healthy", "{observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2, conditions: [{type: Available, status: 'True'}]}", deploy.HealthHealthy, "2 of 2"},
		{"DeadlineExceeded", "{observedGeneration: 2, conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded, message: ReplicaSet x has timed out progressing.}]}", deploy.HealthDegraded, "progress deadline of 60s exceeded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, msg := deploy.DeploymentHealth(dep(c.status), 2)
			require.Equal(t, c.want, h)
			require.Contains(t, msg, c.msg)
		})
	}
}

func TestDiffObjects(t *testing.T) {
	live := deploy.Object{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "a", "namespace": "n", "resourceVersion": "7",
		"managedFields": []any{}}, "spec": map[string]any{"port": 80.0}, "status": map[string]any{}}
	same := live.Clone()
	same.Metadata()["resourceVersion"] = "8"
	require.Equal(t, "unchanged", deploy.DiffObjects(live, same).Action)
	changed := live.Clone()
	changed["spec"] = map[string]any{"port": 8080.0}
	d := deploy.DiffObjects(live, changed)
	require.Equal(t, "update", d.Action)
	require.Contains(t, d.Diff, "-    port: 80\n+    port: 8080\n")
	require.Equal(t, "create", deploy.DiffObjects(nil, changed).Action)
}

type catalogStub map[string]string

func (c catalogStub) GetByRef(kind, namespace, name string) ([]byte, error) {
	raw, ok := c[kind+":"+namespace+"/"+name]
	if !ok {
		return nil, errs.E(errs.NotFound, "no entity %s:%s/%s", kind, namespace, name)
	}
	return []byte(raw), nil
}

type registryStub struct{}

func (registryStub) ResolveImage(_ context.Context, env deploy.Environment, repo, tag string) (deploy.Image, error) {
	return deploy.Image{Repository: env.Registry + "/" + repo, Tag: tag, Digest: "sha256:" + strings.Repeat("0", 64)}, nil
}

// TestApprovals: a production deploy waits for a second owner of the component.
func TestApprovals(t *testing.T) {
	st, err := store.Open(t.Context(), "", t.TempDir())
	require.NoError(t, err)
	require.NoError(t, st.Migrate(t.Context()))
	t.Cleanup(func() { _ = st.Close() })
	prod := deploy.Environment{Name: "prod", Account: "333333333333", Registry: "r", Protected: true, RequireApproval: true, Namespace: "billpay"}
	svc, err := deploy.New(deploy.Deps{Store: st, Catalog: catalogStub{"component:default/payment-service": paymentService}, Registry: registryStub{}},
		deploy.Config{Environments: []deploy.Environment{prod}})
	require.NoError(t, err)
	alice := auth.Principal{Subject: "user:default/alice", Kind: auth.KindUser, Ownership: []string{"user:default/alice", "group:default/payments-team"}}
	bob := auth.Principal{Subject: "user:default/bob", Kind: auth.KindUser, Ownership: []string{"user:default/bob", "group:default/payments-team"}}
	mallory := auth.Principal{Subject: "user:default/mallory", Kind: auth.KindUser, Ownership: []string{"user:default/mallory"}}
	ctx := t.Context()
	in := deploy.DeployInput{Component: "component:default/payment-service", Environment: "prod", Tag: "1.4.2"}

	r, err := svc.Deploy(ctx, alice, in)
	require.NoError(t, err)
	require.Equal(t, deploy.StatusPendingApproval, r.Status)

	_, err = svc.Deploy(ctx, bob, in)
	require.True(t, errs.Is(err, errs.Conflict), "one unfinished release per component and environment: %v", err)
	_, err = svc.Approve(ctx, alice, r.ID)
	require.True(t, errs.Is(err, errs.Forbidden), "not the requester: %v", err)
	_, err = svc.Approve(ctx, mallory, r.ID)
	require.True(t, errs.Is(err, errs.Forbidden), "only owners: %v", err)

	r, err = svc.Approve(ctx, bob, r.ID)
	require.NoError(t, err)
	require.Equal(t, deploy.StatusQueued, r.Status)
	require.Equal(t, bob.Subject, r.ApprovedBy)
	_, err = svc.Approve(ctx, bob, r.ID)
	require.True(t, errs.Is(err, errs.Conflict), "%v", err)

	evs, err := svc.Events(ctx, r.ID, 0)
	require.NoError(t, err)
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason)
	}
	require.Equal(t, []string{"Requested", "AwaitingApproval", "Approved"}, reasons)

	_, err = svc.Rollback(ctx, alice, deploy.RollbackInput{Component: "payment-service", Environment: "prod"})
	require.True(t, errs.Is(err, errs.Conflict), "nothing to roll back to: %v", err)
	_, err = svc.Deploy(ctx, alice, deploy.DeployInput{Component: "payment-service", Environment: "nowhere", Tag: "1"})
	require.True(t, errs.Is(err, errs.NotFound), "%v", err)
}
