package kube_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/kube"
	"github.com/billpay/portal/internal/kube/kubetest"
	"github.com/billpay/portal/internal/store"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, kubetest.Options{})) }

// catalogStub serves Component entities by ref.
type catalogStub map[string]string

func (c catalogStub) GetByRef(kind, namespace, name string) ([]byte, error) {
	raw, ok := c[kind+":"+namespace+"/"+name]
	if !ok {
		return nil, errs.E(errs.NotFound, "no entity %s:%s/%s", kind, namespace, name)
	}
	return []byte(raw), nil
}

func component(name, owner string, annotations map[string]string) string {
	a, _ := json.Marshal(annotations)
	return fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":%q,"namespace":"default","annotations":%s},
	  "spec":{"type":"service","lifecycle":"production","owner":%q,"system":"payments"}}`, name, a, owner)
}

// registryStub is ECR with fixed digests (the ECR adapter has its own tests against an ECR API).
type registryStub struct{}

func (registryStub) ResolveImage(_ context.Context, env deploy.Environment, repo, tag string) (deploy.Image, error) {
	if tag == "missing" {
		return deploy.Image{}, errs.E(errs.NotFound, "image %s:%s not found in ECR repository %s", repo, tag, repo)
	}
	return deploy.Image{Repository: env.Registry + "/" + repo, Tag: tag, Digest: "sha256:" + strings.Repeat(tag[len(tag)-1:], 64)}, nil
}

// locatorFunc adapts a function to deploy.ClusterLocator.
type locatorFunc func(ctx context.Context, env deploy.Environment) (deploy.Endpoint, error)

func (f locatorFunc) Locate(ctx context.Context, env deploy.Environment) (deploy.Endpoint, error) {
	return f(ctx, env)
}

const valuesYAML = `
defaults:
  replicas: 2
  progressDeadlineSeconds: 30
  ingress: {enabled: true, hostSuffix: test.billpay.example.com, scheme: internal, groupName: billpay-test}
components:
  ledger:
    autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 4, targetCPU: 75}
  stuck:
    progressDeadlineSeconds: 5
    nodeSelector: {billpay.io/no-such-node: "true"}
