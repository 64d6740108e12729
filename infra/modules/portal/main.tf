# Portal's own AWS side in one environment's account: its image repository, the roles GitHub
# Actions deploys Portal and the microfrontends with, the role Portal's pods run as, the
# External Secrets Operator's role, and Portal's PostgreSQL database. The files split it up:
# ecr.tf, github.tf, pod.tf, database.tf. Everything is encrypted with the one key below.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  cluster_arn = "arn:${local.partition}:eks:${local.region}:${local.account_id}:cluster/${var.cluster_name}"

  # Secrets Manager appends a random six-character suffix to every secret ARN.
  runtime_secret_arn = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.runtime_secret_name}-??????"

  # The static sites served by CloudFront are the frontends; the rest (TechDocs) are Portal's.
  frontend_bucket_arns = [for site, arn in var.site_bucket_arns : arn if contains(keys(var.site_distribution_arns), site)]
}

resource "aws_kms_key" "this" {
  description             = "Portal of ${var.name_prefix}: image repository, database, its backups and credentials"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}-portal"
  target_key_id = aws_kms_key.this.key_id
}

# EKS Pod Identity's trust: the agent assumes the role for the pods of the associated service
# account, and no other principal can.
data "aws_iam_policy_document" "pod_identity_assume" {
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
