include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}

terraform {
  source = "git::https://github.com/billpay/infra-modules.git//modules/ecr-repository?ref=v1.4.0"
}

inputs = {
  name                 = "ledger-sync"
  image_tag_mutability = "IMMUTABLE"
  scan_on_push         = true
  # Keep the last 30 images; untagged ones go after a week.
  lifecycle_keep_last = 30
  tags = include.root.locals.service.locals.tags
}
