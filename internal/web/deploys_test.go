package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/store"
	"github.com/billpay/portal/internal/web"
)

// tagRegistry resolves every tag but "missing" to a digest made from the tag, as ECR would name one image.
type tagRegistry struct{}

func (tagRegistry) ResolveImage(_ context.Context, env deploy.Environment, repo, tag string) (deploy.Image, error) {
	if tag == "missing" {
		return deploy.Image{}, errs.E(errs.NotFound, "image %s:%s not found in ECR repository %s", repo, tag, repo)
	}
	return deploy.Image{Repository: env.Registry + "/" + repo, Tag: tag, Digest: "sha256:" + strings.Repeat(tag[:1], 64)}, nil
}

// planRunner stands in for tofu on the pages' side; the real runner is tested in internal/deploy/tofu and through
// the scaffolder in cmd/portal.
type planRunner struct{}

func (planRunner) Plan(context.Context, string) (deploy.PlanOutput, error) {
	return deploy.PlanOutput{Text: "  # aws_ecr_repository.this will be created\n  + resource \"aws_ecr_repository\" \"this\" {}", File: []byte("plan"),
		Summary: deploy.PlanSummary{Add: 1}}, nil
}

func (planRunner) Apply(context.Context, string, []byte) (string, error) {
	return "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.", nil
}

// deployParts are the services a withDeploys portal runs: the real deploy service and OpenTofu runs over SQLite,
// with no cluster behind them (no worker runs, so releases stay queued until a test moves them).
type deployParts struct {
	store *store.Store
	svc   *deploy.Service
	infra *deploy.Infra
}

func withDeploys(parts *deployParts) portalOption {
	return func(p *portal, o *web.Options, _ *auth.Options) {
		t := p.t
		st, err := store.Open(context.Background(), "", t.TempDir())
		require.NoError(t, err)
		require.NoError(t, st.Migrate(context.Background()))
		t.Cleanup(func() { _ = st.Close() })
		envs := []deploy.Environment{
			{Name: "dev", Region: "us-east-1", Account: "111111111111", Cluster: "billpay-dev-eks-cluster", Namespace: "billpay", Registry: "111111111111.dkr.ecr.us-east-1.amazonaws.com"},
			{Name: "prod", Region: "us-east-1", Account: "333333333333", Cluster: "billpay-eks-cluster", Namespace: "billpay", Registry: "333333333333.dkr.ecr.us-east-1.amazonaws.com",
				Protected: true, RequireApproval: true},
		}
		svc, err := deploy.New(deploy.Deps{Store: st, Catalog: p.catalog, Registry: tagRegistry{}}, deploy.Config{Environments: envs})
		require.NoError(t, err)
		infra := &deploy.Infra{Store: st, Runner: planRunner{}, Root: t.TempDir(), Owner: "group:default/payments-team"}
		*parts = deployParts{store: st, svc: svc, infra: infra}
		o.Deploys = &web.Deploys{Service: svc, Infra: infra}
	}
}

func markSucceeded(t testing.TB, parts *deployParts, id int64) {
	t.Helper()
	ok := deploy.StatusSucceeded
	_, err := parts.store.UpdateRelease(context.Background(), id, deploy.ReleaseUpdate{Status: &ok})
	require.NoError(t, err)
}

