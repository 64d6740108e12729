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

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC (BillPay: 10.0.0.0/16 in prod)."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && try(tonumber(split("/", var.cidr_block)[1]) <= 20, false)
    error_message = "cidr_block must be an IPv4 CIDR block of /20 or larger."
  }
}

variable "azs" {
  description = "Availability zones to spread the subnets over, one public and one private subnet in each."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs must name at least two distinct availability zones."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the public subnets (ALB, NAT gateways), one per availability zone, in the order of azs."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "public_subnet_cidrs must all be IPv4 CIDR blocks."
  }
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of the private subnets (EKS nodes and pods), one per availability zone, in the order of azs."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "private_subnet_cidrs must all be IPv4 CIDR blocks."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper, for dev) instead of one per availability zone."
  type        = bool
  default     = false
}

variable "cluster_name" {
  description = "Name of the EKS cluster that uses this VPC; subnets are tagged so the AWS Load Balancer Controller finds them."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Days to keep VPC flow logs in CloudWatch Logs."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention period CloudWatch Logs accepts."
  }
}
