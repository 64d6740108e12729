package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/billpay/portal/internal/audit"
	"github.com/billpay/portal/internal/deploy"
)

const deployTag = "Deploy"

// DeployOptions are the deploy parts the HTTP layer serves under /api/deploy and /api/kubernetes.
type DeployOptions struct {
	Service *deploy.Service
	// Infra runs OpenTofu plans and applies; nil leaves /api/deploy/tofu out.
	Infra *deploy.Infra
	// Provisioning creates a new service's AWS resources.
	Provisioning deploy.Provisioning
}

func (s *Server) deployOp(id, method, path, summary string, mutating bool) huma.Operation {
	return s.operation(deployTag, id, method, "/api/deploy"+path, summary, mutating,
		http.StatusForbidden, http.StatusConflict, http.StatusServiceUnavailable)
}

type ReleasePath struct {
	ID int64 `path:"id" minimum:"1" example:"42"`
}

type releaseOutput struct {
	Body deploy.Release
}

type releaseList struct {
	Items []deploy.Release `json:"items"`
	Total int              `json:"total"`
}

type environmentDoc struct {
	deploy.Environment
}

func releaseResource(id int64) string { return "release:" + strconv.FormatInt(id, 10) }

// summary drops the objects from list views; a release's own route has them.
func summary(r deploy.Release) deploy.Release {
	r.Objects = nil
	return r
}

