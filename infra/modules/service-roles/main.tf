# One IAM role per workload, bound to its Kubernetes service account with EKS Pod Identity,
# allowed exactly what the workload needs: its own secrets, named buckets and repositories.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  cluster_arn = "arn:${data.aws_partition.current.partition}:eks:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:cluster/${var.cluster_name}"

  # The secrets of each service: those whose key starts with "<service>/".
  service_secret_arns = {
    for name in keys(var.services) : name => [for key, arn in var.secret_arns : arn if startswith(key, "${name}/")]
  }

  # Services that are granted anything at all get an inline policy.
  granted = {
    for name, s in var.services : name => s
    if length(local.service_secret_arns[name]) > 0 || length(s.s3_read_bucket_arns) > 0 || length(s.s3_read_write_bucket_arns) > 0 || length(s.ecr_read_repository_arns) > 0 || s.eks_describe_cluster
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "EksPodIdentityAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = var.services

  name               = "${var.name_prefix}-${each.key}"
  description        = "${each.key} pods (${each.value.namespace}/${each.value.service_account}) in ${var.cluster_name}."
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = merge(var.tags, { Service = each.key })
}

data "aws_iam_policy_document" "this" {
  for_each = local.granted

  dynamic "statement" {
    for_each = length(local.service_secret_arns[each.key]) > 0 ? [local.service_secret_arns[each.key]] : []
    content {
      sid       = "ReadOwnSecrets"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(local.service_secret_arns[each.key]) > 0 ? [var.secrets_kms_key_arn] : []
    content {
      sid       = "DecryptSecretsThroughSecretsManager"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(concat(each.value.s3_read_bucket_arns, each.value.s3_read_write_bucket_arns)) > 0 ? [concat(each.value.s3_read_bucket_arns, each.value.s3_read_write_bucket_arns)] : []
    content {
      sid       = "ListBuckets"
      effect    = "Allow"
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(concat(each.value.s3_read_bucket_arns, each.value.s3_read_write_bucket_arns)) > 0 ? [concat(each.value.s3_read_bucket_arns, each.value.s3_read_write_bucket_arns)] : []
    content {
      sid       = "ReadObjects"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = [for arn in statement.value : "${arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.s3_read_write_bucket_arns) > 0 ? [each.value.s3_read_write_bucket_arns] : []
    content {
      sid       = "WriteObjects"
      effect    = "Allow"
      actions   = ["s3:PutObject", "s3:DeleteObject"]
      resources = [for arn in statement.value : "${arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.ecr_read_repository_arns) > 0 ? [each.value.ecr_read_repository_arns] : []
    content {
      sid       = "ResolveImageDigests"
      effect    = "Allow"
      actions   = ["ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListImages"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = each.value.eks_describe_cluster ? [local.cluster_arn] : []
    content {
      sid       = "DescribeCluster"
      effect    = "Allow"
      actions   = ["eks:DescribeCluster"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.granted

  name   = "${each.key}-least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.this[each.key].json
}

resource "aws_eks_pod_identity_association" "this" {
  for_each = var.services

  cluster_name    = var.cluster_name
  namespace       = each.value.namespace
  service_account = each.value.service_account
  role_arn        = aws_iam_role.this[each.key].arn

  tags = merge(var.tags, { Service = each.key })
}

# Kubernetes API access for workloads that deploy (the portal): an access entry for the role,
# with an access policy scoped to the namespaces it deploys into.
resource "aws_eks_access_entry" "this" {
  for_each = { for name, s in var.services : name => s if s.eks_access != null }

  cluster_name  = var.cluster_name
  principal_arn = aws_iam_role.this[each.key].arn
  type          = "STANDARD"

  tags = merge(var.tags, { Service = each.key })
}

resource "aws_eks_access_policy_association" "this" {
  for_each = { for name, s in var.services : name => s if s.eks_access != null }

  cluster_name  = var.cluster_name
  principal_arn = aws_eks_access_entry.this[each.key].principal_arn
  policy_arn    = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/${each.value.eks_access.policy}"

  access_scope {
    type       = "namespace"
    namespaces = each.value.eks_access.namespaces
  }
}
