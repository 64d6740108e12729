locals {
  environment    = "prod"
  aws_account_id = "210987654321"
  aws_region     = "eu-west-1"
  name_prefix    = "billpay-prod-ledger-sync"
}
