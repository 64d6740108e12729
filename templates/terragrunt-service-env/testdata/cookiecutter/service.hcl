# Shared by every environment of ledger-sync.
locals {
  service = "ledger-sync"
  owner   = "payments-team"
  tags = {
    Service   = "ledger-sync"
    Owner     = "payments-team"
    ManagedBy = "terragrunt"
  }
}
