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
  description = "EKS cluster whose pods get the roles through EKS Pod Identity."
  type        = string
}

variable "services" {
  description = <<-EOT
    Workloads by name. Each gets an IAM role named <name_prefix>-<name>, bound to its Kubernetes
    service account through EKS Pod Identity, that may read the secrets whose key starts with
    "<name>/" and do only what its other fields list. eks_access gives the role an EKS access
    entry, for workloads that call the Kubernetes API with an EKS token (the portal's deployer).
  EOT
  type = map(object({
    namespace                 = string
    service_account           = string
    s3_read_bucket_arns       = optional(list(string), [])
    s3_read_write_bucket_arns = optional(list(string), [])
    ecr_read_repository_arns  = optional(list(string), [])
    eks_describe_cluster      = optional(bool, false)
    eks_access = optional(object({
      policy     = string
      namespaces = list(string)
    }))
  }))

  validation {
    condition     = alltrue([for name in keys(var.services) : can(regex("^[a-z0-9-]{1,40}$", name))])
    error_message = "Service names must be lowercase letters, digits and hyphens."
  }

  validation {
    condition     = alltrue([for s in values(var.services) : s.eks_access == null || contains(["AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"], try(s.eks_access.policy, ""))])
    error_message = "eks_access.policy must be AmazonEKSAdminPolicy, AmazonEKSEditPolicy or AmazonEKSViewPolicy; no workload gets cluster admin."
  }

  validation {
    condition     = alltrue([for s in values(var.services) : s.eks_access == null || length(try(s.eks_access.namespaces, [])) > 0])
    error_message = "eks_access must name the namespaces it applies to: workloads get no cluster-wide access."
  }
}

variable "secret_arns" {
  description = "Secret ARNs by key \"<service>/<name>\" (the secrets module's secret_arns output)."
  type        = map(string)
  default     = {}
}

variable "secrets_kms_key_arn" {
  description = "KMS key the secrets are encrypted with; services may decrypt with it only through Secrets Manager."
  type        = string
}
