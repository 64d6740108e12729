# VPC unit, common to every environment; the CIDRs and zones come from the environment's env.hcl.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//vpc"
}

inputs = {
  cidr_block           = local.env.vpc.cidr_block
  azs                  = local.env.vpc.azs
  public_subnet_cidrs  = local.env.vpc.public_subnet_cidrs
  private_subnet_cidrs = local.env.vpc.private_subnet_cidrs
  single_nat_gateway   = local.env.vpc.single_nat_gateway
  cluster_name         = local.env.cluster_name
}
