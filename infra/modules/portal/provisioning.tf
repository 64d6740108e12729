# What Portal's provisioning (deploy:provision, POST /api/deploy/provision) may do to IAM and
# EKS for a new service: create its role, the Pod Identity association that gives the role to
# the service's pods, and its access entry. Creating roles is what lets an
# identity grant itself anything, so Portal may create a role only under service_role_path and
# only with the boundary below, which caps every service role at what a service may ever do,
# whatever inline policy Portal (or anyone who compromised it) puts on the role.

locals {
  service_role_arns     = "arn:${local.partition}:iam::${local.account_id}:role${var.service_role_path}*"
  service_boundary_arn  = "arn:${local.partition}:iam::${local.account_id}:policy/${var.service_boundary_name}"
  service_access_policy = "arn:${local.partition}:eks::aws:cluster-access-policy/${var.service_access_policy}"
  # Access entry ARNs end in the principal's type, account, name and a UUID.
  cluster_access_entries = "arn:${local.partition}:eks:${local.region}:${local.account_id}:access-entry/${var.cluster_name}/*"
  # Pod Identity association ARNs end in the association's ID.
  cluster_pod_identity_associations = "arn:${local.partition}:eks:${local.region}:${local.account_id}:podidentityassociation/${var.cluster_name}/*"
}

