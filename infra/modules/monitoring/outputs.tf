output "alarm_topic_arn" {
  description = "SNS topic the alarms notify; subscribe chat or paging integrations here."
  value       = aws_sns_topic.alarms.arn
}

output "log_group_names" {
  description = "Log group of each service, by service name; the cluster's log shipper writes each service's container logs there."
  value       = { for s, g in aws_cloudwatch_log_group.service : s => g.name }
}

output "dashboard_name" {
  description = "Name of the overview dashboard."
  value       = aws_cloudwatch_dashboard.overview.dashboard_name
}

output "kms_key_arn" {
  description = "KMS key encrypting the log groups and the alarm topic."
  value       = aws_kms_key.this.arn
}
