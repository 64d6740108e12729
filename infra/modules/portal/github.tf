# The roles GitHub Actions assumes through its OIDC provider (no long-lived keys anywhere):
# release.yml's deploy role (variable DEPLOY_ROLE_ARN of the GitHub environment) and the
# frontends pipeline's role (FRONTENDS_ROLE_ARN). Only jobs of this repository that run in this
# account's GitHub environment get a token these roles accept; the environment's protection
# rules (required reviewers on production) are therefore part of the access control.

resource "aws_iam_openid_connect_provider" "github" {
  count = var.github_oidc_provider_arn == null ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  # IAM verifies GitHub's certificate against its own trusted CAs and ignores these; older
  # provider versions still require the list.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]

  tags = var.tags
}

locals {
  github_oidc_provider_arn = var.github_oidc_provider_arn != null ? var.github_oidc_provider_arn : one(aws_iam_openid_connect_provider.github[*].arn)
}

data "aws_iam_policy_document" "github_assume" {
  statement {
    sid     = "GitHubActionsEnvironment"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # A job with `environment:` gets the subject repo:<owner>/<name>:environment:<name>; jobs
    # without one, pull requests and other repositories get other subjects.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

################################################################################
# Release: push Portal's image, then helm upgrade in the portal namespace
################################################################################

resource "aws_iam_role" "release" {
  name                 = "${var.name_prefix}-portal-release"
  description          = "release.yml (${var.github_repository}, environment ${var.github_environment}): push Portal's image and deploy its chart."
  assume_role_policy   = data.aws_iam_policy_document.github_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Service = "portal" })
}

data "aws_iam_policy_document" "release" {
  # GetAuthorizationToken has no resource-level permissions; the token only opens what the
  # statements below allow.
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "PushPortalImages"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.portal.arn]
  }

  statement {
    sid       = "DescribeCluster"
    effect    = "Allow"
    actions   = ["eks:DescribeCluster"]
    resources = [local.cluster_arn]
  }
}

resource "aws_iam_role_policy" "release" {
  name   = "portal-release"
  role   = aws_iam_role.release.id
  policy = data.aws_iam_policy_document.release.json
}

# Helm acts in Portal's namespace only. The namespace itself must exist before the first
# release: creating namespaces is cluster-scoped, which this entry does not grant.
resource "aws_eks_access_entry" "release" {
  cluster_name  = var.cluster_name
  principal_arn = aws_iam_role.release.arn
  type          = "STANDARD"

  tags = merge(var.tags, { Service = "portal" })
}

resource "aws_eks_access_policy_association" "release" {
  cluster_name  = var.cluster_name
  principal_arn = aws_eks_access_entry.release.principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"

  access_scope {
    type       = "namespace"
    namespaces = [var.namespace]
  }
}

################################################################################
# Frontends: upload a microfrontend to its bucket and invalidate its distribution
################################################################################

resource "aws_iam_role" "frontends" {
  name                 = "${var.name_prefix}-frontends-deploy"
  description          = "Frontends pipeline (${var.github_repository}, environment ${var.github_environment}): upload the microfrontends and invalidate CloudFront."
  assume_role_policy   = data.aws_iam_policy_document.github_assume.json
  max_session_duration = 3600

  tags = merge(var.tags, { Service = "frontends" })
}

data "aws_iam_policy_document" "frontends" {
  # head-bucket and `aws s3 sync` (which lists what is there to upload only what changed).
  statement {
    sid       = "ListSiteBuckets"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = local.frontend_bucket_arns
  }

  # Uploads only: files of earlier releases stay for pages still open on them, so the pipeline
  # never deletes (and cannot).
  statement {
    sid       = "UploadSiteFiles"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = [for arn in local.frontend_bucket_arns : "${arn}/*"]
  }

  # The pipeline finds a site's distribution by its comment; listing has no resource-level
  # permissions and shows configuration only.
  statement {
    sid       = "FindDistributions"
    effect    = "Allow"
    actions   = ["cloudfront:ListDistributions"]
    resources = ["*"]
  }

  statement {
    sid       = "InvalidateEntryPoints"
    effect    = "Allow"
    actions   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]
    resources = values(var.site_distribution_arns)
  }

  dynamic "statement" {
    for_each = var.ofrep_client_key_secret_arn != null ? [var.ofrep_client_key_secret_arn] : []
    content {
      sid       = "ReadOfrepClientKey"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.ofrep_client_key_secret_arn != null && var.secrets_kms_key_arn != null ? [var.secrets_kms_key_arn] : []
    content {
      sid       = "DecryptOfrepClientKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "frontends" {
  name   = "frontends-deploy"
  role   = aws_iam_role.frontends.id
  policy = data.aws_iam_policy_document.frontends.json
}
