include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}

terraform {
  source = "git::https://github.com/billpay/infra-modules.git//modules/irsa-role?ref=v1.4.0"
}

inputs = {
  role_name            = "ledger-sync-irsa"
  cluster_name         = "billpay-eks-cluster"
  namespace            = "billpay"
  service_account_name = "ledger-sync"
  secret_arns          = ["arn:aws:secretsmanager:eu-west-1:210987654321:secret:ledger-sync/*"]
  tags = include.root.locals.service.locals.tags
}
