# Compliant instances of everything the security rules look at; Check must find nothing here.

resource "aws_kms_key" "k" {
  description         = "fixture"
  enable_key_rotation = true
}

resource "aws_s3_bucket" "site" {
  for_each = toset(["a", "b"])

  bucket = "fixture-${each.key}"
}

resource "aws_s3_bucket_public_access_block" "site" {
  for_each = aws_s3_bucket.site

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  for_each = aws_s3_bucket.site

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.k.arn
    }
  }
}

resource "aws_eks_cluster" "c" {
  name     = "fixture"
  role_arn = "arn:aws:iam::000000000000:role/eks"

  vpc_config {
    subnet_ids = ["subnet-1", "subnet-2"]
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = aws_kms_key.k.arn
    }
  }
}

resource "aws_launch_template" "nodes" {
  name_prefix = "fixture-"

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      encrypted  = true
      kms_key_id = aws_kms_key.k.arn
    }
  }
}

resource "aws_eks_node_group" "nodes" {
  cluster_name    = aws_eks_cluster.c.name
  node_group_name = "general"
  node_role_arn   = "arn:aws:iam::000000000000:role/node"
  subnet_ids      = ["subnet-1", "subnet-2"]

  scaling_config {
    min_size     = 1
    max_size     = 2
    desired_size = 1
  }

  launch_template {
    id      = aws_launch_template.nodes.id
    version = aws_launch_template.nodes.latest_version
  }
}

resource "aws_ecr_repository" "r" {
  name = "fixture"

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.k.arn
  }
}

resource "aws_secretsmanager_secret" "s" {
  for_each = toset(["a", "b"])

  name       = "fixture/${each.key}"
  kms_key_id = aws_kms_key.k.arn
}

resource "aws_secretsmanager_secret_rotation" "s" {
  for_each = aws_secretsmanager_secret.s

  secret_id           = each.value.id
  rotation_lambda_arn = "arn:aws:lambda:us-east-1:000000000000:function:rotate"

  rotation_rules {
    automatically_after_days = 30
  }
}

data "aws_iam_policy_document" "p" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::fixture-a/*"]
  }

  # Wildcards are fine where they deny.
  statement {
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = toset(["a"])
    content {
      actions   = ["s3:PutObject"]
      resources = ["arn:aws:s3:::fixture-${statement.value}/*"]
    }
  }
}

resource "aws_iam_role_policy" "p" {
  name = "fixture"
  role = "fixture"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["sqs:SendMessage"], Resource = "*" },
      { Effect = "Deny", Action = "*", Resource = "*", Condition = { Bool = { "aws:SecureTransport" = "false" } } },
    ]
  })
}

resource "aws_security_group" "alb" {
  name   = "fixture-alb"
  vpc_id = "vpc-1"
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_ingress_rule" "internal" {
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = "10.0.0.0/16"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
}

resource "aws_cloudfront_distribution" "d" {
  enabled = true

  origin {
    origin_id                = "s3"
    domain_name              = "fixture.s3.us-east-1.amazonaws.com"
    origin_access_control_id = "oac-1"
  }

  origin {
    origin_id   = "api"
    domain_name = "api.example.com"

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id       = "s3"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    viewer_protocol_policy = "redirect-to-https"
  }

  dynamic "ordered_cache_behavior" {
    for_each = ["/api/*"]
    content {
      path_pattern           = ordered_cache_behavior.value
      target_origin_id       = "api"
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
      viewer_protocol_policy = "https-only"
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

resource "aws_db_instance" "db" {
  identifier          = "fixture"
  engine              = "postgres"
  instance_class      = "db.t4g.micro"
  allocated_storage   = 20
  storage_encrypted   = true
  kms_key_id          = aws_kms_key.k.arn
  publicly_accessible = false
}
