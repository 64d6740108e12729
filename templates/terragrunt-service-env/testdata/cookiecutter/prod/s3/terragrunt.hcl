include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}
# Terragrunt skips this unit unless the service asked for a bucket.
skip = true

terraform {
  source = "git::https://github.com/billpay/infra-modules.git//modules/s3-bucket?ref=v1.4.0"
}

inputs = {
  bucket        = "billpay-prod-ledger-sync"
  versioning    = true
  force_destroy = false
  tags = include.root.locals.service.locals.tags
}
