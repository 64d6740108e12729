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

variable "cluster_name" {
  description = "EKS cluster whose Container Insights metrics are alarmed on."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace the services run in."
  type        = string
  default     = "billpay"
}

variable "services" {
  description = "Services (Kubernetes workload names) that get a log group /aws/eks/<name_prefix>/<service>, an error metric and alarms."
  type        = list(string)

  validation {
    condition     = length(var.services) > 0 && alltrue([for s in var.services : can(regex("^[a-z0-9-]+$", s))])
    error_message = "services must be lowercase workload names."
  }
}

variable "log_retention_days" {
  description = "Days to keep the services' logs."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}

variable "alarm_email_addresses" {
  description = "Addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])
    error_message = "alarm_email_addresses must be e-mail addresses."
  }
}

variable "error_log_threshold" {
  description = "Alarm when a service logs more than this many ERROR lines in 5 minutes."
  type        = number
  default     = 10
}

variable "container_restart_threshold" {
  description = "Alarm when a service's pods have restarted more than this many times."
  type        = number
  default     = 3
}

variable "node_cpu_threshold_percent" {
  description = "Alarm when the nodes' average CPU stays above this for 15 minutes."
  type        = number
  default     = 80

  validation {
    condition     = var.node_cpu_threshold_percent > 0 && var.node_cpu_threshold_percent <= 100
    error_message = "node_cpu_threshold_percent must be between 1 and 100."
  }
}

variable "alb_arn_suffix" {
  description = "ARN suffix (app/<name>/<id>) of the ALB the AWS Load Balancer Controller created; null until it exists. Enables the ALB alarms."
  type        = string
  default     = null
}

variable "alb_5xx_threshold" {
  description = "Alarm when the ALB and its targets answer more than this many 5xx responses in 5 minutes."
  type        = number
  default     = 25
}
