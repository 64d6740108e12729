output "repository_url" {
  description = "URL of Portal's ECR repository (the chart's image.repository)."
  value       = aws_ecr_repository.portal.repository_url
}

output "repository_arn" {
  description = "ARN of Portal's ECR repository."
  value       = aws_ecr_repository.portal.arn
}

output "kms_key_arn" {
  description = "KMS key of Portal's repository, database and credentials; encrypt the runtime secret with it too (alias/<name_prefix>-portal)."
  value       = aws_kms_key.this.arn
}

output "github_oidc_provider_arn" {
  description = "GitHub Actions' IAM OIDC provider in this account."
  value       = local.github_oidc_provider_arn
}

output "release_role_arn" {
  description = "Role of release.yml: the GitHub environment's variable DEPLOY_ROLE_ARN."
  value       = aws_iam_role.release.arn
}

output "frontends_role_arn" {
  description = "Role of the frontends pipeline: the GitHub environment's variable FRONTENDS_ROLE_ARN."
  value       = aws_iam_role.frontends.arn
}

output "pod_role_arn" {
  description = "Role of Portal's pods (the chart's serviceAccount.roleArn for IRSA; other accounts' deploy.environments[].roleArn)."
  value       = aws_iam_role.pod.arn
}

output "pod_role_name" {
  description = "Name of the role of Portal's pods."
  value       = aws_iam_role.pod.name
}

output "service_boundary_arn" {
  description = "Permissions boundary of provisioned service roles (portal.yaml deploy.boundaryPolicyName is its name)."
  value       = aws_iam_policy.service_boundary.arn
}

output "service_role_path" {
  description = "IAM path of provisioned service roles (portal.yaml deploy.rolePath)."
  value       = var.service_role_path
}

output "cluster_oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA)."
  value       = local.cluster_oidc_provider_arn
}

output "external_secrets_role_arn" {
  description = "Role of the External Secrets Operator's controller; null when external_secrets is null."
  value       = one(aws_iam_role.external_secrets[*].arn)
}

output "runtime_secret_name" {
  description = "Secrets Manager secret with Portal's PORTAL_* variables (the chart's secrets.secretsManagerKey)."
  value       = var.runtime_secret_name
}

output "database_address" {
  description = "Host name of Portal's database (the chart's secrets.externalSecret.database.host)."
  value       = aws_db_instance.portal.address
}

output "database_port" {
  description = "Port of Portal's database."
  value       = aws_db_instance.portal.port
}

output "database_name" {
  description = "Database Portal uses."
  value       = aws_db_instance.portal.db_name
}

output "database_secret_arn" {
  description = "RDS-managed secret with the database user and password (the chart's secrets.externalSecret.database.secretKey)."
  value       = aws_db_instance.portal.master_user_secret[0].secret_arn
}

output "database_security_group_id" {
  description = "Security group of Portal's database."
  value       = aws_security_group.database.id
}

output "database_identifier" {
  description = "RDS instance identifier (snapshots, restores, the runbook)."
  value       = aws_db_instance.portal.identifier
}
