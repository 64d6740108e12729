output "secret_arns" {
  description = "Secret ARNs by key \"<service>/<name>\"."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.arn }
}

output "secret_names" {
  description = "Secret names by key \"<service>/<name>\"."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.name }
}

output "kms_key_arn" {
  description = "KMS key encrypting the secrets; readers need kms:Decrypt on it."
  value       = aws_kms_key.this.arn
}

output "rotation_function_arn" {
  description = "ARN of the rotation Lambda function."
  value       = aws_lambda_function.rotation.arn
}
