# The role Portal's pods run as, <name_prefix>-portal. It is bound to the chart's service account
# both ways the chart supports: an EKS Pod Identity association, and IRSA for releases that set
# serviceAccount.roleArn (values-prod.yaml does); when both are present, the AWS SDK takes the
# IRSA web identity first, so both must lead to this role.

resource "aws_iam_openid_connect_provider" "cluster" {
  count = var.cluster_oidc_provider_arn == null ? 1 : 0

  url            = var.cluster_oidc_issuer_url
  client_id_list = ["sts.amazonaws.com"]
  # IAM verifies EKS issuers against its own trusted CAs; the list only satisfies older providers.
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]

  tags = merge(var.tags, { Name = "${var.cluster_name}-irsa" })
}

locals {
  cluster_oidc_provider_arn = var.cluster_oidc_provider_arn != null ? var.cluster_oidc_provider_arn : one(aws_iam_openid_connect_provider.cluster[*].arn)
  cluster_oidc_issuer       = trimprefix(var.cluster_oidc_issuer_url, "https://")

  # Provisioning tags what it creates with this; the role may create only resources so tagged.
  managed_by = "billpay-portal"
}

data "aws_iam_policy_document" "pod_assume" {
  statement {
    sid     = "EksPodIdentity"
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }

  statement {
    sid     = "Irsa"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.cluster_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.cluster_oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.cluster_oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }

  # Portal in another account deploys here by assuming this role (its deploy.environments[]
  # .roleArn). Trusting the account with a condition on the role, rather than the role itself,
  # lets this account be applied before the other one exists.
  dynamic "statement" {
    for_each = length(var.trusted_role_arns) > 0 ? [var.trusted_role_arns] : []
    content {
      sid     = "PortalOfOtherAccounts"
      effect  = "Allow"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "AWS"
        identifiers = distinct([for arn in statement.value : "arn:${local.partition}:iam::${split(":", arn)[4]}:root"])
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }
    }
  }
}

resource "aws_iam_role" "pod" {
  name                 = "${var.name_prefix}-portal"
  description          = "Portal pods (${var.namespace}/${var.service_account}) in ${var.cluster_name}."
  assume_role_policy   = data.aws_iam_policy_document.pod_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Service = "portal" })
}

data "aws_iam_policy_document" "pod" {
  # TechDocs: publish (PutObject, DeleteObjects of stale pages), serve (GetObject), list a site.
  statement {
    sid       = "ListTechDocs"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.techdocs_bucket_arn]
  }

  statement {
    sid       = "ReadWriteTechDocs"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.techdocs_bucket_arn}/*"]
  }

  # Deploys resolve image tags to digests (BatchGetImage, the call a pull makes) in any
  # repository of the account, including those provisioning creates later.
  statement {
    sid       = "ResolveImages"
    effect    = "Allow"
    actions   = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListImages"]
    resources = ["arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/*"]
  }

  # Provisioning creates a new service's repository, tagged as Portal's.
  statement {
    sid       = "ProvisionRepositories"
    effect    = "Allow"
    actions   = ["ecr:CreateRepository", "ecr:TagResource"]
    resources = ["arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/billpay.io/managed-by"
      values   = [local.managed_by]
    }
  }

  # New repositories are KMS-encrypted with ECR's AWS managed key, whose ID is not known here;
  # ECR needs the grant made on the caller's behalf, and only ECR may ask for it.
  statement {
    sid       = "EncryptProvisionedRepositories"
    effect    = "Allow"
    actions   = ["kms:CreateGrant", "kms:DescribeKey"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ecr.${local.region}.amazonaws.com"]
    }
  }

  # Provisioning creates a new service's secret (<service>/app), tagged as Portal's, with a random
  # placeholder value; an existing one is only described, never read.
  statement {
    sid       = "ProvisionSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:CreateSecret", "secretsmanager:TagResource"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:*/app-??????"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/billpay.io/managed-by"
      values   = [local.managed_by]
    }
  }

  statement {
    sid       = "DescribeProvisionedSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:DescribeSecret"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:*/app-??????"]
  }

  # Portal's own secrets, for the chart's csi mode, where the driver reads them as the pod.
  statement {
    sid       = "ReadOwnSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [local.runtime_secret_arn, aws_db_instance.portal.master_user_secret[0].secret_arn]
  }

  statement {
    sid       = "DecryptOwnSecrets"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  # Deploys find the cluster's endpoint and CA; the Kubernetes API access itself is the access
  # entry below.
  statement {
    sid       = "DescribeCluster"
    effect    = "Allow"
    actions   = ["eks:DescribeCluster"]
    resources = [local.cluster_arn]
  }

  # Deploys to the other environments' accounts, as their Portal roles.
  dynamic "statement" {
    for_each = length(var.assume_role_arns) > 0 ? [var.assume_role_arns] : []
    content {
      sid       = "AssumeOtherEnvironments"
      effect    = "Allow"
      actions   = ["sts:AssumeRole"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role_policy" "pod" {
  name   = "portal-least-privilege"
  role   = aws_iam_role.pod.id
  policy = data.aws_iam_policy_document.pod.json
}

resource "aws_eks_pod_identity_association" "pod" {
  cluster_name    = var.cluster_name
  namespace       = var.namespace
  service_account = var.service_account
  role_arn        = aws_iam_role.pod.arn

  tags = merge(var.tags, { Service = "portal" })
}

# Deploys call the Kubernetes API with an EKS token of this role: edit rights in the namespaces
# Portal deploys into, nothing cluster-wide.
resource "aws_eks_access_entry" "pod" {
  cluster_name  = var.cluster_name
  principal_arn = aws_iam_role.pod.arn
  type          = "STANDARD"

  tags = merge(var.tags, { Service = "portal" })
}

resource "aws_eks_access_policy_association" "pod" {
  cluster_name  = var.cluster_name
  principal_arn = aws_eks_access_entry.pod.principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"

  access_scope {
    type       = "namespace"
    namespaces = var.deploy_namespaces
  }
}

################################################################################
# External Secrets Operator: copies Portal's secrets into the portal namespace
################################################################################

resource "aws_iam_role" "external_secrets" {
  count = var.external_secrets != null ? 1 : 0

  name                 = "${var.name_prefix}-external-secrets"
  description          = "External Secrets Operator (${var.external_secrets.namespace}/${var.external_secrets.service_account}) in ${var.cluster_name}: Portal's secrets only."
  assume_role_policy   = data.aws_iam_policy_document.pod_identity_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Service = "external-secrets" })
}

data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid       = "ReadPortalSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [local.runtime_secret_arn, aws_db_instance.portal.master_user_secret[0].secret_arn]
  }

  statement {
    sid       = "DecryptPortalSecrets"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "external_secrets" {
  count = var.external_secrets != null ? 1 : 0

  name   = "read-portal-secrets"
  role   = aws_iam_role.external_secrets[0].id
  policy = data.aws_iam_policy_document.external_secrets.json
}

resource "aws_eks_pod_identity_association" "external_secrets" {
  count = var.external_secrets != null ? 1 : 0

  cluster_name    = var.cluster_name
  namespace       = var.external_secrets.namespace
  service_account = var.external_secrets.service_account
  role_arn        = aws_iam_role.external_secrets[0].arn

  tags = merge(var.tags, { Service = "external-secrets" })
}
