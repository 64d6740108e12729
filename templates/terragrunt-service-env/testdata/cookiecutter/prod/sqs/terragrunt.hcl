include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}
# Terragrunt skips this unit unless the service asked for a queue.
skip = false

terraform {
  source = "git::https://github.com/billpay/infra-modules.git//modules/sqs-queue?ref=v1.4.0"
}

inputs = {
  name                       = "billpay-prod-ledger-sync"
  visibility_timeout_seconds = 60
  dead_letter_max_receives   = 5
  tags = include.root.locals.service.locals.tags
}