func (s *Server) registerDeploy() {
	svc := s.opts.Deploy.Service
	huma.Register(s.api, s.deployOp("listDeployEnvironments", http.MethodGet, "/environments", "List deploy environments", false),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []environmentDoc }, error) {
			out := &struct{ Body []environmentDoc }{}
			for _, e := range svc.Environments() {
				out.Body = append(out.Body, environmentDoc{e})
			}
			return out, nil
		})

	create := s.deployOp("createRelease", http.MethodPost, "/releases", "Deploy a component's image tag to an environment", true)
	create.Description = "Resolves the tag to a digest in the component's ECR repository, renders the objects and queues the " +
		"release (pending_approval where the environment requires a second owner's approval). 404 when the image is not " +
		"in ECR, 409 while another release of the component runs in the environment. Follow it with " +
		"/api/deploy/releases/{id}/events/stream."
	create.DefaultStatus = http.StatusAccepted
	huma.Register(s.api, create, func(ctx context.Context, in *struct{ Body deploy.DeployInput }) (*releaseOutput, error) {
		r, err := svc.Deploy(ctx, principal(ctx), in.Body)
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, releaseResource(r.ID), nil, summary(r))
		return &releaseOutput{Body: r}, nil
	})

	dry := s.deployOp("dryRunRelease", http.MethodPost, "/dry-run", "Show what a deploy would change, changing nothing", true)
	dry.Description = "Resolves the image, renders the objects, has the cluster dry-run a server-side apply (validation and " +
		"admission included) and diffs the result against the live objects. Nothing is applied or recorded."
	huma.Register(s.api, dry, func(ctx context.Context, in *struct{ Body deploy.DeployInput }) (*struct{ Body deploy.Plan }, error) {
		plan, err := svc.DryRun(ctx, principal(ctx), in.Body)
		if err != nil {
			return nil, portalErr(err)
		}
		return &struct{ Body deploy.Plan }{Body: plan}, nil
	})

	huma.Register(s.api, s.deployOp("listReleases", http.MethodGet, "/releases", "List releases, newest first", false),
		func(ctx context.Context, in *struct {
			Component   string `query:"component" doc:"Only this component's releases (entity ref)" example:"component:default/payment-service"`
			Environment string `query:"environment" example:"dev"`
			Status      string `query:"status" doc:"Comma-separated statuses" example:"succeeded,failed"`
			Limit       int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
			Offset      int    `query:"offset" minimum:"0"`
		}) (*struct{ Body releaseList }, error) {
			f := deploy.ReleaseFilter{Component: in.Component, Environment: in.Environment, Limit: in.Limit, Offset: in.Offset}
			for _, st := range strings.Split(in.Status, ",") {
				if st = strings.TrimSpace(st); st != "" {
					f.Status = append(f.Status, deploy.Status(st))
				}
			}
			items, total, err := svc.Releases(ctx, f)
			if err != nil {
				return nil, portalErr(err)
			}
			out := &struct{ Body releaseList }{Body: releaseList{Items: make([]deploy.Release, len(items)), Total: total}}
			for i, r := range items {
				out.Body.Items[i] = summary(r)
			}
			return out, nil
		})

	huma.Register(s.api, s.deployOp("getRelease", http.MethodGet, "/releases/{id}", "Get a release with its objects", false),
		func(ctx context.Context, in *ReleasePath) (*releaseOutput, error) {
			r, err := svc.Release(ctx, in.ID)
			if err != nil {
				return nil, portalErr(err)
			}
			return &releaseOutput{Body: r}, nil
		})

	huma.Register(s.api, s.deployOp("listReleaseEvents", http.MethodGet, "/releases/{id}/events", "List a release's events", false),
		func(ctx context.Context, in *struct {
			ReleasePath
			After int64 `query:"after" minimum:"0" doc:"Only events after this event ID"`
		}) (*struct{ Body []deploy.ReleaseEvent }, error) {
			evs, err := svc.Events(ctx, in.ID, in.After)
			if err != nil {
				return nil, portalErr(err)
			}
			if evs == nil {
				evs = []deploy.ReleaseEvent{}
			}
			return &struct{ Body []deploy.ReleaseEvent }{Body: evs}, nil
		})

	stream := s.deployOp("streamReleaseEvents", http.MethodGet, "/releases/{id}/events/stream", "Follow a release (server-sent events)", false)
	stream.Description = "Sends each event as `event: release-event` with the event as data and its ID as the event id, " +
		"from the start (or after Last-Event-ID), then `event: release` with the release once it has finished, and closes."
	stream.Responses = map[string]*huma.Response{"200": {Description: "An event stream",
		Content: map[string]*huma.MediaType{"text/event-stream": {}}}}
	huma.Register(s.api, stream, func(ctx context.Context, in *struct {
		ReleasePath
		LastEventID string `header:"Last-Event-ID"`
	}) (*ofrepOutput, error) {
		if _, err := svc.Release(ctx, in.ID); err != nil {
			return nil, portalErr(err)
		}
		id, last := in.ID, in.LastEventID
		return &ofrepOutput{Body: func(hc huma.Context) { s.releaseEvents(hc, id, last) }}, nil
	})

	approve := s.deployOp("approveRelease", http.MethodPost, "/releases/{id}/approve", "Approve a release that waits for a second owner", true)
	approve.Description = "The approver must own the component and must not be who requested the release (403 otherwise)."
	huma.Register(s.api, approve, func(ctx context.Context, in *ReleasePath) (*releaseOutput, error) {
		r, err := svc.Approve(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, releaseResource(r.ID), string(deploy.StatusPendingApproval), string(r.Status))
		return &releaseOutput{Body: summary(r)}, nil
	})

	rollback := s.deployOp("rollbackRelease", http.MethodPost, "/rollback", "Roll a component back to an earlier release", true)
	rollback.Description = "Queues a release that re-applies, exactly, the objects of the last successful release before the " +
		"current one (or of `to`)."
	rollback.DefaultStatus = http.StatusAccepted
	huma.Register(s.api, rollback, func(ctx context.Context, in *struct{ Body deploy.RollbackInput }) (*releaseOutput, error) {
		r, err := svc.Rollback(ctx, principal(ctx), in.Body)
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, releaseResource(r.ID), nil, summary(r))
		return &releaseOutput{Body: summary(r)}, nil
	})

	prov := s.deployOp("provisionService", http.MethodPost, "/provision", "Create a new service's AWS resources", true)
	prov.Description = "Ensures the component's ECR repository, its Secrets Manager secret (<name>/app), its IAM role (EKS Pod " +
		"Identity, reading only that secret) and an EKS access entry for the role in its namespace. Idempotent: existing " +
		"resources are reported with created=false."
	huma.Register(s.api, prov, func(ctx context.Context, in *struct{ Body deploy.ProvisionInput }) (*struct{ Body deploy.ProvisionResult }, error) {
		res, err := svc.Provision(ctx, principal(ctx), s.opts.Deploy.Provisioning, in.Body)
		audit.Describe(ctx, "provision:"+in.Body.Component+"@"+in.Body.Environment, nil, res)
		if err != nil {
			return nil, portalErr(err)
		}
		return &struct{ Body deploy.ProvisionResult }{Body: res}, nil
	})

	if s.opts.Deploy.Infra != nil {
		s.registerTofu(s.opts.Deploy.Infra)
	}
}