func TestDeploys(t *testing.T) {
	var parts deployParts
	second := stitched{entity: entity("User", "ines.moreno", nil, map[string]any{"memberOf": []any{"payments-team"}})}
	p := mustPortal(t, []stitched{second}, withDeploys(&parts))
	lucia := p.session("user:default/lucia.fernandez")
	ines := p.session("user:default/ines.moreno")
	omar := p.session("user:default/omar.haddad") // admin-team: admins may act anywhere
	guest := p.guest()

	t.Run("EnvironmentsAndTheForm", func(t *testing.T) {
		page := lucia.get("/deploys")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "billpay-dev-eks-cluster · us-east-1 · account 111111111111 · namespace billpay")
		assert.Contains(t, got, "prod protected approval")
		assert.Contains(t, got, "Nothing deployed through the portal yet.")
		assert.Contains(t, page.body, `<option value="component:default/payment-service">`, "the form suggests components")
		assert.Contains(t, got, "Infrastructure plans")
		assertLabelled(t, "/deploys", page.body)
	})

	var first string
	t.Run("DeployRedirectsToTheRelease", func(t *testing.T) {
		res := lucia.post("/deploys", url.Values{"component": {"payment-service"}, "environment": {"dev"}, "tag": {"1.0.0"}, "action": {"deploy"}})
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		first = res.header.Get("Location")
		require.Equal(t, "/deploys/releases/1", first)
		page := lucia.get(first)
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Deploying 1.0.0 to dev.", "the one-time message")
		assert.Contains(t, got, "payment-service 1.0.0 to dev")
		assert.Contains(t, got, "Status queued")
		assert.Contains(t, got, "Requested user:default/lucia.fernandez requested 1.0.0")
		assert.Contains(t, page.body, `data-poll="/deploys/releases/1?fragment=1" data-done="false"`, "a running release's page follows it")
		assert.Contains(t, got, "Deployment billpay/payment-service", "the objects it applies")
		assert.Contains(t, page.body, "image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/payment-service@sha256:111111111111")

		live := lucia.get(first + "?fragment=1")
		requireOK(t, live)
		assert.NotContains(t, live.body, "<html", "the live part alone")
		assert.Contains(t, live.body, "Status <span class=\"task-status status-queued\">queued</span>")

		events := p.audit.byAction("createRelease")
		require.Len(t, events, 1)
		assert.Equal(t, "release:1", events[0].Resource)
		assert.Equal(t, "user:default/lucia.fernandez", events[0].Actor)
	})

	t.Run("ProblemsComeBackBesideTheForm", func(t *testing.T) {
		res := lucia.post("/deploys", url.Values{"component": {"payment-service"}, "environment": {"dev"}, "tag": {"missing"}, "action": {"deploy"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Contains(t, text(res.body), "image payment-service:missing not found in ECR repository payment-service")
		assert.Contains(t, res.body, `value="missing"`, "what was typed comes back")

		res = lucia.post("/deploys", url.Values{"component": {"payment-service"}, "environment": {"dev"}, "tag": {"1.0.1"}, "action": {"deploy"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "one unfinished release per component and environment")
		assert.Contains(t, text(res.body), "release")

		res = guest.post("/deploys", url.Values{"component": {"payment-service"}, "environment": {"dev"}, "tag": {"1.0.0"}, "action": {"deploy"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.Contains(t, text(res.body), "you are not a member of group:default/payments-team")

		res = lucia.post("/deploys", url.Values{"component": {"<script>alert(1)</script>"}, "environment": {"dev"}, "tag": {"1"}, "action": {"deploy"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		assert.NotContains(t, res.body, "<script>alert(1)</script>", "hostile input is shown as text")
		assert.Contains(t, res.body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	})

	t.Run("DryRunSaysWhenTheClusterCannotBeReached", func(t *testing.T) {
		res := lucia.post("/deploys", url.Values{"component": {"payment-service"}, "environment": {"prod"}, "tag": {"2.0.0"}, "action": {"dry-run"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status, res.body)
		assert.Contains(t, res.body, `class="problem" role="alert"`)
		assert.Contains(t, res.body, `value="2.0.0"`)
		assert.Empty(t, p.audit.byAction("dryRunRelease"), "a dry run changes nothing and records nothing")
	})

	t.Run("ProductionWaitsForASecondOwner", func(t *testing.T) {
		res := lucia.post("/deploys", url.Values{"component": {"component:default/payment-service"}, "environment": {"prod"}, "tag": {"1.0.0"}, "action": {"deploy"}})
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		rel := res.header.Get("Location")
		page := lucia.get(rel)
		assert.Contains(t, text(page.body), "The release waits for a second owner of the component to approve it.")
		assert.Contains(t, text(page.body), "Status pending_approval")
		assert.NotContains(t, page.body, ">Approve</button>", "the requester cannot approve")

		page = ines.get(rel)
		require.Contains(t, page.body, ">Approve</button>", "a second owner can")
		res = lucia.post(rel+"/approve", nil)
		assert.Equal(t, http.StatusForbidden, res.status)
		res = ines.post(rel+"/approve", nil)
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		page = ines.get(rel)
		assert.Contains(t, text(page.body), "Approved: the release runs now.")
		assert.Contains(t, text(page.body), "Status queued")
		assert.Contains(t, text(page.body), "Approved user:default/ines.moreno approved the release")
		assert.Len(t, p.audit.byAction("approveRelease"), 1)
	})

	t.Run("RollBackToAnEarlierRelease", func(t *testing.T) {
		markSucceeded(t, &parts, 1)
		res := lucia.post("/deploys", url.Values{"component": {"payment-service"}, "environment": {"dev"}, "tag": {"1.1.0"}, "action": {"deploy"}})
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		newer := res.header.Get("Location")
		id := newer[strings.LastIndex(newer, "/")+1:]
		markSucceeded(t, &parts, mustAtoi(t, id))

		page := lucia.get(first)
		require.Contains(t, page.body, ">Roll back to this release</button>")
		assert.Contains(t, text(page.body), "Other releases of payment-service in dev")
		assert.NotContains(t, guest.get(first).body, ">Roll back to this release</button>", "only owners roll back")

		res = lucia.post("/deploys/rollback", url.Values{"component": {"component:default/payment-service"}, "environment": {"dev"}, "to": {"1"}})
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		page = lucia.get(res.header.Get("Location"))
		got := text(page.body)
		assert.Contains(t, got, "Rolling back to release 1.")
		assert.Contains(t, got, "Rollback of payment-service to release 1")
		assert.Contains(t, page.body, "payment-service@sha256:111111111111", "the rollback runs release 1's image")

		res = lucia.post("/deploys/rollback", url.Values{"component": {"payment-service"}, "environment": {"dev"}, "to": {"abc"}})
		assert.Equal(t, http.StatusBadRequest, res.status)
	})

	t.Run("ReleasesFilteredAndPaged", func(t *testing.T) {
		page := lucia.get("/deploys?environment=prod")
		requireOK(t, page)
		assert.Contains(t, text(page.body), "Releases 1")
		page = lucia.get("/deploys?component=payment-service&status=succeeded")
		assert.Contains(t, text(page.body), "Releases 2")
		page = lucia.get("/deploys?environment=dev")
		assert.Contains(t, text(page.body), "Releases 3")
		assert.Contains(t, text(page.body), "rollback to #1")
	})

	t.Run("EntityTabShowsReleasesFormAndClusters", func(t *testing.T) {
		page := lucia.get("/catalog/default/component/payment-service/deployments")
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Releases")
		assert.Contains(t, got, "1.1.0")
		assert.Contains(t, page.body, `<input type="hidden" name="component" value="component:default/payment-service">`, "the form deploys this component")
		assert.Contains(t, got, "Running in the clusters")
		assert.Contains(t, got, "dev billpay-dev-eks-cluster", "each environment's cluster is asked")
		assert.Contains(t, page.body, `class="problem" role="alert"`, "a cluster that cannot be reached says so")
		assertLabelled(t, "/catalog/default/component/payment-service/deployments", page.body)

		page = guest.get("/catalog/default/component/payment-service/deployments")
		requireOK(t, page)
		assert.NotContains(t, page.body, `name="tag"`, "no deploy form for those who may not deploy")
	})

	t.Run("HomeShowsRecentDeploys", func(t *testing.T) {
		got := text(lucia.get("/").body)
		assert.Contains(t, got, "Recent deploys")
		assert.Contains(t, got, "payment-service 1.0.0 to dev")
	})

	t.Run("InfrastructurePlansNeedASecondOwner", func(t *testing.T) {
		owner := auth.Principal{Subject: "user:default/lucia.fernandez", Kind: auth.KindUser, Ownership: []string{"group:default/payments-team"}}
		run, err := parts.infra.Plan(context.Background(), owner, deploy.PlanInput{Unit: "infra/live/dev/ecr"})
		require.NoError(t, err)
		path := "/deploys/tofu/" + itoa(run.ID)
		page := lucia.get(path)
		requireOK(t, page)
		got := text(page.body)
		assert.Contains(t, got, "Plan of infra/live/dev/ecr")
		assert.Contains(t, got, "aws_ecr_repository.this will be created")
		assert.NotContains(t, page.body, ">Approve and apply</button>", "the planner does not approve")
		assert.Contains(t, got, "A member of the infrastructure's owner other than lucia.fernandez approves this plan")
		assert.Contains(t, text(lucia.get("/deploys").body), "infra/live/dev/ecr planned +1 ~0 −0")

		require.Contains(t, ines.get(path).body, ">Approve and apply</button>")
		res := ines.post(path+"/approve", nil)
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		page = ines.get(path)
		got = text(page.body)
		assert.Contains(t, got, "Applied the plan.")
		assert.Contains(t, got, "Apply complete! Resources: 1 added")
		assert.Equal(t, http.StatusConflict, omar.post(path+"/approve", nil).status, "a plan is applied once")
	})

	t.Run("UnknownPages", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, lucia.get("/deploys/releases/999").status)
		assert.Equal(t, http.StatusNotFound, lucia.get("/deploys/releases/abc").status)
		assert.Equal(t, http.StatusNotFound, lucia.get("/deploys/nowhere").status)
	})
}

func (m *memAudit) byAction(action string) []audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []audit.Event
	for _, e := range m.events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}
