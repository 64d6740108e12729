package infratest

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Security rules. Each reads the HCL as written: a setting that must hold is required as a
// literal, because a value that only a variable decides cannot be checked before plan.
const (
	RuleS3PublicAccess   = "s3-public-access-block"
	RuleS3Encryption     = "s3-encryption"
	RuleEKSSecrets       = "eks-secrets-encryption"
	RuleEBSEncryption    = "ebs-encryption"
	RuleECREncryption    = "ecr-encryption"
	RuleSecretsKMS       = "secrets-kms"
	RuleSecretsRotation  = "secrets-rotation"
	RuleKMSRotation      = "kms-key-rotation"
	RuleIAMWildcard      = "iam-wildcard-action"
	RuleOpenIngress      = "sg-open-ingress"
	RuleCloudFrontHTTPS  = "cloudfront-https"
	RuleCloudFrontOrigin = "cloudfront-origin"
	RuleRDSEncryption    = "rds-encryption"
	RuleRDSPublic        = "rds-public"
)

// resource is a resource or data block of a module.
type resource struct {
	typ, name string
	block     *hclsyntax.Block
}

func (r resource) body() *hclsyntax.Body { return r.block.Body }
func (r resource) rng() hcl.Range        { return r.block.DefRange() }

func (m *module) blocks(kind, typ string) []resource {
	var out []resource
	for _, f := range m.files {
		for _, b := range f.body.Blocks {
			if b.Type == kind && len(b.Labels) == 2 && b.Labels[0] == typ {
				out = append(out, resource{typ: typ, name: b.Labels[1], block: b})
			}
		}
	}
	return out
}

func checkSecurity(m *module) []Finding {
	var findings []Finding
	for _, rule := range []func(*module) []Finding{
		checkS3, checkEKSSecrets, checkEBS, checkECR, checkSecrets, checkKMSRotation,
		checkIAM, checkIngress, checkCloudFront, checkRDS,
	} {
		findings = append(findings, rule(m)...)
	}
	return findings
}

