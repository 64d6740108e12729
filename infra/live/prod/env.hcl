# prod: the seed's architecture — VPC 10.0.0.0/16 over three availability zones, a NAT gateway
# per zone, private API endpoint, t3.medium nodes autoscaling from 3 to 9, and the names the
# catalog links to (billpay-vpc, billpay-eks-cluster, /aws/eks/billpay/<service>,
# billpay-overview). Replace the account ID, the principal ARNs and the certificate ARN with
# BillPay's before the first apply; set alb_arn_suffix once the controller created the ALB.

locals {
  environment  = "prod"
  account_id   = "333333333333"
  aws_region   = "us-east-1"
  name_prefix  = "billpay"
  cluster_name = "billpay-eks-cluster"
  domain       = "billpay.example.com"

  tags = {
    CostCenter = "billpay-platform"
  }

  vpc = {
    cidr_block           = "10.0.0.0/16"
    azs                  = ["us-east-1a", "us-east-1b", "us-east-1c"]
    public_subnet_cidrs  = ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]
    private_subnet_cidrs = ["10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"]
    single_nat_gateway   = false
  }

  eks = {
    kubernetes_version           = "1.34"
    endpoint_public_access       = false
    endpoint_public_access_cidrs = []

    node_groups = {
      general = {
        instance_types = ["t3.medium"]
        min_size       = 3
        max_size       = 9
        desired_size   = 3
      }
    }

    access_entries = {
      platform-admins = {
        principal_arn = "arn:aws:iam::333333333333:role/billpay-platform-admin"
        policy        = "AmazonEKSClusterAdminPolicy"
      }
      on-call = {
        principal_arn = "arn:aws:iam::333333333333:role/billpay-on-call"
        policy        = "AmazonEKSViewPolicy"
      }
    }
  }

  # Covers pay., admin. and flags.billpay.example.com; must be in us-east-1.
  cloudfront_certificate_arn = "arn:aws:acm:us-east-1:333333333333:certificate/00000000-0000-0000-0000-000000000000"

  log_retention_days    = 365
  alarm_email_addresses = ["platform-team@billpay.example.com"]
  alb_arn_suffix        = null

  # Portal's own AWS side (infra/modules/portal). This Portal deploys to dev and staging as their
  # Portal roles; release.yml deploys it from the GitHub environment "production".
  portal = {
    github_environment = "production"
    assume_role_arns = [
      "arn:aws:iam::111111111111:role/billpay-dev-portal",
      "arn:aws:iam::222222222222:role/billpay-staging-portal",
    ]
    trusted_role_arns        = []
    db_instance_class        = "db.m7g.large"
    db_multi_az              = true
    db_backup_retention_days = 30
    db_deletion_protection   = true
    db_skip_final_snapshot   = false
  }
}