type tofuRunPath struct {
	ID int64 `path:"id" minimum:"1"`
}

func (s *Server) registerTofu(infra *deploy.Infra) {
	huma.Register(s.api, s.deployOp("listTofuRuns", http.MethodGet, "/tofu/runs", "List OpenTofu runs, newest first", false),
		func(ctx context.Context, in *struct {
			Unit  string `query:"unit" example:"infra/live/dev/ecr"`
			Limit int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
		}) (*struct{ Body []deploy.TofuRun }, error) {
			runs, err := infra.Runs(ctx, in.Unit, in.Limit)
			if err != nil {
				return nil, portalErr(err)
			}
			return &struct{ Body []deploy.TofuRun }{Body: runs}, nil
		})
	plan := s.deployOp("planTofuRun", http.MethodPost, "/tofu/runs", "Plan an OpenTofu unit", true)
	plan.Description = "Runs init and plan in the unit and stores the saved plan and its text. Nothing changes until a second " +
		"member of the infrastructure's owner approves the run."
	plan.DefaultStatus = http.StatusCreated
	huma.Register(s.api, plan, func(ctx context.Context, in *struct{ Body deploy.PlanInput }) (*struct{ Body deploy.TofuRun }, error) {
		run, err := infra.Plan(ctx, principal(ctx), in.Body)
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, "tofu:"+strconv.FormatInt(run.ID, 10), nil, run.Summary)
		return &struct{ Body deploy.TofuRun }{Body: run}, nil
	})
	huma.Register(s.api, s.deployOp("getTofuRun", http.MethodGet, "/tofu/runs/{id}", "Get an OpenTofu run with its plan", false),
		func(ctx context.Context, in *tofuRunPath) (*struct{ Body deploy.TofuRun }, error) {
			run, err := infra.Run(ctx, in.ID)
			if err != nil {
				return nil, portalErr(err)
			}
			return &struct{ Body deploy.TofuRun }{Body: run}, nil
		})
	apply := s.deployOp("approveTofuRun", http.MethodPost, "/tofu/runs/{id}/approve", "Approve and apply a stored plan", true)
	apply.Description = "Applies exactly the stored plan. The approver must belong to the owner and must not be who planned it."
	huma.Register(s.api, apply, func(ctx context.Context, in *tofuRunPath) (*struct{ Body deploy.TofuRun }, error) {
		run, err := infra.Approve(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, portalErr(err)
		}
		audit.Describe(ctx, "tofu:"+strconv.FormatInt(run.ID, 10), string(deploy.TofuPlanned), string(run.Status))
		return &struct{ Body deploy.TofuRun }{Body: run}, nil
	})
}

// releaseEvents streams a release's events until it has finished (then sends the release and ends), the client
// leaves or the server shuts down. The store is read on every local event and every second, so events other
// replicas record arrive too.
func (s *Server) releaseEvents(hc huma.Context, id int64, lastEventID string) {
	svc := s.opts.Deploy.Service
	ctx := hc.Context()
	wake, cancel := svc.Subscribe()
	defer cancel()
	w := startSSE(hc)
	after, _ := strconv.ParseInt(lastEventID, 10, 64)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		// Read the release before the events: when it is done, every event it will ever have is already stored.
		r, err := svc.Release(ctx, id)
		if err != nil {
			return
		}
		evs, err := svc.Events(ctx, id, after)
		if err != nil {
			return
		}
		for _, e := range evs {
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: release-event\ndata: %s\n\n", e.ID, data)
			after = e.ID
		}
		if r.Status.Done() {
			data, _ := json.Marshal(summary(r))
			fmt.Fprintf(w, "event: release\ndata: %s\n\n", data)
			_ = w.Flush()
			return
		}
		if w.Flush() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.streams.Done():
			return
		case <-wake:
		case <-tick.C:
		case <-keepAlive.C:
			if _, err := w.WriteString(": keep-alive\n\n"); err != nil || w.Flush() != nil {
				return
			}
		}
	}
}
