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
  description = "Name of the EKS cluster (BillPay prod: billpay-eks-cluster)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,99}$", var.cluster_name))
    error_message = "cluster_name must start with a letter and contain only letters, digits and hyphens (at most 100)."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane, 1.28 or newer."
  type        = string

  validation {
    condition     = can(regex("^1\\.(2[89]|[3-9][0-9])$", var.kubernetes_version))
    error_message = "kubernetes_version must be a minor version of 1.28 or newer, e.g. \"1.31\"."
  }
}

variable "subnet_ids" {
  description = "Private subnets (in at least two availability zones) for the control plane's network interfaces and the nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two subnets, in different availability zones."
  }
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API endpoint on the internet (restricted to endpoint_public_access_cidrs). The private endpoint is always on."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint when endpoint_public_access is true; never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "endpoint_public_access_cidrs must be IPv4 CIDR blocks other than 0.0.0.0/0."
  }
}

variable "cluster_log_types" {
  description = "Control plane logs sent to CloudWatch Logs."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  validation {
    condition     = alltrue([for t in var.cluster_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "cluster_log_types may only contain api, audit, authenticator, controllerManager and scheduler."
  }
}

variable "cluster_log_retention_days" {
  description = "Days to keep control plane logs."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cluster_log_retention_days)
    error_message = "cluster_log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}

variable "node_groups" {
  description = "Managed node groups by name. Nodes run Amazon Linux 2023 in the private subnets with KMS-encrypted gp3 root volumes and IMDSv2 only."
  type = map(object({
    instance_types  = optional(list(string), ["t3.medium"])
    capacity_type   = optional(string, "ON_DEMAND")
    min_size        = number
    max_size        = number
    desired_size    = number
    disk_size_gib   = optional(number, 50)
    max_unavailable = optional(number, 1)
    labels          = optional(map(string), {})
  }))

  validation {
    condition     = length(var.node_groups) > 0
    error_message = "node_groups must define at least one node group."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.min_size >= 0 && g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size >= 1])
    error_message = "Each node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : contains(["ON_DEMAND", "SPOT"], g.capacity_type)])
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.disk_size_gib >= 20 && g.disk_size_gib <= 1000])
    error_message = "disk_size_gib must be between 20 and 1000."
  }
}

variable "access_entries" {
  description = "IAM principals (existing roles, e.g. SSO admin roles) given access to the cluster through EKS access entries. An empty namespaces list means cluster-wide."
  type = map(object({
    principal_arn     = string
    policy            = optional(string, "AmazonEKSViewPolicy")
    namespaces        = optional(list(string), [])
    kubernetes_groups = optional(list(string), [])
  }))

  validation {
    condition     = length(var.access_entries) > 0
    error_message = "access_entries must grant at least one principal access: the cluster creator gets no implicit admin access."
  }

  validation {
    condition     = alltrue([for e in values(var.access_entries) : contains(["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"], e.policy)])
    error_message = "policy must be AmazonEKSClusterAdminPolicy, AmazonEKSAdminPolicy, AmazonEKSEditPolicy or AmazonEKSViewPolicy."
  }

  validation {
    condition     = alltrue([for e in values(var.access_entries) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", e.principal_arn))])
    error_message = "principal_arn must be the ARN of an IAM role or user (not an STS session)."
  }
}

variable "addon_versions" {
  description = "Pinned versions of EKS add-ons by add-on name; an add-on not listed gets the default version for the cluster's Kubernetes version."
  type        = map(string)
  default     = {}
}

variable "create_autoscaling_service_linked_role" {
  description = "Create the AWSServiceRoleForAutoScaling role. Only needed in an account that has never used EC2 Auto Scaling: the node volume key policy names that role."
  type        = bool
  default     = false
}
