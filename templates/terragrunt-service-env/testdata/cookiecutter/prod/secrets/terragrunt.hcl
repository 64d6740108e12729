include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}

terraform {
  source = "git::https://github.com/billpay/infra-modules.git//modules/secrets-manager?ref=v1.4.0"
}

inputs = {
  prefix        = "ledger-sync/"
  secret_names  = ["db"]
  rotation_days = 30
  tags = include.root.locals.service.locals.tags
}
