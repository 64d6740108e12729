# dev: one AWS account of its own, two availability zones, one NAT gateway, a small node group
# and a public API endpoint restricted to the office VPN. Replace the account ID, the
# principal ARNs and the VPN range with BillPay's before the first apply.

locals {
  environment  = "dev"
  account_id   = "111111111111"
  aws_region   = "us-east-1"
  name_prefix  = "billpay-dev"
  cluster_name = "billpay-dev-eks-cluster"
  domain       = "dev.billpay.example.com"

  tags = {
    CostCenter = "billpay-platform"
  }

  vpc = {
    cidr_block           = "10.20.0.0/16"
    azs                  = ["us-east-1a", "us-east-1b"]
    public_subnet_cidrs  = ["10.20.0.0/24", "10.20.1.0/24"]
    private_subnet_cidrs = ["10.20.16.0/20", "10.20.32.0/20"]
    single_nat_gateway   = true
  }

  eks = {
    kubernetes_version           = "1.34"
    endpoint_public_access       = true
    endpoint_public_access_cidrs = ["198.51.100.0/24"]

    node_groups = {
      general = {
        instance_types = ["t3.medium"]
        min_size       = 1
        max_size       = 3
        desired_size   = 2
      }
    }

    access_entries = {
      platform-admins = {
        principal_arn = "arn:aws:iam::111111111111:role/billpay-platform-admin"
        policy        = "AmazonEKSClusterAdminPolicy"
      }
      developers = {
        principal_arn = "arn:aws:iam::111111111111:role/billpay-developer"
        policy        = "AmazonEKSEditPolicy"
        namespaces    = ["billpay"]
      }
    }
  }

  # CloudFront serves the dev sites on their cloudfront.net names only.
  cloudfront_certificate_arn = null

  log_retention_days    = 30
  alarm_email_addresses = ["platform-team@billpay.example.com"]
  alb_arn_suffix        = null

  # Portal's own AWS side (infra/modules/portal). Prod's Portal deploys here as this account's
  # Portal role (deploy.environments[].roleArn); GitHub jobs of the "dev" environment deploy the
  # microfrontends (release.yml does not deploy Portal to dev).
  portal = {
    github_environment       = "dev"
    assume_role_arns         = []
    trusted_role_arns        = ["arn:aws:iam::333333333333:role/billpay-portal"]
    db_instance_class        = "db.t4g.small"
    db_multi_az              = false
    db_backup_retention_days = 7
    db_deletion_protection   = false
    db_skip_final_snapshot   = true
  }
}
