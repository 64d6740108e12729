include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}
# Terragrunt skips this unit unless the service asked for a database.
skip = false

terraform {
  source = "git::https://github.com/billpay/infra-modules.git//modules/rds-postgres?ref=v1.4.0"
}

inputs = {
  identifier          = "billpay-prod-ledger-sync"
  database_name       = "ledger_sync"
  instance_class      = "db.t4g.medium"
  engine_version      = "16"
  multi_az            = true
  deletion_protection = true
  master_secret_name  = "ledger-sync/db"
  tags = include.root.locals.service.locals.tags
}
