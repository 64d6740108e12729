package tofu_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/billpay/portal/internal/auth"
	"github.com/billpay/portal/internal/deploy"
	"github.com/billpay/portal/internal/deploy/tofu"
	"github.com/billpay/portal/internal/errs"
	"github.com/billpay/portal/internal/kube/kubetest"
	"github.com/billpay/portal/internal/store"
)

// mustTofu returns the tofu built by scripts/kube-testenv.sh build (skipped outside CI when it is not built).
func mustTofu(t *testing.T) string {
	t.Helper()
	bin, err := kubetest.BinDir()
	if errors.Is(err, kubetest.ErrNotBuilt) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
	require.NoError(t, err)
	return filepath.Join(bin, "tofu")
}

// unit writes an OpenTofu unit that needs no provider download: terraform_data is built in.
func unit(t *testing.T, dir, input string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.tf"), []byte(`terraform {
  required_version = ">= 1.6"
}

resource "terraform_data" "release_marker" {
  input = "`+input+`"
}

output "marker" {
  value = terraform_data.release_marker.output
}
`), 0o644))
}

func TestRunner(t *testing.T) {
	r := tofu.Runner{Tofu: mustTofu(t)}
	dir := t.TempDir()
	unit(t, dir, "v1")
	ctx := t.Context()

	plan, err := r.Plan(ctx, dir)
	require.NoError(t, err)
	require.Equal(t, deploy.PlanSummary{Add: 1}, plan.Summary)
	require.Contains(t, plan.Text, "terraform_data.release_marker will be created")
	require.NotEmpty(t, plan.File)

	out, err := r.Apply(ctx, dir, plan.File)
	require.NoError(t, err)
	require.Contains(t, out, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.")

	again, err := r.Plan(ctx, dir)
	require.NoError(t, err)
	require.Equal(t, deploy.PlanSummary{}, again.Summary, "nothing left to do")

	t.Run("ErrStalePlan", func(t *testing.T) {
		unit(t, dir, "v2")
		first, err := r.Plan(ctx, dir)
		require.NoError(t, err)
		require.Equal(t, deploy.PlanSummary{Change: 1}, first.Summary, "a changed input updates terraform_data in place")
		second, err := r.Plan(ctx, dir)
		require.NoError(t, err)
		_, err = r.Apply(ctx, dir, second.File)
		require.NoError(t, err)
		_, err = r.Apply(ctx, dir, first.File)
		require.Error(t, err)
		require.Contains(t, errs.MessageOf(err), "Saved plan is stale")
	})

	t.Run("ErrInvalidUnit", func(t *testing.T) {
		bad := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(bad, "main.tf"), []byte(`resource "terraform_data" "x" { input = undefined_thing }`), 0o644))
		_, err := r.Plan(ctx, bad)
		require.True(t, errs.Is(err, errs.Invalid), "%v", err)
		require.Contains(t, errs.MessageOf(err), "tofu plan")
	})

	// Terragrunt cannot be installed on these machines (the module proxy refuses it), so only the dispatch is
	// tested: a unit with a terragrunt.hcl is never planned by tofu directly, and a missing terragrunt says so.
	t.Run("ErrTerragruntNotInstalled", func(t *testing.T) {
		tg := t.TempDir()
		unit(t, tg, "v1")
		require.NoError(t, os.WriteFile(filepath.Join(tg, "terragrunt.hcl"), []byte("inputs = {}\n"), 0o644))
		_, err := tofu.Runner{Tofu: mustTofu(t), Terragrunt: "terragrunt-not-here"}.Plan(ctx, tg)
		require.True(t, errs.Is(err, errs.Unavailable), "%v", err)
		require.Contains(t, errs.MessageOf(err), "is a Terragrunt unit, but terragrunt is not installed")
	})

	t.Run("ErrNotInstalled", func(t *testing.T) {
		_, err := tofu.Runner{Tofu: "tofu-not-here"}.Plan(ctx, dir)
		require.True(t, errs.Is(err, errs.Unavailable), "%v", err)
	})
}

// TestInfraApprovals plans a unit, refuses the planner's own approval, applies on a second owner's, and never
// applies a plan twice.
func TestInfraApprovals(t *testing.T) {
	root := t.TempDir()
	unit(t, filepath.Join(root, "infra/live/dev/marker"), "v1")
	st, err := store.Open(t.Context(), "", t.TempDir())
	require.NoError(t, err)
	require.NoError(t, st.Migrate(t.Context()))
	t.Cleanup(func() { _ = st.Close() })
	infra := &deploy.Infra{Store: st, Runner: tofu.Runner{Tofu: mustTofu(t)}, Root: root, Owner: "group:default/platform-team"}
	alice := auth.Principal{Subject: "user:default/alice", Kind: auth.KindUser, Ownership: []string{"group:default/platform-team"}}
	bob := auth.Principal{Subject: "user:default/bob", Kind: auth.KindUser, Ownership: []string{"group:default/platform-team"}}
	mallory := auth.Principal{Subject: "user:default/mallory", Kind: auth.KindUser}
	ctx := t.Context()

	_, err = infra.Plan(ctx, mallory, deploy.PlanInput{Unit: "infra/live/dev/marker"})
	require.True(t, errs.Is(err, errs.Forbidden), "%v", err)
	_, err = infra.Plan(ctx, alice, deploy.PlanInput{Unit: "../outside"})
	require.True(t, errs.Is(err, errs.Invalid), "%v", err)

	run, err := infra.Plan(ctx, alice, deploy.PlanInput{Unit: "infra/live/dev/marker"})
	require.NoError(t, err)
	require.Equal(t, deploy.TofuPlanned, run.Status)
	require.Equal(t, "dev", run.Environment)
	require.Equal(t, deploy.PlanSummary{Add: 1}, run.Summary)
	require.Contains(t, run.Plan, "terraform_data.release_marker will be created")

	_, err = infra.Approve(ctx, alice, run.ID)
	require.True(t, errs.Is(err, errs.Forbidden), "the planner cannot approve: %v", err)

	applied, err := infra.Approve(ctx, bob, run.ID)
	require.NoError(t, err)
	require.Equal(t, deploy.TofuApplied, applied.Status, applied.Message)
	require.Equal(t, bob.Subject, applied.ApprovedBy)
	require.True(t, strings.Contains(applied.Output, "Apply complete!"), applied.Output)
	_, err = os.Stat(filepath.Join(root, "infra/live/dev/marker/terraform.tfstate"))
	require.NoError(t, err, "state written by the apply")

	_, err = infra.Approve(ctx, bob, run.ID)
	require.True(t, errs.Is(err, errs.Conflict), "applied once only: %v", err)

	runs, err := infra.Runs(ctx, "infra/live/dev/marker", 10)
	require.NoError(t, err)
	require.Len(t, runs, 1)
}