# The most any provisioned service may do: read Secrets Manager secrets named <service>/app and
# decrypt them only through Secrets Manager. A role's effective rights are the intersection of this
# and its own policies, so the inline policy still picks the one secret that is its own.
data "aws_iam_policy_document" "service_boundary" {
  statement {
    sid       = "ReadServiceSecrets"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:*/app-??????"]
  }

  statement {
    sid       = "DecryptServiceSecretsThroughSecretsManager"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "service_boundary" {
  name        = var.service_boundary_name
  description = "Permissions boundary of the service roles Portal provisions under ${var.service_role_path}: their own <service>/app secret at most."
  policy      = data.aws_iam_policy_document.service_boundary.json

  tags = merge(var.tags, { Service = "portal" })
}

data "aws_iam_policy_document" "provisioning" {
  # A role under the services' path, only with the boundary; PutRolePolicy checks the boundary
  # the role already has, so Portal cannot put a policy on a role that lacks it.
  statement {
    sid       = "CreateBoundedServiceRoles"
    effect    = "Allow"
    actions   = ["iam:CreateRole", "iam:PutRolePolicy"]
    resources = [local.service_role_arns]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.service_boundary_arn]
    }
  }

  # GetRole is how provisioning finds an existing role and checks its boundary before taking it over.
  statement {
    sid       = "ReadServiceRoles"
    effect    = "Allow"
    actions   = ["iam:GetRole"]
    resources = [local.service_role_arns]
  }

  # CreateRole with tags needs TagRole too; Portal tags every role it creates as its own.
  statement {
    sid       = "TagServiceRoles"
    effect    = "Allow"
    actions   = ["iam:TagRole"]
    resources = [local.service_role_arns]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/billpay.io/managed-by"
      values   = [local.managed_by]
    }
  }

  # Belt and braces: whatever else this role is granted later, it can never take a boundary off,
  # swap it for another, or change what the boundary allows.
  statement {
    sid       = "NeverRemoveBoundaries"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary"]
    resources = ["*"]
  }

  statement {
    sid       = "NeverSetAnotherBoundary"
    effect    = "Deny"
    actions   = ["iam:PutRolePermissionsBoundary"]
    resources = ["*"]

    condition {
      test     = "StringNotEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.service_boundary_arn]
    }
  }

  statement {
    sid    = "NeverChangeTheBoundary"
    effect = "Deny"
    actions = [
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:SetDefaultPolicyVersion",
    ]
    resources = [local.service_boundary_arn]
  }

  # An access entry only for a role under the services' path, STANDARD, with no Kubernetes groups
  # or username of Portal's choosing: its only rights come from the access policy below.
  statement {
    sid       = "CreateServiceAccessEntries"
    effect    = "Allow"
    actions   = ["eks:CreateAccessEntry"]
    resources = [local.cluster_arn]

    condition {
      test     = "ArnLike"
      variable = "eks:principalArn"
      values   = [local.service_role_arns]
    }

    condition {
      test     = "StringEquals"
      variable = "eks:accessEntryType"
      values   = ["STANDARD"]
    }

    condition {
      test     = "Null"
      variable = "eks:kubernetesGroups"
      values   = ["true"]
    }

    condition {
      test     = "Null"
      variable = "eks:username"
      values   = ["true"]
    }
  }

  statement {
    sid       = "DescribeServiceAccessEntries"
    effect    = "Allow"
    actions   = ["eks:DescribeAccessEntry"]
    resources = [local.cluster_access_entries]

    condition {
      test     = "ArnLike"
      variable = "eks:principalArn"
      values   = [local.service_role_arns]
    }
  }

  # The one access policy provisioning gives (portal.yaml deploy.accessPolicy), scoped to the
  # services' namespaces; the accessScope condition keeps a cluster-wide association (which has
  # no namespaces, so would pass the ForAllValues test) out.
  statement {
    sid       = "AssociateServiceAccessPolicy"
    effect    = "Allow"
    actions   = ["eks:AssociateAccessPolicy"]
    resources = [local.cluster_access_entries]

    condition {
      test     = "ArnLike"
      variable = "eks:principalArn"
      values   = [local.service_role_arns]
    }

    condition {
      test     = "ArnEquals"
      variable = "eks:policyArn"
      values   = [local.service_access_policy]
    }

    condition {
      test     = "StringEquals"
      variable = "eks:accessScope"
      values   = ["namespace"]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "eks:namespaces"
      values   = var.deploy_namespaces
    }
  }

  # A service account's Pod Identity association: provisioning lists the cluster's associations
  # of the service account, describes the one it finds (the list gives no role), creates it when
  # there is none, and points it at the service's role when it names another role of Portal's
  # (checked with GetRole above). EKS has no condition keys for an association's namespace or
  # role, so what these statements allow is bounded by the PassRole below: whatever association
  # Portal creates or changes, it can only name a role under the services' path, which carries
  # the boundary. Associations are created without tags, so no eks:TagResource on them.
  statement {
    sid       = "CreateServicePodIdentityAssociations"
    effect    = "Allow"
    actions   = ["eks:CreatePodIdentityAssociation", "eks:ListPodIdentityAssociations"]
    resources = [local.cluster_arn]
  }

  statement {
    sid       = "UpdateServicePodIdentityAssociations"
    effect    = "Allow"
    actions   = ["eks:DescribePodIdentityAssociation", "eks:UpdatePodIdentityAssociation"]
    resources = [local.cluster_pod_identity_associations]
  }

  # Creating or updating an association passes its role to EKS Pod Identity: only service roles,
  # and only to EKS Pod Identity.
  statement {
    sid       = "PassServiceRolesToPodIdentity"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = [local.service_role_arns]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["pods.eks.amazonaws.com"]
    }
  }

  # CreateAccessEntry with tags needs TagResource too, and only Portal's own tag may be set. The
  # service authorization reference does not say whether EKS checks it against the new entry or
  # its cluster, hence both.
  statement {
    sid       = "TagServiceAccessEntries"
    effect    = "Allow"
    actions   = ["eks:TagResource"]
    resources = [local.cluster_arn, local.cluster_access_entries]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/billpay.io/managed-by"
      values   = [local.managed_by]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["billpay.io/managed-by"]
    }
  }
}

resource "aws_iam_role_policy" "provisioning" {
  name   = "portal-provisioning"
  role   = aws_iam_role.pod.id
  policy = data.aws_iam_policy_document.provisioning.json
}
