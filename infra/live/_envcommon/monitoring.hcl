# Monitoring unit: log groups, metrics, alarms and the overview dashboard for the services.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//monitoring"
}

dependency "eks" {
  config_path = "${get_terragrunt_dir()}/../eks"

  mock_outputs = {
    cluster_name = "billpay-mock-eks-cluster"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  cluster_name          = dependency.eks.outputs.cluster_name
  namespace             = "billpay"
  services              = ["payment-service", "user-service", "admin-service", "backend-api"]
  log_retention_days    = local.env.log_retention_days
  alarm_email_addresses = local.env.alarm_email_addresses
  alb_arn_suffix        = local.env.alb_arn_suffix
}
