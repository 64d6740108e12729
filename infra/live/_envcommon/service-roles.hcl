# Service roles unit: an IAM role per BillPay service, bound with EKS Pod Identity. Portal's
# own role is in the portal unit (infra/modules/portal), with the rest of Portal's AWS side.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//service-roles"
}

dependency "eks" {
  config_path = "${get_terragrunt_dir()}/../eks"

  mock_outputs = {
    cluster_name = "billpay-mock-eks-cluster"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

dependency "secrets" {
  config_path = "${get_terragrunt_dir()}/../secrets"

  mock_outputs = {
    secret_arns = {
      "payment-service/webhook-signing-key" = "arn:aws:secretsmanager:us-east-1:000000000000:secret:mock-1"
    }
    kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["init", "validate", "plan"]
}

inputs = {
  cluster_name        = dependency.eks.outputs.cluster_name
  secret_arns         = dependency.secrets.outputs.secret_arns
  secrets_kms_key_arn = dependency.secrets.outputs.kms_key_arn

  services = {
    payment-service = { namespace = "billpay", service_account = "payment-service" }
    user-service    = { namespace = "billpay", service_account = "user-service" }
    admin-service   = { namespace = "billpay", service_account = "admin-service" }
    backend-api     = { namespace = "billpay", service_account = "backend-api" }
  }
}
