# staging: shaped like prod (three availability zones, a NAT gateway per zone, private API
# endpoint) at a smaller size. Replace the account ID, the principal ARNs and the certificate
# ARN with BillPay's before the first apply.

locals {
  environment  = "staging"
  account_id   = "222222222222"
  aws_region   = "us-east-1"
  name_prefix  = "billpay-staging"
  cluster_name = "billpay-staging-eks-cluster"
  domain       = "staging.billpay.example.com"

  tags = {
    CostCenter = "billpay-platform"
  }

  vpc = {
    cidr_block           = "10.10.0.0/16"
    azs                  = ["us-east-1a", "us-east-1b", "us-east-1c"]
    public_subnet_cidrs  = ["10.10.0.0/24", "10.10.1.0/24", "10.10.2.0/24"]
    private_subnet_cidrs = ["10.10.16.0/20", "10.10.32.0/20", "10.10.48.0/20"]
    single_nat_gateway   = false
  }

  eks = {
    kubernetes_version           = "1.34"
    endpoint_public_access       = false
    endpoint_public_access_cidrs = []

    node_groups = {
      general = {
        instance_types = ["t3.medium"]
        min_size       = 2
        max_size       = 4
        desired_size   = 2
      }
    }

    access_entries = {
      platform-admins = {
        principal_arn = "arn:aws:iam::222222222222:role/billpay-platform-admin"
        policy        = "AmazonEKSClusterAdminPolicy"
      }
      developers = {
        principal_arn = "arn:aws:iam::222222222222:role/billpay-developer"
        policy        = "AmazonEKSViewPolicy"
        namespaces    = ["billpay"]
      }
    }
  }

  # Covers pay., admin. and flags.staging.billpay.example.com; must be in us-east-1.
  cloudfront_certificate_arn = "arn:aws:acm:us-east-1:222222222222:certificate/00000000-0000-0000-0000-000000000000"

  log_retention_days    = 90
  alarm_email_addresses = ["platform-team@billpay.example.com"]
  alb_arn_suffix        = null

  # Portal's own AWS side (infra/modules/portal). Prod's Portal deploys here as this account's
  # Portal role (deploy.environments[].roleArn); release.yml deploys Portal from the GitHub
  # environment "staging".
  portal = {
    github_environment       = "staging"
    assume_role_arns         = []
    trusted_role_arns        = ["arn:aws:iam::333333333333:role/billpay-portal"]
    db_instance_class        = "db.t4g.medium"
    db_multi_az              = false
    db_backup_retention_days = 14
    db_deletion_protection   = true
    db_skip_final_snapshot   = false
  }
}
