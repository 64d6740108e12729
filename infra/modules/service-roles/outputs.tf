output "role_arns" {
  description = "IAM role ARNs by service name."
  value       = { for name, role in aws_iam_role.this : name => role.arn }
}

output "role_names" {
  description = "IAM role names by service name."
  value       = { for name, role in aws_iam_role.this : name => role.name }
}

output "pod_identity_association_ids" {
  description = "EKS Pod Identity association IDs by service name."
  value       = { for name, a in aws_eks_pod_identity_association.this : name => a.association_id }
}
