package action

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/scaffolder"
)

// Deployments are what the deploy actions (deploy:eks, deploy:provision, opentofu:plan, opentofu:apply) act
// through: the same deploy service, provisioning adapters and OpenTofu runs the /api/deploy routes use, so a
// template's deploy is judged, recorded and followed exactly like one asked for over the API.
type Deployments struct {
	Service      *deploy.Service
	Provisioning deploy.Provisioning
	// Infra runs OpenTofu units; nil leaves opentofu:plan and opentofu:apply out.
	Infra *deploy.Infra
	// ActAs returns the principal a task acts as: its creator, with the memberships they have now.
	ActAs func(subject string) (auth.Principal, error)
	// BaseURL is the portal's address, for the links the actions output.
	BaseURL string
	// Poll is how often waiting steps look again besides the service's own signals; default 2 s.
	Poll time.Duration
}

func (d *Deployments) poll() time.Duration {
	if d.Poll > 0 {
		return d.Poll
	}
	return 2 * time.Second
}

func (d *Deployments) link(format string, args ...any) string {
	return strings.TrimSuffix(d.BaseURL, "/") + fmt.Sprintf(format, args...)
}

func (d *Deployments) principal(ac *scaffolder.ActionContext) (auth.Principal, error) {
	if d.ActAs == nil {
		return auth.Principal{}, errs.E(errs.Unavailable, "deploy actions are not wired to the identity service")
	}
	return d.ActAs(ac.CreatedBy)
}

// defaultDeployWait bounds how long deploy:eks follows a release, approval included, unless the step says.
const defaultDeployWait = 30 * time.Minute

func deployActions(d *Deployments) []scaffolder.Action {
	out := []scaffolder.Action{deployEKS(d), deployProvision(d)}
	if d.Infra != nil {
		out = append(out, tofuPlan(d), tofuApply(d))
	}
	return out
}

type deployEKSInput struct {
	Component      string `json:"component"`
	Environment    string `json:"environment"`
	Tag            string `json:"tag"`
	Wait           *bool  `json:"wait"`
	TimeoutMinutes int    `json:"timeoutMinutes"`
}

