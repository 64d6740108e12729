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
  description = "EKS cluster to install the add-ons into (the helm provider must point at it)."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the cluster; the cluster autoscaler image follows it."
  type        = string

  validation {
    condition     = can(regex("^1\\.(2[89]|[3-9][0-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version of 1.28 or newer, e.g. \"1.31\"."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster, where the ALB and its security group live."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC; the ALB may only send traffic there (to the pods)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be an IPv4 CIDR block."
  }
}

variable "load_balancer_controller_chart_version" {
  description = "Version of the aws-load-balancer-controller Helm chart (eks-charts)."
  type        = string
  default     = "1.13.0"
}

variable "cluster_autoscaler_chart_version" {
  description = "Version of the cluster-autoscaler Helm chart (kubernetes/autoscaler)."
  type        = string
  default     = "9.46.6"
}

variable "cluster_autoscaler_image_tag" {
  description = "Image tag of the cluster autoscaler; null uses v<kubernetes_version>.0, whose minor version must match the cluster's."
  type        = string
  default     = null
}
