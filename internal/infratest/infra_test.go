package infratest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const infraRoot = "../../infra"

func TestInfraPassesEveryCheck(t *testing.T) {
	findings, err := Check(infraRoot)
	require.NoError(t, err)
	for _, f := range findings {
		t.Error(f)
	}

	// The tree is the one the checks are meant for: every module is used by a unit in
	// each environment, and every environment has the same units.
	tr, _, err := load(infraRoot)
	require.NoError(t, err)
	units := map[string][]string{}
	for path := range tr.files {
		if filepath.Base(path) == "terragrunt.hcl" {
			rel, err := filepath.Rel(filepath.Join(tr.root, "live"), filepath.Dir(path))
			require.NoError(t, err)
			env, name, _ := strings.Cut(rel, string(filepath.Separator))
			units[env] = append(units[env], name)
		}
	}
	modules, err := os.ReadDir(filepath.Join(infraRoot, "modules"))
	require.NoError(t, err)
	for _, env := range []string{"dev", "staging", "prod"} {
		require.Len(t, units[env], len(modules), "units of %s", env)
		for _, m := range modules {
			require.Contains(t, units[env], m.Name(), "%s has no unit for module %s", env, m.Name())
		}
	}
}

// Each fixture under testdata/ breaks one rule; the checks must report that rule, at the line
// given, and nothing else.
func TestChecksRejectBrokenFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		rule    string
		pos     string // file:line within the fixture
		msg     string
	}{
		{"syntax", RuleSyntax, "main.tf:3", "Missing newline after argument"},
		{"fmt", RuleFormat, "main.tf:2", "tofu fmt"},
		{"layout", RuleLayout, "modules/thing/variables.tf:1", `variable "name" has no description`},
		{"references", RuleRefs, "main.tf:11", "var.nmae is not declared"},
		{"references", RuleRefs, "main.tf:12", "aws_kms_key.key is not declared"},
		{"s3-public", RuleS3PublicAccess, "main.tf:15", "restrict_public_buckets of bucket site must be literally true"},
		{"s3-no-public-access-block", RuleS3PublicAccess, "main.tf:1", "has no aws_s3_bucket_public_access_block"},
		{"s3-encryption", RuleS3Encryption, "main.tf:1", "has no aws_s3_bucket_server_side_encryption_configuration"},
		{"eks-secrets", RuleEKSSecrets, "main.tf:1", "must encrypt secrets with a KMS key"},
		{"ebs-unencrypted", RuleEBSEncryption, "main.tf:1", "encrypted = true and a kms_key_id"},
		{"ecr-encryption", RuleECREncryption, "main.tf:1", "must be encrypted with a KMS key"},
		{"secrets-kms", RuleSecretsKMS, "main.tf:1", "customer managed KMS key"},
		{"secrets-rotation", RuleSecretsRotation, "main.tf:1", "has no aws_secretsmanager_secret_rotation"},
		{"kms-rotation", RuleKMSRotation, "main.tf:1", "enable_key_rotation = true"},
		{"iam-document-wildcard", RuleIAMWildcard, "main.tf:4", `wildcard action "s3:*"`},
		{"iam-jsonencode-wildcard", RuleIAMWildcard, "main.tf:8", `wildcard action "*"`},
		{"iam-heredoc-wildcard", RuleIAMWildcard, "main.tf:3", `wildcard action "iam:*"`},
		{"iam-not-action", RuleIAMWildcard, "main.tf:5", "NotAction"},
		{"sg-open-ssh", RuleOpenIngress, "main.tf:6", "ingress from anywhere"},
		{"sg-open-inline", RuleOpenIngress, "main.tf:1", "ingress from anywhere"},
		{"cloudfront-http", RuleCloudFrontHTTPS, "main.tf:10", "viewer_protocol_policy"},
		{"cloudfront-oai", RuleCloudFrontOrigin, "main.tf:4", "origin access control"},
		{"rds-encryption", RuleRDSEncryption, "main.tf:1", "storage_encrypted = true and a kms_key_id"},
		{"rds-public", RuleRDSPublic, "main.tf:13", "publicly_accessible must be literally false"},
		{"tg-unknown-output", RuleTGDependency, "live/env/b/terragrunt.hcl:18", `has no output "subnet_ids"`},
		{"tg-missing-mock", RuleTGMocks, "live/env/b/terragrunt.hcl:18", "has no mock output"},
		{"tg-bad-mock", RuleTGMocks, "live/env/b/terragrunt.hcl:14", `mock output "vpc" of dependency "a" is not an output`},
		{"tg-missing-dependency-unit", RuleTGDependency, "live/env/b/terragrunt.hcl:9", `dependency "a": no unit at`},
		{"tg-unknown-input", RuleTGInput, "live/_envcommon/b.hcl:11", `input "vpc" is not a variable`},
		{"tg-missing-input", RuleTGInput, "live/env/b/terragrunt.hcl:1", `sets no input for required variable "vpc_id"`},
		{"tg-input-type", RuleTGInput, "live/_envcommon/b.hcl:10", `input "sizes" does not fit the type`},
		{"tg-no-source", RuleTGSource, "live/env/a/terragrunt.hcl:6", "is not a module in this tree"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			dir := filepath.Join("testdata", tt.fixture)
			findings, err := Check(dir)
			require.NoError(t, err)
			require.NotEmpty(t, findings, "no finding for a fixture that breaks %s", tt.rule)
			abs, err := filepath.Abs(dir)
			require.NoError(t, err)
			matched := false
			for _, f := range findings {
				require.Equal(t, tt.rule, f.Rule, "unexpected finding %s", f)
				rel := strings.TrimPrefix(f.Pos, abs+string(filepath.Separator))
				matched = matched || (strings.HasPrefix(rel, tt.pos) && strings.Contains(f.Msg, tt.msg))
			}
			require.True(t, matched, "no finding at %s containing %q in %v", tt.pos, tt.msg, findings)
		})
	}
}

func TestCompliantFixturesPass(t *testing.T) {
	for _, fixture := range []string{"good", "tg-good"} {
		findings, err := Check(filepath.Join("testdata", fixture))
		require.NoError(t, err)
		require.Empty(t, findings, fixture)
	}
}

// With a tofu binary on PATH, its own formatter must agree, and each module must validate
// when its providers can be installed (they cannot without a registry or a provider mirror,
// in which case the validation is skipped).
func TestTofu(t *testing.T) {
	tofu, err := exec.LookPath("tofu")
	if err != nil {
		t.Skip("tofu is not on PATH")
	}
	out, err := exec.Command(tofu, "fmt", "-check", "-recursive", infraRoot).CombinedOutput()
	require.NoError(t, err, "tofu fmt -check: %s", out)

	modules, err := os.ReadDir(filepath.Join(infraRoot, "modules"))
	require.NoError(t, err)
	for _, m := range modules {
		t.Run(m.Name(), func(t *testing.T) {
			dir, err := filepath.Abs(filepath.Join(infraRoot, "modules", m.Name()))
			require.NoError(t, err)
			run := func(args ...string) ([]byte, error) {
				cmd := exec.Command(tofu, append([]string{"-chdir=" + dir}, args...)...)
				cmd.Env = append(os.Environ(), "TF_DATA_DIR="+t.TempDir(), "TF_IN_AUTOMATION=1")
				return cmd.CombinedOutput()
			}
			if out, err := run("init", "-backend=false", "-input=false"); err != nil {
				t.Skipf("tofu init cannot install the providers here: %s", out)
			}
			out, err := run("validate", "-no-color")
			require.NoError(t, err, "tofu validate: %s", out)
		})
	}
}