func deployEKS(d *Deployments) scaffolder.Action {
	const id = "deploy:eks"
	return &simple{
		info: scaffolder.ActionInfo{
			ID: id,
			Description: "Deploys an image tag of a catalog Component to an EKS environment, as POST /api/deploy/releases does, " +
				"and follows the rollout until it succeeds or fails. In a dry run the cluster dry-runs the apply and the step logs the diff.",
			Examples: []scaffolder.ActionExample{{Description: "Deploy the new service's first image to dev and wait for it to be healthy.",
				Example: "steps:\n  - id: deploy\n    action: deploy:eks\n    name: Deploy to dev\n    input:\n      component: component:default/${{ parameters.name }}\n      environment: dev\n      tag: ${{ parameters.imageTag }}\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["component", "environment", "tag"], "additionalProperties": false, "properties": {
				"component": {"type": "string", "title": "Component", "description": "The Component's entity ref, e.g. component:default/payment-service"},
				"environment": {"type": "string", "title": "Environment", "description": "A deploy environment configured in Portal (deploy.environments)"},
				"tag": {"type": "string", "title": "Image tag", "description": "A tag in the component's ECR repository; the release runs the digest it resolves to"},
				"wait": {"type": "boolean", "title": "Wait", "description": "Follow the release until it succeeds or fails (approval included). Default: true"},
				"timeoutMinutes": {"type": "integer", "minimum": 1, "maximum": 1440, "title": "Timeout", "description": "How long to wait, in minutes. Default: 30"}}}`),
			Output: schema(id, "output", `{"type": "object", "properties": {
				"releaseId": {"type": "integer", "title": "The release's id"},
				"status": {"type": "string", "title": "The release's status when the step ended", "examples": ["succeeded"]},
				"image": {"type": "string", "title": "The image the release runs, by digest"},
				"url": {"type": "string", "title": "The release's page in Portal"}}}`),
			SupportsDryRun: true,
			Permission:     string(auth.DeployRun),
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in deployEKSInput
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			p, err := d.principal(ac)
			if err != nil {
				return err
			}
			req := deploy.DeployInput{Component: in.Component, Environment: in.Environment, Tag: in.Tag}
			if ac.DryRun {
				return dryRunDeploy(ctx, ac, d, p, req)
			}
			r, err := d.Service.Deploy(ctx, p, req)
			if err != nil {
				return err
			}
			url := d.link("/deploys/releases/%d", r.ID)
			ac.Log("Release %d of %s (%s) to %s: %s", r.ID, r.Image.Tag, r.Image.Digest, r.Environment, url)
			ac.Output("releaseId", r.ID)
			ac.Output("image", r.Image.Ref())
			ac.Output("url", url)
			if in.Wait != nil && !*in.Wait {
				ac.Output("status", string(r.Status))
				return nil
			}
			timeout := defaultDeployWait
			if in.TimeoutMinutes > 0 {
				timeout = time.Duration(in.TimeoutMinutes) * time.Minute
			}
			final, err := followRelease(ctx, ac, d, r.ID, timeout)
			ac.Output("status", string(final.Status))
			if err != nil {
				return err
			}
			if final.Status == deploy.StatusFailed {
				return errs.E(errs.Unavailable, "release %d of %s to %s failed: %s", final.ID, final.Image.Tag, final.Environment, final.Message)
			}
			ac.Log("Release %d succeeded: %s", final.ID, final.Message)
			return nil
		},
	}
}

func dryRunDeploy(ctx context.Context, ac *scaffolder.ActionContext, d *Deployments, p auth.Principal, req deploy.DeployInput) error {
	plan, err := d.Service.DryRun(ctx, p, req)
	if err != nil {
		return err
	}
	ac.Log("Dry run: %s would run %s (%s) in %s", req.Component, plan.Image.Tag, plan.Image.Digest, req.Environment)
	for _, df := range plan.Diff {
		if df.Diff == "" {
			ac.Log("%s: %s", df.Object, df.Action)
			continue
		}
		ac.Log("%s: %s\n%s", df.Object, df.Action, strings.TrimSpace(firstLines(df.Diff, 60)))
	}
	ac.Output("status", "dry-run")
	ac.Output("image", plan.Image.Ref())
	return nil
}

// followRelease logs a release's events as they are recorded until it is done, the timeout passes or the task is
// cancelled. Signals from the service wake it at once for this replica's workers; the poll catches other replicas'.
func followRelease(ctx context.Context, ac *scaffolder.ActionContext, d *Deployments, id int64, timeout time.Duration) (deploy.Release, error) {
	signals, stop := d.Service.Subscribe()
	defer stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(d.poll())
	defer tick.Stop()
	var after int64
	announcedWait := false
	for {
		evs, err := d.Service.Events(ctx, id, after)
		if err != nil {
			return deploy.Release{}, err
		}
		for _, e := range evs {
			ac.Log("[%s] %s: %s", e.Type, e.Reason, e.Message)
			after = e.ID
		}
		r, err := d.Service.Release(ctx, id)
		if err != nil {
			return deploy.Release{}, err
		}
		if r.Status.Done() {
			// Events recorded between the read above and the release's completion are logged before returning.
			if evs, err := d.Service.Events(ctx, id, after); err == nil {
				for _, e := range evs {
					ac.Log("[%s] %s: %s", e.Type, e.Reason, e.Message)
				}
			}
			return r, nil
		}
		if r.Status == deploy.StatusPendingApproval && !announcedWait {
			ac.Log("Waiting for a second owner to approve release %d at %s", id, d.link("/deploys/releases/%d", id))
			announcedWait = true
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-deadline.C:
			return r, errs.E(errs.Unavailable, "release %d is still %s after %s; it goes on without this task: follow it at %s",
				id, r.Status, timeout, d.link("/deploys/releases/%d", id))
		case <-signals:
		case <-tick.C:
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("… (%d more lines)", strings.Count(s, "\n")-n+1))
	}
	return strings.Join(lines, "\n")
}

func deployProvision(d *Deployments) scaffolder.Action {
	const id = "deploy:provision"
	return &simple{
		info: scaffolder.ActionInfo{
			ID: id,
			Description: "Creates a new service's AWS resources in an environment, as POST /api/deploy/provision does: its ECR repository, " +
				"its Secrets Manager secret, its IAM role (reading only that secret, within Portal's permissions boundary), the Pod Identity " +
				"association that gives the role to its pods, and its EKS access entry. " +
				"Resources that exist are left as they are.",
			Examples: []scaffolder.ActionExample{{Description: "Provision the new service in dev.",
				Example: "steps:\n  - id: provision\n    action: deploy:provision\n    name: Create AWS resources\n    input:\n      component: component:default/${{ parameters.name }}\n      environment: dev\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["component", "environment"], "additionalProperties": false, "properties": {
				"component": {"type": "string", "title": "Component", "description": "The Component's entity ref"},
				"environment": {"type": "string", "title": "Environment", "description": "A deploy environment configured in Portal"}}}`),
			Output: schema(id, "output", `{"type": "object", "properties": {
				"repository": {"type": "string", "title": "The ECR repository URI"},
				"secret": {"type": "string", "title": "The secret's ARN"},
				"role": {"type": "string", "title": "The IAM role's ARN"},
				"resources": {"type": "array", "items": {"type": "object"}, "title": "Every resource ensured, with whether it was created"}}}`),
			Permission: string(auth.DeployRun),
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in deploy.ProvisionInput
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			p, err := d.principal(ac)
			if err != nil {
				return err
			}
			res, err := d.Service.Provision(ctx, p, d.Provisioning, in)
			outputs := map[string]string{"ecr-repository": "repository", "secret": "secret", "iam-role": "role"}
			resources := make([]map[string]any, 0, len(res.Steps))
			for _, st := range res.Steps {
				verb := "exists"
				if st.Created {
					verb = "created"
				}
				ac.Log("%s %s: %s", st.Resource, verb, st.ID)
				if name := outputs[st.Resource]; name != "" {
					ac.Output(name, st.ID)
				}
				resources = append(resources, map[string]any{"resource": st.Resource, "id": st.ID, "created": st.Created})
			}
			ac.Output("resources", resources)
			return err
		},
	}
}

