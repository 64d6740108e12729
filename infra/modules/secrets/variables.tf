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

variable "secrets" {
  description = "Secrets by key \"<service>/<name>\"; each is stored as <name_prefix>/<service>/<name>, holds a generated random value and is rotated on a schedule."
  type = map(object({
    description   = string
    rotation_days = optional(number, 30)
  }))

  validation {
    condition     = alltrue([for k in keys(var.secrets) : can(regex("^[a-z0-9-]+/[a-z0-9-]+$", k))])
    error_message = "Secret keys must look like \"<service>/<name>\" in lowercase letters, digits and hyphens."
  }

  validation {
    condition     = alltrue([for s in values(var.secrets) : s.rotation_days >= 1 && s.rotation_days <= 365])
    error_message = "rotation_days must be between 1 and 365."
  }
}

variable "generated_length" {
  description = "Length of the random values the rotation function generates."
  type        = number
  default     = 48

  validation {
    condition     = var.generated_length >= 32 && var.generated_length <= 4096
    error_message = "generated_length must be between 32 and 4096."
  }
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once)."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_days == 0 || (var.recovery_window_days >= 7 && var.recovery_window_days <= 30)
    error_message = "recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "log_retention_days" {
  description = "Days to keep the rotation function's logs."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}
