# EKS unit: the cluster in the VPC's private subnets.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//eks"
}

dependency "vpc" {
  config_path = "${get_terragrunt_dir()}/../vpc"

  mock_outputs = {
    private_subnet_ids = ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"]
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  cluster_name                 = local.env.cluster_name
  kubernetes_version           = local.env.eks.kubernetes_version
  subnet_ids                   = dependency.vpc.outputs.private_subnet_ids
  endpoint_public_access       = local.env.eks.endpoint_public_access
  endpoint_public_access_cidrs = local.env.eks.endpoint_public_access_cidrs
  node_groups                  = local.env.eks.node_groups
  access_entries               = local.env.eks.access_entries
}
