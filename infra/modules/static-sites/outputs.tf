output "bucket_names" {
  description = "Bucket names by site."
  value       = { for name, b in aws_s3_bucket.site : name => b.bucket }
}

output "bucket_arns" {
  description = "Bucket ARNs by site, for IAM policies of the deployers and the portal."
  value       = { for name, b in aws_s3_bucket.site : name => b.arn }
}

output "distribution_ids" {
  description = "CloudFront distribution IDs by site (for cache invalidation after a deploy)."
  value       = { for name, d in aws_cloudfront_distribution.site : name => d.id }
}

output "distribution_arns" {
  description = "CloudFront distribution ARNs by site."
  value       = { for name, d in aws_cloudfront_distribution.site : name => d.arn }
}

output "distribution_domain_names" {
  description = "cloudfront.net domain names by site; point the sites' DNS records (aliases) here."
  value       = { for name, d in aws_cloudfront_distribution.site : name => d.domain_name }
}
