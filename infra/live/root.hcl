# Root Terragrunt configuration, included by every unit: remote state in S3 with a DynamoDB
# lock table (one bucket per account and region), the generated AWS provider, and the inputs
# every module takes. Named root.hcl rather than terragrunt.hcl so that `terragrunt run-all`
# never mistakes it for a unit.

locals {
  env         = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
  environment = local.env.environment
  account_id  = local.env.account_id
  aws_region  = local.env.aws_region
}

remote_state {
  backend = "s3"

  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }

  config = {
    bucket         = "billpay-tofu-state-${local.account_id}-${local.aws_region}"
    key            = "${path_relative_to_include()}/tofu.tfstate"
    region         = local.aws_region
    encrypt        = true
    dynamodb_table = "billpay-tofu-locks"
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOF
    provider "aws" {
      region              = "${local.aws_region}"
      allowed_account_ids = ["${local.account_id}"]

      default_tags {
        tags = {
          Project     = "billpay"
          Environment = "${local.environment}"
          ManagedBy   = "opentofu"
          Repository  = "billpay/portal/infra"
        }
      }
    }
  EOF
}

inputs = {
  name_prefix = local.env.name_prefix
  tags        = local.env.tags
}
