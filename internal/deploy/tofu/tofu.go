// Package tofu runs OpenTofu (`tofu`, found on PATH) in a unit's directory: init, plan to a saved plan file, show
// it, and apply exactly that plan later. A unit with a terragrunt.hcl runs through Terragrunt instead, with tofu
// as its binary. It implements deploy.TofuRunner.
package tofu

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/errs"
)

// Runner runs OpenTofu commands.
type Runner struct {
	// Tofu is the tofu binary; default "tofu" from PATH.
	Tofu string
	// Terragrunt is the terragrunt binary for units with a terragrunt.hcl; default "terragrunt" from PATH.
	Terragrunt string
	// Env is added to the commands' environment (credentials, TF_PLUGIN_CACHE_DIR, ...).
	Env []string
}

var _ deploy.TofuRunner = Runner{}

// maxOutput bounds what is kept of a command's output.
const maxOutput = 256 << 10

func (r Runner) command(ctx context.Context, dir string, args ...string) (*exec.Cmd, error) {
	tofu, err := exec.LookPath(or(r.Tofu, "tofu"))
	if err != nil {
		return nil, errs.E(errs.Unavailable, "OpenTofu is not installed: %q not found on PATH", or(r.Tofu, "tofu"))
	}
	bin := tofu
	env := append(os.Environ(), "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	if _, err := os.Stat(filepath.Join(dir, "terragrunt.hcl")); err == nil {
		tg, err := exec.LookPath(or(r.Terragrunt, "terragrunt"))
		if err != nil {
			return nil, errs.E(errs.Unavailable, "%s is a Terragrunt unit, but terragrunt is not installed", dir)
		}
		bin = tg
		env = append(env, "TG_TF_PATH="+tofu, "TERRAGRUNT_TFPATH="+tofu, "TG_NON_INTERACTIVE=true")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(env, r.Env...)
	return cmd, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// run runs one command and returns its combined output; a failure's message ends with the output's last lines.
func (r Runner) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd, err := r.command(ctx, dir, args...)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err = cmd.Run()
	text := out.String()
	if len(text) > maxOutput {
		text = text[len(text)-maxOutput:]
	}
	if err != nil {
		if ctx.Err() != nil {
			return text, errs.Wrap(errs.Unavailable, ctx.Err(), "tofu %s in %s was interrupted", args[0], dir)
		}
		return text, errs.Wrap(errs.Invalid, err, "tofu %s in %s failed: %s", args[0], dir, tail(text, 20))
	}
	return text, nil
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.TrimSpace(strings.Join(parts, "\n"))
}

// Plan initialises the unit and saves a plan; the plan's text is `tofu show`, and its summary counts the
// resource changes of `tofu show -json`.
func (r Runner) Plan(ctx context.Context, dir string) (deploy.PlanOutput, error) {
	if _, err := r.run(ctx, dir, "init", "-input=false", "-no-color"); err != nil {
		return deploy.PlanOutput{}, err
	}
	tmp, err := os.MkdirTemp("", "tofu-plan-")
	if err != nil {
		return deploy.PlanOutput{}, errs.Wrap(errs.Internal, err, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	planPath := filepath.Join(tmp, "unit.tfplan")
	if _, err := r.run(ctx, dir, "plan", "-input=false", "-no-color", "-out="+planPath); err != nil {
		return deploy.PlanOutput{}, err
	}
	text, err := r.run(ctx, dir, "show", "-no-color", planPath)
	if err != nil {
		return deploy.PlanOutput{}, err
	}
	js, err := r.run(ctx, dir, "show", "-json", planPath)
	if err != nil {
		return deploy.PlanOutput{}, err
	}
	summary, err := summarise(js)
	if err != nil {
		return deploy.PlanOutput{}, err
	}
	file, err := os.ReadFile(planPath)
	if err != nil {
		return deploy.PlanOutput{}, errs.Wrap(errs.Internal, err, "reading the plan: %v", err)
	}
	return deploy.PlanOutput{Text: text, File: file, Summary: summary}, nil
}

func summarise(showJSON string) (deploy.PlanSummary, error) {
	var plan struct {
		ResourceChanges []struct {
			Change struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	// tofu may print warnings before the JSON document.
	if i := strings.Index(showJSON, "{"); i > 0 {
		showJSON = showJSON[i:]
	}
	if err := json.Unmarshal([]byte(showJSON), &plan); err != nil {
		return deploy.PlanSummary{}, errs.Wrap(errs.Internal, err, "cannot read tofu show -json: %v", err)
	}
	var s deploy.PlanSummary
	for _, rc := range plan.ResourceChanges {
		a := strings.Join(rc.Change.Actions, ",")
		switch a {
		case "create":
			s.Add++
		case "update":
			s.Change++
		case "delete":
			s.Destroy++
		case "delete,create", "create,delete":
			s.Add++
			s.Destroy++
		}
	}
	return s, nil
}

// Apply applies a saved plan in the unit; OpenTofu refuses a plan made against an older state ("Saved plan is
// stale"), which comes back as the error.
func (r Runner) Apply(ctx context.Context, dir string, planFile []byte) (string, error) {
	if len(planFile) == 0 {
		return "", errs.E(errs.Invalid, "no saved plan to apply")
	}
	tmp, err := os.MkdirTemp("", "tofu-apply-")
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	planPath := filepath.Join(tmp, "unit.tfplan")
	if err := os.WriteFile(planPath, planFile, 0o600); err != nil {
		return "", errs.Wrap(errs.Internal, err, "writing the plan: %v", err)
	}
	if _, err := r.run(ctx, dir, "init", "-input=false", "-no-color"); err != nil {
		return "", err
	}
	return r.run(ctx, dir, "apply", "-input=false", "-no-color", planPath)
}
