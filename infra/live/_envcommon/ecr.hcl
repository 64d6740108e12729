# ECR unit: one repository per containerized service of the catalog.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//ecr"
}

inputs = {
  repositories = ["payment-service", "user-service", "admin-service", "backend-api"]
  force_delete = local.env.environment == "dev"
}
