# Portal unit: Portal's own AWS side — its ECR repository, the GitHub Actions roles that deliver
# Portal (release.yml) and the microfrontends (frontends pipeline), the role of Portal's pods,
# the External Secrets Operator's role for Portal's secrets, and Portal's PostgreSQL.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//portal"
}

dependency "vpc" {
  config_path = "${get_terragrunt_dir()}/../vpc"

  mock_outputs = {
    vpc_id             = "vpc-00000000000000000"
    private_subnet_ids = ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"]
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

dependency "eks" {
  config_path = "${get_terragrunt_dir()}/../eks"

  mock_outputs = {
    cluster_name              = "billpay-mock-eks-cluster"
    oidc_issuer_url           = "https://oidc.eks.us-east-1.amazonaws.com/id/00000000000000000000000000000000"
    cluster_security_group_id = "sg-00000000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

dependency "static_sites" {
  config_path = "${get_terragrunt_dir()}/../static-sites"

  mock_outputs = {
    bucket_arns = {
      payment-app = "arn:aws:s3:::billpay-mock-payment-app"
      techdocs    = "arn:aws:s3:::billpay-mock-techdocs"
    }
    distribution_arns = {
      payment-app = "arn:aws:cloudfront::000000000000:distribution/EMOCK0000000"
    }
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

dependency "secrets" {
  config_path = "${get_terragrunt_dir()}/../secrets"

  mock_outputs = {
    secret_arns = {
      "portal/ofrep-client-key" = "arn:aws:secretsmanager:us-east-1:000000000000:secret:mock-1"
    }
    kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  cluster_name              = dependency.eks.outputs.cluster_name
  cluster_oidc_issuer_url   = dependency.eks.outputs.oidc_issuer_url
  cluster_security_group_id = dependency.eks.outputs.cluster_security_group_id
  vpc_id                    = dependency.vpc.outputs.vpc_id
  private_subnet_ids        = dependency.vpc.outputs.private_subnet_ids

  techdocs_bucket_arn         = dependency.static_sites.outputs.bucket_arns["techdocs"]
  site_bucket_arns            = dependency.static_sites.outputs.bucket_arns
  site_distribution_arns      = dependency.static_sites.outputs.distribution_arns
  ofrep_client_key_secret_arn = dependency.secrets.outputs.secret_arns["portal/ofrep-client-key"]
  secrets_kms_key_arn         = dependency.secrets.outputs.kms_key_arn

  # service_role_path, service_boundary_name and service_access_policy keep their defaults:
  # portal.yaml names the same path, boundary and access policy for every environment.

  github_environment = local.env.portal.github_environment
  assume_role_arns   = local.env.portal.assume_role_arns
  trusted_role_arns  = local.env.portal.trusted_role_arns
  force_delete       = local.env.environment == "dev"

  db_instance_class        = local.env.portal.db_instance_class
  db_multi_az              = local.env.portal.db_multi_az
  db_backup_retention_days = local.env.portal.db_backup_retention_days
  db_deletion_protection   = local.env.portal.db_deletion_protection
  db_skip_final_snapshot   = local.env.portal.db_skip_final_snapshot
}
