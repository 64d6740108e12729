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

variable "repositories" {
  description = "Names of the private repositories, one per containerized service (payment-service, user-service, admin-service, backend-api)."
  type        = list(string)

  validation {
    condition     = length(var.repositories) > 0 && alltrue([for r in var.repositories : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*$", r))])
    error_message = "repositories must be lowercase ECR repository names."
  }
}

variable "image_tag_mutability" {
  description = "IMMUTABLE keeps a tag pointing at one image forever, so a deploy by tag is reproducible."
  type        = string
  default     = "IMMUTABLE"

  validation {
    condition     = contains(["IMMUTABLE", "MUTABLE"], var.image_tag_mutability)
    error_message = "image_tag_mutability must be IMMUTABLE or MUTABLE."
  }
}

variable "untagged_image_expiry_days" {
  description = "Untagged images (superseded build layers) are deleted this many days after they were pushed."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_image_expiry_days >= 1
    error_message = "untagged_image_expiry_days must be at least 1."
  }
}

variable "max_image_count" {
  description = "Keep only this many most recent images per repository; older ones are deleted."
  type        = number
  default     = 100

  validation {
    condition     = var.max_image_count >= 10
    error_message = "max_image_count must be at least 10 so that rollbacks have images to go back to."
  }
}

variable "force_delete" {
  description = "Allow destroying a repository that still holds images (only for throwaway environments)."
  type        = bool
  default     = false
}