`

var (
	owner    = auth.Principal{Subject: "user:default/alice", Kind: auth.KindUser, Ownership: []string{"user:default/alice", "group:default/payments-team"}}
	stranger = auth.Principal{Subject: "user:default/mallory", Kind: auth.KindUser, Ownership: []string{"user:default/mallory"}}
)

type harness struct {
	svc  *deploy.Service
	st   *store.Store
	env  deploy.Environment
	ns   string
	kenv *kubetest.Env
	cl   deploy.Cluster
	stop func()
}

var nsCounter struct {
	sync.Mutex
	n int
}

// newHarness runs a deploy service (SQLite store, worker running) against the shared control plane, in a fresh
// namespace of its own.
func newHarness(t *testing.T, locate func(kenv *kubetest.Env) locatorFunc) *harness {
	t.Helper()
	kenv := kubetest.Shared(t)
	nsCounter.Lock()
	nsCounter.n++
	ns := fmt.Sprintf("billpay-%d", nsCounter.n)
	nsCounter.Unlock()
	cl, err := kube.Connector{}.Connect(kenv.Endpoint("local"))
	require.NoError(t, err)
	_, err = cl.Apply(t.Context(), []deploy.Object{{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}, false)
	require.NoError(t, err)

	st, err := store.Open(t.Context(), "", t.TempDir())
	require.NoError(t, err)
	require.NoError(t, st.Migrate(t.Context()))
	t.Cleanup(func() { _ = st.Close() })
	values, err := deploy.ParseValuesFile("test.yaml", []byte(valuesYAML))
	require.NoError(t, err)
	env := deploy.Environment{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: "billpay-dev-eks-cluster",
		Namespace: ns, Registry: "111111111111.dkr.ecr.us-east-1.amazonaws.com", Values: values}
	cat := catalogStub{}
	for _, n := range []string{"payment-service", "ledger", "stuck"} {
		cat["component:default/"+n] = component(n, "group:payments-team", map[string]string{
			deploy.AnnotationKubernetesID: n, deploy.AnnotationIAMRole: "billpay-dev-" + n})
	}
	if locate == nil {
		locate = func(kenv *kubetest.Env) locatorFunc {
			return func(context.Context, deploy.Environment) (deploy.Endpoint, error) { return kenv.Endpoint("local"), nil }
		}
	}
	svc, err := deploy.New(deploy.Deps{Store: st, Catalog: cat, Registry: registryStub{}, Locator: locate(kenv), Connector: kube.Connector{}},
		deploy.Config{Environments: []deploy.Environment{env}, Worker: "test", Poll: 100 * time.Millisecond, Slack: 5 * time.Second,
			Lease: 3 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	h := &harness{svc: svc, st: st, env: env, ns: ns, kenv: kenv, cl: cl}
	h.stop = h.run(t)
	return h
}

func (h *harness) run(t *testing.T) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.svc.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// wait polls a release until it has finished.
func (h *harness) wait(t *testing.T, id int64, within time.Duration) deploy.Release {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := h.svc.Release(t.Context(), id)
		require.NoError(t, err)
		if r.Status.Done() {
			return r
		}
		if time.Now().After(deadline) {
			evs, _ := h.svc.Events(t.Context(), id, 0)
			t.Fatalf("release %d still %s after %s; events: %+v", id, r.Status, within, evs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *harness) deployment(t *testing.T, name string) deploy.Object {
	t.Helper()
	d, ok, err := h.cl.Get(t.Context(), deploy.Object{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name, "namespace": h.ns}})
	require.NoError(t, err)
	require.True(t, ok, "Deployment %s/%s", h.ns, name)
	return d
}

func image(d deploy.Object) string {
	cs := d.Path("spec.template.spec.containers").([]any)
	return cs[0].(map[string]any)["image"].(string)
}

func reasons(evs []deploy.ReleaseEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Reason
	}
	return out
}

func TestDeployRollout(t *testing.T) {
	h := newHarness(t, nil)
	ctx := t.Context()
	const repo = "111111111111.dkr.ecr.us-east-1.amazonaws.com/payment-service"

	var first deploy.Release
	t.Run("OK", func(t *testing.T) {
		r, err := h.svc.Deploy(ctx, owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "1.0.1"})
		require.NoError(t, err)
		require.Equal(t, deploy.StatusQueued, r.Status)
		first = h.wait(t, r.ID, 60*time.Second)
		require.Equal(t, deploy.StatusSucceeded, first.Status, first.Message)
		require.Contains(t, first.Message, "2 of 2 replicas updated and available")

		d := h.deployment(t, "payment-service")
		require.Equal(t, repo+"@sha256:"+strings.Repeat("1", 64), image(d))
		require.EqualValues(t, 2, d.Int("status.availableReplicas"))
		require.Equal(t, fmt.Sprint(r.ID), d.Metadata()["annotations"].(map[string]any)[deploy.AnnotationRelease])
		evs, err := h.svc.Events(ctx, r.ID, 0)
		require.NoError(t, err)
		require.Subset(t, reasons(evs), []string{"Requested", "Applying", "Applied", "Succeeded"})

		// Every object is there, labelled so Backstage's Kubernetes plugin finds it.
		lists, err := h.cl.List(ctx, h.ns, "backstage.io/kubernetes-id=payment-service",
			[]string{"pods", "services", "deployments", "replicasets", "ingresses"})
		require.NoError(t, err)
		require.Len(t, lists["pods"], 2)
		for _, p := range lists["pods"] {
			require.Equal(t, "Running", p.String("status.phase"))
		}
		require.Len(t, lists["services"], 1)
		require.Len(t, lists["ingresses"], 1)
		ing := lists["ingresses"][0]
		require.Equal(t, "payment-service.test.billpay.example.com", ing.Path("spec.rules").([]any)[0].(map[string]any)["host"])
		sa, ok, err := h.cl.Get(ctx, deploy.Object{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": "payment-service", "namespace": h.ns}})
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "arn:aws:iam::111111111111:role/billpay/services/billpay-dev-payment-service",
			sa.Metadata()["annotations"].(map[string]any)["eks.amazonaws.com/role-arn"])
		_, ok, err = h.cl.Get(ctx, deploy.Object{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": map[string]any{"name": "payment-service", "namespace": h.ns}})
		require.NoError(t, err)
		require.True(t, ok)
	})

	t.Run("DryRunShowsTheImageBumpAndChangesNothing", func(t *testing.T) {
		before := h.deployment(t, "payment-service")
		plan, err := h.svc.DryRun(ctx, owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "1.0.2"})
		require.NoError(t, err)
		actions := map[string]string{}
		for _, d := range plan.Diff {
			actions[d.Object] = d.Action
			if d.Object == "Deployment/"+h.ns+"/payment-service" {
				require.Regexp(t, `(?m)^-\s+image: `+regexp.QuoteMeta(repo+"@sha256:"+strings.Repeat("1", 64))+`$`, d.Diff)
				require.Regexp(t, `(?m)^\+\s+image: `+regexp.QuoteMeta(repo+"@sha256:"+strings.Repeat("2", 64))+`$`, d.Diff)
			}
		}
		require.Equal(t, "update", actions["Deployment/"+h.ns+"/payment-service"])
		require.Equal(t, "unchanged", actions["Service/"+h.ns+"/payment-service"])
		after := h.deployment(t, "payment-service")
		require.Equal(t, before.Int("metadata.generation"), after.Int("metadata.generation"))
		require.Equal(t, image(before), image(after))
	})

	var second deploy.Release
	t.Run("ImageBump", func(t *testing.T) {
		r, err := h.svc.Deploy(ctx, owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "1.0.2"})
		require.NoError(t, err)
		second = h.wait(t, r.ID, 60*time.Second)
		require.Equal(t, deploy.StatusSucceeded, second.Status, second.Message)
		d := h.deployment(t, "payment-service")
		require.Equal(t, repo+"@sha256:"+strings.Repeat("2", 64), image(d))
		require.EqualValues(t, 2, d.Int("metadata.generation"))
		require.EqualValues(t, 2, d.Int("status.updatedReplicas"))
		rs, err := h.cl.List(ctx, h.ns, "backstage.io/kubernetes-id=payment-service", []string{"replicasets"})
		require.NoError(t, err)
		require.Len(t, rs["replicasets"], 2, "a new ReplicaSet for the new image")
	})

	t.Run("Rollback", func(t *testing.T) {
		r, err := h.svc.Rollback(ctx, owner, deploy.RollbackInput{Component: "payment-service", Environment: "dev"})
		require.NoError(t, err)
		require.Equal(t, deploy.KindRollback, r.Kind)
		require.Equal(t, first.ID, r.RollbackOf)
		r = h.wait(t, r.ID, 60*time.Second)
		require.Equal(t, deploy.StatusSucceeded, r.Status, r.Message)
		d := h.deployment(t, "payment-service")
		require.Equal(t, repo+"@sha256:"+strings.Repeat("1", 64), image(d))
		require.Equal(t, "1.0.1", r.Image.Tag)
	})

	t.Run("HPAOwnsReplicas", func(t *testing.T) {
		r, err := h.svc.Deploy(ctx, owner, deploy.DeployInput{Component: "ledger", Environment: "dev", Tag: "2.0.0"})
		require.NoError(t, err)
		r = h.wait(t, r.ID, 60*time.Second)
		require.Equal(t, deploy.StatusSucceeded, r.Status, r.Message)
		hpa, ok, err := h.cl.Get(ctx, deploy.Object{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": map[string]any{"name": "ledger", "namespace": h.ns}})
		require.NoError(t, err)
		require.True(t, ok)
		require.EqualValues(t, 4, hpa.Int("spec.maxReplicas"))
		// The portal never sets replicas when an HPA scales the Deployment.
		for _, mf := range h.deployment(t, "ledger").Metadata()["managedFields"].([]any) {
			m := mf.(map[string]any)
			if m["manager"] == deploy.ManagedBy {
				data, _ := json.Marshal(m["fieldsV1"])
				require.NotContains(t, string(data), `"f:replicas"`)
			}
		}
	})

	t.Run("Workloads", func(t *testing.T) {
		comp, err := h.svc.Component("payment-service")
		require.NoError(t, err)
		res := h.svc.Workloads(ctx, comp, deploy.WorkloadsQuery{})
		require.Len(t, res.Items, 1)
		item := res.Items[0]
		require.Equal(t, "dev", item.Cluster.Name)
		require.Empty(t, item.Errors)
		types := map[string]int{}
		for _, fr := range item.Resources {
			types[fr.Type] = len(fr.Resources)
		}
		require.Equal(t, 2, types["pods"])
		require.Equal(t, 1, types["deployments"])
		require.Equal(t, 1, types["services"])
		require.Equal(t, 1, types["ingresses"])
	})

	t.Run("ErrForbiddenForNonOwners", func(t *testing.T) {
		_, err := h.svc.Deploy(ctx, stranger, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "1.0.3"})
		require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
	})

	t.Run("ErrImageNotInRegistry", func(t *testing.T) {
		_, err := h.svc.Deploy(ctx, owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "missing"})
		require.True(t, errs.Is(err, errs.NotFound), "%v", err)
		require.Contains(t, errs.MessageOf(err), "not found in ECR")
	})
}

func TestDeployProgressDeadlineExceeded(t *testing.T) {
	h := newHarness(t, nil)
	r, err := h.svc.Deploy(t.Context(), owner, deploy.DeployInput{Component: "stuck", Environment: "dev", Tag: "0.0.1"})
	require.NoError(t, err)
	r = h.wait(t, r.ID, 90*time.Second)
	require.Equal(t, deploy.StatusFailed, r.Status)
	require.Contains(t, r.Message, "progress deadline of 5s exceeded")
	require.Contains(t, r.Message, "FailedScheduling", "the scheduler's reason is in the message")
	evs, err := h.svc.Events(t.Context(), r.ID, 0)
	require.NoError(t, err)
	require.Contains(t, reasons(evs), "FailedScheduling")
	require.Equal(t, "Failed", evs[len(evs)-1].Reason)
}

func TestDeployClusterFailuresAreReported(t *testing.T) {
	t.Run("ErrUnreachable", func(t *testing.T) {
		h := newHarness(t, func(kenv *kubetest.Env) locatorFunc {
			return func(context.Context, deploy.Environment) (deploy.Endpoint, error) {
				ep := kenv.Endpoint("local")
				ep.Server = "https://127.0.0.1:1" // nothing listens there
				return ep, nil
			}
		})
		r, err := h.svc.Deploy(t.Context(), owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "1.0.1"})
		require.NoError(t, err)
		r = h.wait(t, r.ID, 30*time.Second)
		require.Equal(t, deploy.StatusFailed, r.Status)
		require.Contains(t, r.Message, "cluster billpay-dev-eks-cluster unreachable")
	})
	t.Run("ErrTokenRefused", func(t *testing.T) {
		h := newHarness(t, func(kenv *kubetest.Env) locatorFunc {
			return func(context.Context, deploy.Environment) (deploy.Endpoint, error) {
				ep := kenv.Endpoint("local")
				ep.Token = kube.StaticToken("not-a-token")
				return ep, nil
			}
		})
		r, err := h.svc.Deploy(t.Context(), owner, deploy.DeployInput{Component: "payment-service", Environment: "dev", Tag: "1.0.1"})
		require.NoError(t, err)
		r = h.wait(t, r.ID, 30*time.Second)
		require.Equal(t, deploy.StatusFailed, r.Status)
		require.Contains(t, r.Message, "refused the portal's token")
		require.Contains(t, r.Message, "401")
	})
}

// TestDeployResumesAfterRestart leaves a release as a replica that died mid-rollout leaves it (rolling out, claimed,
// lease run out) and starts a service: it resumes the release and finishes it. One interrupted too often is failed.
func TestDeployResumesAfterRestart(t *testing.T) {
	h := newHarness(t, nil)
	h.stop() // no worker yet: the "dead" replica's state is set up first
	ctx := t.Context()
	comp, err := h.svc.Component("payment-service")
	require.NoError(t, err)
	img, _ := registryStub{}.ResolveImage(ctx, h.env, "payment-service", "3.0.3")
	objs, err := deploy.Render(comp, h.env, img, 0)
	require.NoError(t, err)
	interrupted := func(component string, claims int) int64 {
		r, err := h.st.CreateRelease(ctx, deploy.Release{Component: "component:default/" + component, Environment: "dev", Kind: deploy.KindDeploy,
			Image: img, Status: deploy.StatusQueued, RequestedBy: owner.Subject, Namespace: h.ns, Workload: component, Objects: objs})
		require.NoError(t, err)
		for i := range claims {
			// Each claim is taken after the previous one's lease ran out, as when replicas keep dying.
			at := time.Now().Add(-time.Hour + time.Duration(i)*2*time.Minute)
			_, ok, err := h.st.ClaimRelease(ctx, "dead-replica", at, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
		}
		st := deploy.StatusRollingOut
		_, err = h.st.UpdateRelease(ctx, r.ID, deploy.ReleaseUpdate{Status: &st})
		require.NoError(t, err)
		return r.ID
	}
	resumed := interrupted("payment-service", 1)

	h.stop = h.run(t)
	r := h.wait(t, resumed, 60*time.Second)
	require.Equal(t, deploy.StatusSucceeded, r.Status, r.Message)
	require.Equal(t, 2, r.Attempts)
	evs, err := h.svc.Events(ctx, resumed, 0)
	require.NoError(t, err)
	require.Contains(t, reasons(evs), "Resumed")
	require.Equal(t, repoImage(img), image(h.deployment(t, "payment-service")))

	h.stop()
	gaveUp := interrupted("payment-service", 3)
	h.stop = h.run(t)
	r = h.wait(t, gaveUp, 30*time.Second)
	require.Equal(t, deploy.StatusFailed, r.Status)
	require.Contains(t, r.Message, "interrupted 3 times")
}

func repoImage(i deploy.Image) string { return i.Ref() }