func tofuPlan(d *Deployments) scaffolder.Action {
	const id = "opentofu:plan"
	return &simple{
		info: scaffolder.ActionInfo{
			ID: id,
			Description: "Plans an OpenTofu (or Terragrunt) unit of the infrastructure repository and stores the plan, as POST /api/deploy/tofu/runs does. " +
				"Nothing changes until a second owner of the infrastructure approves the plan; opentofu:apply waits for that.",
			Examples: []scaffolder.ActionExample{{Description: "Plan the dev ECR unit.",
				Example: "steps:\n  - id: plan\n    action: opentofu:plan\n    name: Plan infrastructure\n    input:\n      unit: infra/live/dev/ecr\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["unit"], "additionalProperties": false, "properties": {
				"unit": {"type": "string", "title": "Unit", "description": "The unit's directory, relative to the infrastructure root (infra/live/<env>/<unit>)"}}}`),
			Output: schema(id, "output", `{"type": "object", "properties": {
				"runId": {"type": "integer", "title": "The stored plan's run id"},
				"add": {"type": "integer"}, "change": {"type": "integer"}, "destroy": {"type": "integer"},
				"url": {"type": "string", "title": "The plan's page in Portal, where it is approved"}}}`),
			Permission: string(auth.DeployRun),
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in deploy.PlanInput
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			p, err := d.principal(ac)
			if err != nil {
				return err
			}
			ac.Log("Planning %s", in.Unit)
			run, err := d.Infra.Plan(ctx, p, in)
			if err != nil {
				return err
			}
			for _, line := range strings.Split(firstLines(run.Plan, 400), "\n") {
				ac.Log("%s", line)
			}
			url := d.link("/deploys/tofu/%d", run.ID)
			ac.Output("runId", run.ID)
			ac.Output("add", run.Summary.Add)
			ac.Output("change", run.Summary.Change)
			ac.Output("destroy", run.Summary.Destroy)
			ac.Output("url", url)
			if run.Status != deploy.TofuPlanned {
				return errs.E(errs.Invalid, "planning %s failed: %s", in.Unit, run.Message)
			}
			ac.Log("Plan %d stored (%s); a second owner approves it at %s", run.ID, run.Message, url)
			return nil
		},
	}
}

type tofuApplyInput struct {
	RunID          int64 `json:"runId"`
	TimeoutMinutes int   `json:"timeoutMinutes"`
}

func tofuApply(d *Deployments) scaffolder.Action {
	const id = "opentofu:apply"
	return &simple{
		info: scaffolder.ActionInfo{
			ID: id,
			Description: "Waits for a stored OpenTofu plan to be approved by a second owner of the infrastructure, which applies exactly that plan, " +
				"and reports the apply. The step fails when the apply fails or nobody approves in time.",
			Examples: []scaffolder.ActionExample{{Description: "Apply the plan of an earlier step once approved.",
				Example: "steps:\n  - id: apply\n    action: opentofu:apply\n    name: Apply infrastructure\n    input:\n      runId: ${{ steps.plan.output.runId }}\n"}},
			Input: schema(id, "input", `{"type": "object", "required": ["runId"], "additionalProperties": false, "properties": {
				"runId": {"type": "integer", "minimum": 1, "title": "Run", "description": "The run opentofu:plan stored"},
				"timeoutMinutes": {"type": "integer", "minimum": 1, "maximum": 10080, "title": "Timeout", "description": "How long to wait for the approval and apply, in minutes. Default: 1440"}}}`),
			Output: schema(id, "output", `{"type": "object", "properties": {
				"status": {"type": "string", "examples": ["applied"]},
				"approvedBy": {"type": "string"}}}`),
			Permission: string(auth.DeployRun),
		},
		run: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in tofuApplyInput
			if err := ac.DecodeInput(&in); err != nil {
				return err
			}
			if _, err := d.principal(ac); err != nil {
				return err
			}
			timeout := 24 * time.Hour
			if in.TimeoutMinutes > 0 {
				timeout = time.Duration(in.TimeoutMinutes) * time.Minute
			}
			deadline := time.Now().Add(timeout)
			tick := time.NewTicker(d.poll())
			defer tick.Stop()
			announced := map[deploy.TofuStatus]bool{}
			for {
				run, err := d.Infra.Run(ctx, in.RunID)
				if err != nil {
					return err
				}
				switch run.Status {
				case deploy.TofuApplied:
					for _, line := range strings.Split(firstLines(run.Output, 200), "\n") {
						ac.Log("%s", line)
					}
					ac.Output("status", string(run.Status))
					ac.Output("approvedBy", run.ApprovedBy)
					return nil
				case deploy.TofuApplyFailed:
					ac.Output("status", string(run.Status))
					ac.Output("approvedBy", run.ApprovedBy)
					return errs.E(errs.Unavailable, "applying plan %d of %s failed: %s", run.ID, run.Unit, run.Message)
				case deploy.TofuPlanFailed:
					return errs.E(errs.Invalid, "plan %d of %s failed, so there is nothing to apply: %s", run.ID, run.Unit, run.Message)
				case deploy.TofuPlanned:
					if !announced[run.Status] {
						ac.Log("Waiting for a second owner to approve plan %d of %s (%s) at %s", run.ID, run.Unit, run.Message, d.link("/deploys/tofu/%d", run.ID))
					}
				case deploy.TofuApplying:
					if !announced[run.Status] {
						ac.Log("%s approved plan %d; applying", run.ApprovedBy, run.ID)
					}
				}
				announced[run.Status] = true
				if time.Now().After(deadline) {
					return errs.E(errs.Unavailable, "plan %d of %s is still %s after %s", run.ID, run.Unit, run.Status, timeout)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-tick.C:
				}
			}
		},
	}
}
