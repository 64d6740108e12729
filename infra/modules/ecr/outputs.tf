output "repository_urls" {
  description = "Repository URLs (registry/name) by repository name, for docker push and image references."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs by repository name, for IAM policies."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.arn }
}

output "registry_id" {
  description = "Account ID of the registry."
  value       = one(distinct([for repo in aws_ecr_repository.this : repo.registry_id]))
}

output "kms_key_arn" {
  description = "KMS key encrypting the images."
  value       = aws_kms_key.this.arn
}
