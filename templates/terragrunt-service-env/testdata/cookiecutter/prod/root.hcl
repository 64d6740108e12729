# Root of the prod units of ledger-sync: remote state and the AWS
# provider, inherited by every unit below with include "root". Named root.hcl so that
# `terragrunt run-all` does not take it for a unit.
locals {
  env     = read_terragrunt_config(find_in_parent_folders("env.hcl"))
  service = read_terragrunt_config(find_in_parent_folders("service.hcl"))
}

remote_state {
  backend = "s3"
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
  config = {
    bucket         = "billpay-tofu-state-210987654321"
    key            = "services/ledger-sync/prod/${path_relative_to_include()}/terraform.tfstate"
    region         = "eu-west-1"
    encrypt        = true
    dynamodb_table = "billpay-tofu-locks"
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-PROVIDER
    provider "aws" {
      region              = "eu-west-1"
      allowed_account_ids = ["210987654321"]
      default_tags {
        tags = ${jsonencode(local.service.locals.tags)}
      }
    }
  PROVIDER
}
