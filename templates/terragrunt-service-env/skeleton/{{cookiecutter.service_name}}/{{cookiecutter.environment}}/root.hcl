# Root of the {{ cookiecutter.environment }} units of {{ cookiecutter.service_name }}: remote state and the AWS
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
    bucket         = "billpay-tofu-state-{{ cookiecutter.aws_account_id }}"
    key            = "services/{{ cookiecutter.service_name }}/{{ cookiecutter.environment }}/${path_relative_to_include()}/terraform.tfstate"
    region         = "{{ cookiecutter.aws_region }}"
    encrypt        = true
    dynamodb_table = "billpay-tofu-locks"
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-PROVIDER
    provider "aws" {
      region              = "{{ cookiecutter.aws_region }}"
      allowed_account_ids = ["{{ cookiecutter.aws_account_id }}"]
      default_tags {
        tags = ${jsonencode(local.service.locals.tags)}
      }
    }
  PROVIDER
}
