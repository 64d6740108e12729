variable "name_prefix" {
  description = "Prefix of every name in the environment, e.g. billpay (prod) or billpay-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource, on top of the provider's default_tags."
  type        = map(string)
  default     = {}
}

variable "sites" {
  description = <<-EOT
    Static sites by name; each gets a private S3 bucket <name_prefix>-<name>. With cdn = true
    the bucket is served only through its own CloudFront distribution (origin access control),
    under domain_names when acm_certificate_arn is set. spa = true rewrites extension-less paths
    to /index.html for client-side routing. cors_allowed_origins (https://host) may fetch the
    site's files from another origin: the shell loading a remote. portal_proxy = true forwards
    /portal/* to portal_origin_domain_name.
  EOT
  type = map(object({
    cdn                  = optional(bool, true)
    spa                  = optional(bool, true)
    domain_names         = optional(list(string), [])
    cors_allowed_origins = optional(list(string), [])
    portal_proxy         = optional(bool, false)
  }))

  validation {
    condition     = alltrue([for name in keys(var.sites) : can(regex("^[a-z0-9][a-z0-9-]{1,40}$", name))])
    error_message = "Site names must be lowercase letters, digits and hyphens."
  }

  validation {
    condition     = alltrue(flatten([for site in values(var.sites) : [for o in site.cors_allowed_origins : can(regex("^https://[a-z0-9.-]+$", o))]]))
    error_message = "cors_allowed_origins must be https origins (https://host, no path and no wildcard)."
  }
}

variable "acm_certificate_arn" {
  description = "ACM certificate in us-east-1 covering the sites' domain_names; null serves the distributions on their cloudfront.net names only."
  type        = string
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate in us-east-1 (CloudFront only uses certificates from there)."
  }
}

variable "api_origin_domain_name" {
  description = "Domain name of the ALB (HTTPS) that CloudFront forwards /api/* to; null serves static assets only."
  type        = string
  default     = null
}

variable "portal_origin_domain_name" {
  description = "Domain name of Portal (its ALB ingress, HTTPS) that sites with portal_proxy forward /portal/* to; null forwards nothing."
  type        = string
  default     = null
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "web_acl_id" {
  description = "ARN of a WAFv2 web ACL (scope CLOUDFRONT) to attach to the distributions, or null."
  type        = string
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep overwritten or deleted object versions (for rolling back a deploy)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Allow destroying buckets that still hold objects (only for throwaway environments)."
  type        = bool
  default     = false
}