// literal returns the value of an expression that needs no variables, or false.
func literal(expr hclsyntax.Expression) (cty.Value, bool) {
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

func literalString(body *hclsyntax.Body, name string) (string, bool) {
	a := body.Attributes[name]
	if a == nil {
		return "", false
	}
	v, ok := literal(a.Expr)
	if !ok || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func literalTrue(body *hclsyntax.Body, name string) bool {
	a := body.Attributes[name]
	if a == nil {
		return false
	}
	v, ok := literal(a.Expr)
	return ok && !v.IsNull() && v.Type() == cty.Bool && v.True()
}

func literalNumber(body *hclsyntax.Body, name string) (int64, bool) {
	a := body.Attributes[name]
	if a == nil {
		return 0, false
	}
	v, ok := literal(a.Expr)
	if !ok || v.IsNull() || v.Type() != cty.Number {
		return 0, false
	}
	n, acc := v.AsBigFloat().Int64()
	return n, acc == 0
}

// literalStrings returns the strings of a literal list or tuple attribute.
func literalStrings(body *hclsyntax.Body, name string) ([]string, bool) {
	a := body.Attributes[name]
	if a == nil {
		return nil, false
	}
	v, ok := literal(a.Expr)
	if !ok || v.IsNull() || !(v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType()) {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.Type() != cty.String {
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// set reports whether an attribute is present and not literally null.
func set(body *hclsyntax.Body, name string) bool {
	a := body.Attributes[name]
	if a == nil {
		return false
	}
	v, ok := literal(a.Expr)
	return !ok || !v.IsNull()
}

// refersTo reports whether any of the named attributes refers to resource typ.name, directly
// or through for_each (for_each = aws_s3_bucket.site with bucket = each.value.id).
func refersTo(body *hclsyntax.Body, typ, name string, attrs ...string) bool {
	for _, attr := range append(attrs, "for_each") {
		a := body.Attributes[attr]
		if a == nil {
			continue
		}
		for _, tr := range a.Expr.Variables() {
			if tr.RootName() != typ || len(tr) < 2 {
				continue
			}
			if step, ok := tr[1].(hcl.TraverseAttr); ok && step.Name == name {
				return true
			}
		}
	}
	return false
}

// companions returns the resources of type typ whose attribute attr refers to r.
func (m *module) companions(r resource, typ, attr string) []resource {
	var out []resource
	for _, c := range m.blocks("resource", typ) {
		if refersTo(c.body(), r.typ, r.name, attr) {
			out = append(out, c)
		}
	}
	return out
}

func checkS3(m *module) []Finding {
	var findings []Finding
	for _, b := range m.blocks("resource", "aws_s3_bucket") {
		pabs := m.companions(b, "aws_s3_bucket_public_access_block", "bucket")
		if len(pabs) == 0 {
			findings = append(findings, findingAt(RuleS3PublicAccess, b.rng(), "bucket %s has no aws_s3_bucket_public_access_block", b.name))
		}
		for _, p := range pabs {
			for _, attr := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
				if !literalTrue(p.body(), attr) {
					findings = append(findings, findingAt(RuleS3PublicAccess, p.rng(), "%s of bucket %s must be literally true", attr, b.name))
				}
			}
		}
		sses := m.companions(b, "aws_s3_bucket_server_side_encryption_configuration", "bucket")
		if len(sses) == 0 {
			findings = append(findings, findingAt(RuleS3Encryption, b.rng(), "bucket %s has no aws_s3_bucket_server_side_encryption_configuration", b.name))
		}
		for _, s := range sses {
			ok := false
			for _, rule := range blocksOf(s.body(), "rule") {
				for _, def := range blocksOf(rule, "apply_server_side_encryption_by_default") {
					alg, _ := literalString(def, "sse_algorithm")
					ok = ok || slices.Contains([]string{"AES256", "aws:kms", "aws:kms:dsse"}, alg)
				}
			}
			if !ok {
				findings = append(findings, findingAt(RuleS3Encryption, s.rng(), "bucket %s: sse_algorithm must be AES256, aws:kms or aws:kms:dsse", b.name))
			}
		}
	}
	return findings
}

func checkEKSSecrets(m *module) []Finding {
	var findings []Finding
	for _, c := range m.blocks("resource", "aws_eks_cluster") {
		ok := false
		for _, enc := range blocksOf(c.body(), "encryption_config") {
			resources, _ := literalStrings(enc, "resources")
			for _, p := range blocksOf(enc, "provider") {
				ok = ok || (slices.Contains(resources, "secrets") && set(p, "key_arn"))
			}
		}
		if !ok {
			findings = append(findings, findingAt(RuleEKSSecrets, c.rng(), "cluster %s must encrypt secrets with a KMS key (encryption_config { resources = [\"secrets\"], provider { key_arn } })", c.name))
		}
	}
	return findings
}

func checkEBS(m *module) []Finding {
	var findings []Finding
	for _, lt := range m.blocks("resource", "aws_launch_template") {
		mappings := blocksOf(lt.body(), "block_device_mappings")
		if len(mappings) == 0 {
			findings = append(findings, findingAt(RuleEBSEncryption, lt.rng(), "launch template %s must map its root volume with KMS encryption", lt.name))
		}
		for _, bdm := range mappings {
			for _, ebs := range blocksOf(bdm, "ebs") {
				if !literalTrue(ebs, "encrypted") || !set(ebs, "kms_key_id") {
					findings = append(findings, findingAt(RuleEBSEncryption, lt.rng(), "launch template %s: every EBS volume needs encrypted = true and a kms_key_id", lt.name))
				}
			}
		}
	}
	for _, v := range m.blocks("resource", "aws_ebs_volume") {
		if !literalTrue(v.body(), "encrypted") || !set(v.body(), "kms_key_id") {
			findings = append(findings, findingAt(RuleEBSEncryption, v.rng(), "volume %s needs encrypted = true and a kms_key_id", v.name))
		}
	}
	for _, ng := range m.blocks("resource", "aws_eks_node_group") {
		if len(blocksOf(ng.body(), "launch_template")) == 0 {
			findings = append(findings, findingAt(RuleEBSEncryption, ng.rng(), "node group %s must use a launch template with KMS-encrypted volumes", ng.name))
		}
	}
	return findings
}

func checkECR(m *module) []Finding {
	var findings []Finding
	for _, r := range m.blocks("resource", "aws_ecr_repository") {
		ok := false
		for _, enc := range blocksOf(r.body(), "encryption_configuration") {
			typ, _ := literalString(enc, "encryption_type")
			ok = ok || (typ == "KMS" && set(enc, "kms_key"))
		}
		if !ok {
			findings = append(findings, findingAt(RuleECREncryption, r.rng(), "repository %s must be encrypted with a KMS key (encryption_type = \"KMS\", kms_key)", r.name))
		}
	}
	return findings
}

func checkSecrets(m *module) []Finding {
	var findings []Finding
	for _, s := range m.blocks("resource", "aws_secretsmanager_secret") {
		if !set(s.body(), "kms_key_id") {
			findings = append(findings, findingAt(RuleSecretsKMS, s.rng(), "secret %s must be encrypted with a customer managed KMS key (kms_key_id)", s.name))
		}
		if len(m.companions(s, "aws_secretsmanager_secret_rotation", "secret_id")) == 0 {
			findings = append(findings, findingAt(RuleSecretsRotation, s.rng(), "secret %s has no aws_secretsmanager_secret_rotation", s.name))
		}
	}
	return findings
}

func checkKMSRotation(m *module) []Finding {
	var findings []Finding
	for _, k := range m.blocks("resource", "aws_kms_key") {
		if !literalTrue(k.body(), "enable_key_rotation") {
			findings = append(findings, findingAt(RuleKMSRotation, k.rng(), "KMS key %s must set enable_key_rotation = true", k.name))
		}
	}
	return findings
}

// wildcardAction reports whether an IAM action grants a whole service or everything.
func wildcardAction(action string) bool {
	return action == "*" || strings.HasSuffix(action, ":*")
}

// checkIAM finds Allow statements with wildcard actions (or NotAction) in
// aws_iam_policy_document data sources, in jsonencode({Statement = ...}) anywhere, and in
// literal JSON policy strings. Deny statements may use wildcards.
func checkIAM(m *module) []Finding {
	var findings []Finding
	for _, d := range m.blocks("data", "aws_iam_policy_document") {
		for _, st := range blocksOf(d.body(), "statement") {
			if effect, ok := literalString(st, "effect"); ok && effect == "Deny" {
				continue
			}
			if st.Attributes["not_actions"] != nil {
				findings = append(findings, findingAt(RuleIAMWildcard, st.Attributes["not_actions"].SrcRange, "policy document %s: an Allow statement with not_actions grants every other action", d.name))
			}
			a := st.Attributes["actions"]
			if a == nil {
				continue
			}
			actions, ok := literalStrings(st, "actions")
			if !ok {
				findings = append(findings, findingAt(RuleIAMWildcard, a.SrcRange, "policy document %s: actions must be a literal list so that it can be reviewed", d.name))
			}
			for _, act := range actions {
				if wildcardAction(act) {
					findings = append(findings, findingAt(RuleIAMWildcard, a.SrcRange, "policy document %s allows wildcard action %q", d.name, act))
				}
			}
		}
	}
	for _, f := range m.files {
		hclsyntax.VisitAll(f.body, func(n hclsyntax.Node) hcl.Diagnostics {
			switch e := n.(type) {
			case *hclsyntax.FunctionCallExpr:
				if e.Name == "jsonencode" && len(e.Args) == 1 {
					findings = append(findings, checkEncodedPolicy(e.Args[0])...)
				}
			case *hclsyntax.Attribute:
				if e.Name == "policy" || e.Name == "assume_role_policy" {
					if v, ok := literal(e.Expr); ok && v.Type() == cty.String {
						findings = append(findings, checkJSONPolicy(e.SrcRange, v.AsString())...)
					}
				}
			}
			return nil
		})
	}
	return findings
}

// objectItem returns the value of key in an object constructor, or nil.
func objectItem(obj *hclsyntax.ObjectConsExpr, key string) hclsyntax.Expression {
	for _, item := range obj.Items {
		if k, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && k.Type() == cty.String && k.AsString() == key {
			return item.ValueExpr
		}
	}
	return nil
}

// checkEncodedPolicy checks the statements of jsonencode({ Statement = [...] }).
func checkEncodedPolicy(arg hclsyntax.Expression) []Finding {
	doc, ok := arg.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	stmts := objectItem(doc, "Statement")
	if stmts == nil {
		return nil
	}
	var statements []hclsyntax.Expression
	switch s := stmts.(type) {
	case *hclsyntax.TupleConsExpr:
		statements = s.Exprs
	case *hclsyntax.ForExpr:
		statements = []hclsyntax.Expression{s.ValExpr}
	default:
		statements = []hclsyntax.Expression{s}
	}
	var findings []Finding
	for _, se := range statements {
		st, ok := se.(*hclsyntax.ObjectConsExpr)
		if !ok {
			findings = append(findings, findingAt(RuleIAMWildcard, se.Range(), "policy statement must be written out so that it can be reviewed"))
			continue
		}
		if e := objectItem(st, "Effect"); e != nil {
			if v, ok := literal(e); ok && v.Type() == cty.String && v.AsString() == "Deny" {
				continue
			}
		}
		if na := objectItem(st, "NotAction"); na != nil {
			findings = append(findings, findingAt(RuleIAMWildcard, na.Range(), "an Allow statement with NotAction grants every other action"))
		}
		ae := objectItem(st, "Action")
		if ae == nil {
			continue
		}
		v, ok := literal(ae)
		if !ok || v.IsNull() {
			findings = append(findings, findingAt(RuleIAMWildcard, ae.Range(), "Action must be a literal string or list so that it can be reviewed"))
			continue
		}
		for _, act := range stringsOf(v) {
			if wildcardAction(act) {
				findings = append(findings, findingAt(RuleIAMWildcard, ae.Range(), "policy allows wildcard action %q", act))
			}
		}
	}
	return findings
}

func stringsOf(v cty.Value) []string {
	if v.Type() == cty.String {
		return []string{v.AsString()}
	}
	var out []string
	if v.CanIterateElements() {
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if !e.IsNull() && e.Type() == cty.String {
				out = append(out, e.AsString())
			}
		}
	}
	return out
}

// checkJSONPolicy checks a policy written as a literal JSON string (heredoc).
func checkJSONPolicy(rng hcl.Range, src string) []Finding {
	var doc struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(src), &doc) != nil || doc.Statement == nil {
		return nil
	}
	type statement struct {
		Effect    string
		Action    json.RawMessage
		NotAction json.RawMessage
	}
	var statements []statement
	if json.Unmarshal(doc.Statement, &statements) != nil {
		var one statement
		if json.Unmarshal(doc.Statement, &one) != nil {
			return nil
		}
		statements = []statement{one}
	}
	var findings []Finding
	for _, st := range statements {
		if st.Effect == "Deny" {
			continue
		}
		if st.NotAction != nil {
			findings = append(findings, findingAt(RuleIAMWildcard, rng, "an Allow statement with NotAction grants every other action"))
		}
		var actions []string
		if json.Unmarshal(st.Action, &actions) != nil {
			var one string
			_ = json.Unmarshal(st.Action, &one)
			actions = []string{one}
		}
		for _, act := range actions {
			if wildcardAction(act) {
				findings = append(findings, findingAt(RuleIAMWildcard, rng, "policy allows wildcard action %q", act))
			}
		}
	}
	return findings
}

// checkIngress allows ingress from anywhere (0.0.0.0/0, ::/0) only on ports 80 and 443 of a
// security group whose resource name says it is an ALB's.
func checkIngress(m *module) []Finding {
	var findings []Finding
	albGroup := func(body *hclsyntax.Body) bool {
		for _, g := range m.blocks("resource", "aws_security_group") {
			if strings.Contains(g.name, "alb") && refersTo(body, g.typ, g.name, "security_group_id") {
				return true
			}
		}
		return false
	}
	webPorts := func(body *hclsyntax.Body) bool {
		from, ok1 := literalNumber(body, "from_port")
		to, ok2 := literalNumber(body, "to_port")
		return ok1 && ok2 && from == to && (from == 80 || from == 443)
	}
	openCIDR := func(body *hclsyntax.Body, attrs ...string) bool {
		for _, attr := range attrs {
			if s, ok := literalString(body, attr); ok && (s == "0.0.0.0/0" || s == "::/0") {
				return true
			}
			list, _ := literalStrings(body, attr)
			if slices.Contains(list, "0.0.0.0/0") || slices.Contains(list, "::/0") {
				return true
			}
		}
		return false
	}
	const msg = "ingress from anywhere is allowed only to an ALB security group on ports 80 and 443"
	for _, g := range m.blocks("resource", "aws_security_group") {
		for _, in := range blocksOf(g.body(), "ingress") {
			if openCIDR(in, "cidr_blocks", "ipv6_cidr_blocks") && !(strings.Contains(g.name, "alb") && webPorts(in)) {
				findings = append(findings, findingAt(RuleOpenIngress, g.rng(), "security group %s: %s", g.name, msg))
			}
		}
	}
	for _, r := range m.blocks("resource", "aws_security_group_rule") {
		if typ, _ := literalString(r.body(), "type"); typ != "ingress" {
			continue
		}
		if openCIDR(r.body(), "cidr_blocks", "ipv6_cidr_blocks") && !(albGroup(r.body()) && webPorts(r.body())) {
			findings = append(findings, findingAt(RuleOpenIngress, r.rng(), "rule %s: %s", r.name, msg))
		}
	}
	for _, r := range m.blocks("resource", "aws_vpc_security_group_ingress_rule") {
		if openCIDR(r.body(), "cidr_ipv4", "cidr_ipv6") && !(albGroup(r.body()) && webPorts(r.body())) {
			findings = append(findings, findingAt(RuleOpenIngress, r.rng(), "rule %s: %s", r.name, msg))
		}
	}
	return findings
}

// checkCloudFront requires HTTPS towards viewers (redirect-to-https or https-only on every
// cache behavior), HTTPS towards custom origins, and S3 origins behind origin access control.
func checkCloudFront(m *module) []Finding {
	var findings []Finding
	for _, d := range m.blocks("resource", "aws_cloudfront_distribution") {
		behaviors := append(blocksOf(d.body(), "default_cache_behavior"), blocksOf(d.body(), "ordered_cache_behavior")...)
		for _, b := range behaviors {
			if p, _ := literalString(b, "viewer_protocol_policy"); p != "redirect-to-https" && p != "https-only" {
				findings = append(findings, findingAt(RuleCloudFrontHTTPS, b.SrcRange, "distribution %s: viewer_protocol_policy must be redirect-to-https or https-only", d.name))
			}
		}
		for _, o := range blocksOf(d.body(), "origin") {
			custom := blocksOf(o, "custom_origin_config")
			for _, c := range custom {
				if p, _ := literalString(c, "origin_protocol_policy"); p != "https-only" {
					findings = append(findings, findingAt(RuleCloudFrontHTTPS, c.SrcRange, "distribution %s: custom origins must be reached with origin_protocol_policy = \"https-only\"", d.name))
				}
			}
			if len(custom) == 0 && (!set(o, "origin_access_control_id") || len(blocksOf(o, "s3_origin_config")) > 0) {
				findings = append(findings, findingAt(RuleCloudFrontOrigin, o.SrcRange, "distribution %s: S3 origins must use origin access control (origin_access_control_id), not an origin access identity", d.name))
			}
		}
	}
	return findings
}

// checkRDS requires KMS-encrypted storage on every RDS instance and cluster, and refuses one
// that is reachable from the internet.
func checkRDS(m *module) []Finding {
	var findings []Finding
	for _, typ := range []string{"aws_db_instance", "aws_rds_cluster"} {
		for _, r := range m.blocks("resource", typ) {
			if !literalTrue(r.body(), "storage_encrypted") || !set(r.body(), "kms_key_id") {
				findings = append(findings, findingAt(RuleRDSEncryption, r.rng(), "%s %s needs storage_encrypted = true and a kms_key_id", typ, r.name))
			}
			if a := r.body().Attributes["publicly_accessible"]; a != nil {
				if v, ok := literal(a.Expr); !ok || v.IsNull() || v.Type() != cty.Bool || v.True() {
					findings = append(findings, findingAt(RuleRDSPublic, a.SrcRange, "%s %s: publicly_accessible must be literally false", typ, r.name))
				}
			}
		}
	}
	return findings
}
