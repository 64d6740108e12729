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

################################################################################
# Cluster and network
################################################################################

variable "cluster_name" {
  description = "EKS cluster Portal runs in and deploys to (DescribeCluster, access entries, Pod Identity)."
  type        = string
}

variable "cluster_oidc_issuer_url" {
  description = "OIDC issuer of the cluster's service account tokens (the eks module's oidc_issuer_url), for IRSA."
  type        = string

  validation {
    condition     = startswith(var.cluster_oidc_issuer_url, "https://")
    error_message = "cluster_oidc_issuer_url must be the https issuer URL."
  }
}

variable "cluster_oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster when one exists already; null creates it (one per issuer and account)."
  type        = string
  default     = null
}

variable "cluster_security_group_id" {
  description = "Security group of the cluster's managed nodes (EKS attaches the cluster security group to them); the only source the database accepts."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster and the database."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the database may be placed in (at least two zones)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "RDS needs subnets in at least two availability zones."
  }
}

################################################################################
# Kubernetes identities
################################################################################

variable "namespace" {
  description = "Namespace Portal's Helm release runs in (infra/charts/portal, release.yml: portal)."
  type        = string
  default     = "portal"
}

variable "service_account" {
  description = "Service account of Portal's pods (the chart's full name: portal)."
  type        = string
  default     = "portal"
}

variable "deploy_namespaces" {
  description = "Namespaces Portal deploys BillPay's services into; its role gets AmazonEKSEditPolicy there and nowhere else."
  type        = list(string)
  default     = ["billpay"]

  validation {
    condition     = length(var.deploy_namespaces) > 0
    error_message = "deploy_namespaces must name at least one namespace: Portal gets no cluster-wide access."
  }
}

variable "external_secrets" {
  description = <<-EOT
    The External Secrets Operator's controller (namespace and service account) that serves the
    ClusterSecretStore the chart's ExternalSecret uses. It gets a role bound through EKS Pod
    Identity that may read Portal's runtime secret and the database credentials, nothing else.
    null: no role (the operator gets its credentials elsewhere).
  EOT
  type = object({
    namespace       = string
    service_account = string
  })
  default = {
    namespace       = "external-secrets"
    service_account = "external-secrets"
  }
}

################################################################################
# What Portal reads and writes
################################################################################

variable "techdocs_bucket_arn" {
  description = "TechDocs bucket (static-sites' bucket_arns[\"techdocs\"]); Portal publishes built sites there and serves them from it."
  type        = string
}

variable "runtime_secret_name" {
  description = "Secrets Manager secret holding Portal's PORTAL_* variables as JSON (the chart's secrets.secretsManagerKey). Operators create it; see the README."
  type        = string
  default     = "portal/runtime"
}

variable "assume_role_arns" {
  description = "Roles Portal may assume for other environments' AWS calls (portal.yaml deploy.environments[].roleArn): the Portal roles of the other accounts."
  type        = list(string)
  default     = []
}

variable "trusted_role_arns" {
  description = "Portal roles of other accounts that may assume this environment's Portal role, to deploy here from there."
  type        = list(string)
  default     = []
}

################################################################################
# Provisioning (service roles and their access entries)
################################################################################

variable "service_role_path" {
  description = "IAM path of the service roles Portal provisions (portal.yaml deploy.rolePath); Portal may create roles and put their policies under this path only."
  type        = string
  default     = "/billpay/services/"

  validation {
    condition     = can(regex("^/[!-~]+/$", var.service_role_path)) && !strcontains(var.service_role_path, "//") && length(var.service_role_path) <= 512
    error_message = "service_role_path must be an IAM path below the root, starting and ending with / (such as /billpay/services/)."
  }
}

variable "service_boundary_name" {
  description = "Name of the managed policy this module creates as the permissions boundary of every provisioned service role (portal.yaml deploy.boundaryPolicyName); the same name in every account."
  type        = string
  default     = "billpay-service-boundary"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,128}$", var.service_boundary_name))
    error_message = "service_boundary_name must be an IAM policy name: 1-128 letters, digits and +=,.@_-."
  }
}

variable "service_access_policy" {
  description = "EKS access policy Portal may associate with a provisioned service role, in deploy_namespaces only (portal.yaml deploy.accessPolicy names its ARN)."
  type        = string
  default     = "AmazonEKSViewPolicy"

  validation {
    condition     = contains(["AmazonEKSViewPolicy", "AmazonEKSEditPolicy"], var.service_access_policy)
    error_message = "service_access_policy must be AmazonEKSViewPolicy or AmazonEKSEditPolicy: Portal may give a service no more than it has itself."
  }
}

################################################################################
# Delivery from GitHub Actions
################################################################################

variable "github_repository" {
  description = "Repository whose workflows may assume the deploy roles (owner/name)."
  type        = string
  default     = "billpay/portal"
}

variable "github_environment" {
  description = "GitHub environment of this account in the workflows (release.yml: staging, production; frontends: dev, staging, production). Only its jobs may assume the deploy roles."
  type        = string
}

variable "github_oidc_provider_arn" {
  description = "GitHub Actions' IAM OIDC provider when the account has one already; null creates it (one per account)."
  type        = string
  default     = null
}

variable "site_bucket_arns" {
  description = "Buckets of the static sites by name (static-sites' bucket_arns). Those with a distribution are the frontends the frontends role deploys."
  type        = map(string)
}

variable "site_distribution_arns" {
  description = "CloudFront distributions by site (static-sites' distribution_arns); the frontends role may invalidate these."
  type        = map(string)
}

variable "ofrep_client_key_secret_arn" {
  description = "Secret with the microfrontends' OFREP client key (secrets' secret_arns[\"portal/ofrep-client-key\"]), which the frontends pipeline reads at deploy; null: not readable."
  type        = string
  default     = null
}

variable "secrets_kms_key_arn" {
  description = "KMS key of the secrets module; the frontends role decrypts the OFREP client key with it, through Secrets Manager only."
  type        = string
  default     = null
}

################################################################################
# Container image
################################################################################

variable "repository_name" {
  description = "ECR repository of Portal's image (release.yml pushes <account>.dkr.ecr.<region>.amazonaws.com/portal)."
  type        = string
  default     = "portal"
}

variable "max_release_count" {
  description = "Releases (tags v*) kept in the repository; older ones expire. Enough for the rollbacks Helm keeps (--history-max 10)."
  type        = number
  default     = 50

  validation {
    condition     = var.max_release_count >= 10
    error_message = "max_release_count must be at least 10 so that rollbacks have images to go back to."
  }
}

variable "force_delete" {
  description = "Allow destroying the repository while it holds images (only for throwaway environments)."
  type        = bool
  default     = false
}

################################################################################
# Database
################################################################################

variable "db_engine_version" {
  description = "PostgreSQL version of the database; a major version (\"17\") takes the default minor, which auto_minor_version_upgrade keeps current."
  type        = string
  default     = "17"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "Initial storage in GiB (gp3)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "A synchronous standby in another zone, failed over to automatically."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be 1-35: automated backups are never turned off."
  }
}

variable "db_deletion_protection" {
  description = "Refuse to delete the instance (turn off in a separate apply first)."
  type        = bool
  default     = true
}

variable "db_skip_final_snapshot" {
  description = "Delete without a final snapshot (only for throwaway environments)."
  type        = bool
  default     = false
}

variable "db_password_rotation_schedule" {
  description = "When Secrets Manager rotates the RDS-managed master password (a schedule expression; RDS's own default is every 7 days). Portal reads the password at start: restart it after each rotation (runbook)."
  type        = string
  default     = "cron(0 4 1 * ? *)"
}
