# Private S3 buckets for BillPay's static sites (the shell, the three Angular microfrontends and
# the TechDocs output), each frontend served through its own CloudFront distribution with origin
# access control, HTTPS only, /api/* forwarded to the ALB and, where a site asks, /portal/*
# forwarded to Portal. Remotes the shell loads at run time answer its origin with CORS headers.

locals {
  cdn_sites    = { for name, site in var.sites : name => site if site.cdn }
  cors_sites   = { for name, site in local.cdn_sites : name => site if length(site.cors_allowed_origins) > 0 }
  portal_proxy = var.portal_origin_domain_name != null
}

################################################################################
# Buckets
################################################################################

resource "aws_s3_bucket" "site" {
  for_each = var.sites

  bucket        = "${var.name_prefix}-${each.key}"
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Site = each.key })
}

resource "aws_s3_bucket_public_access_block" "site" {
  for_each = aws_s3_bucket.site

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "site" {
  for_each = aws_s3_bucket.site

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  for_each = aws_s3_bucket.site

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "site" {
  for_each = aws_s3_bucket.site

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "site" {
  for_each = aws_s3_bucket.site

  bucket = each.value.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.site]
}

data "aws_iam_policy_document" "bucket" {
  for_each = var.sites

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.site[each.key].arn, "${aws_s3_bucket.site[each.key].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = each.value.cdn ? [aws_cloudfront_distribution.site[each.key].arn] : []
    content {
      sid       = "CloudFrontReadsThroughOriginAccessControl"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${aws_s3_bucket.site[each.key].arn}/*"]

      principals {
        type        = "Service"
        identifiers = ["cloudfront.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "AWS:SourceArn"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "site" {
  for_each = aws_s3_bucket.site

  bucket = each.value.id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.site]
}

################################################################################
# CloudFront
################################################################################

data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_cache_policy" "caching_disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

data "aws_cloudfront_response_headers_policy" "security_headers" {
  name = "Managed-SecurityHeadersPolicy"
}

# The managed security headers plus CORS for the origins a site names: the shell fetches each
# remote's remoteEntry.js and chunks from the remote's own domain.
resource "aws_cloudfront_response_headers_policy" "cors" {
  for_each = local.cors_sites

  name    = "${var.name_prefix}-${each.key}-cors"
  comment = "Security headers and CORS for ${join(", ", each.value.cors_allowed_origins)}."

  cors_config {
    access_control_allow_credentials = false
    access_control_max_age_sec       = 600
    origin_override                  = true

    access_control_allow_headers {
      items = ["*"]
    }

    access_control_allow_methods {
      items = ["GET", "HEAD", "OPTIONS"]
    }

    access_control_allow_origins {
      items = each.value.cors_allowed_origins
    }
  }

  security_headers_config {
    content_type_options {
      override = true
    }

    frame_options {
      frame_option = "SAMEORIGIN"
      override     = true
    }

    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }

    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      override                   = true
    }

    xss_protection {
      mode_block = true
      protection = true
      override   = true
    }
  }
}

# Portal is reached as /portal/* on a site's own domain, so the flag console calls Portal's
# /api/flags same-origin (Portal's session cookie and CSRF rules apply, no CORS); the function
# drops the prefix before the request reaches Portal.
resource "aws_cloudfront_function" "portal_prefix" {
  count = local.portal_proxy ? 1 : 0

  name    = "${var.name_prefix}-portal-prefix"
  runtime = "cloudfront-js-2.0"
  comment = "Strip /portal from requests forwarded to Portal."
  publish = true
  code    = file("${path.module}/functions/portal-prefix.js")
}

resource "aws_cloudfront_origin_access_control" "site" {
  for_each = local.cdn_sites

  name                              = "${var.name_prefix}-${each.key}"
  description                       = "CloudFront reads ${aws_s3_bucket.site[each.key].bucket} with SigV4."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_function" "spa_rewrite" {
  name    = "${var.name_prefix}-spa-rewrite"
  runtime = "cloudfront-js-2.0"
  comment = "Serve /index.html for single-page-app routes."
  publish = true
  code    = file("${path.module}/functions/spa-rewrite.js")
}

resource "aws_cloudfront_distribution" "site" {
  for_each = local.cdn_sites

  enabled             = true
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  comment             = "${var.name_prefix} ${each.key}"
  default_root_object = "index.html"
  price_class         = var.price_class
  aliases             = var.acm_certificate_arn == null ? [] : each.value.domain_names
  web_acl_id          = var.web_acl_id

  origin {
    origin_id                = "s3-${each.key}"
    domain_name              = aws_s3_bucket.site[each.key].bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.site[each.key].id
  }

  dynamic "origin" {
    for_each = local.portal_proxy && each.value.portal_proxy ? [var.portal_origin_domain_name] : []
    content {
      origin_id   = "portal"
      domain_name = origin.value

      custom_origin_config {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = "https-only"
        origin_ssl_protocols   = ["TLSv1.2"]
      }
    }
  }

  dynamic "origin" {
    for_each = var.api_origin_domain_name == null ? [] : [var.api_origin_domain_name]
    content {
      origin_id   = "api"
      domain_name = origin.value

      custom_origin_config {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = "https-only"
        origin_ssl_protocols   = ["TLSv1.2"]
      }
    }
  }

  default_cache_behavior {
    target_origin_id           = "s3-${each.key}"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    viewer_protocol_policy     = "redirect-to-https"
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_optimized.id
    response_headers_policy_id = contains(keys(local.cors_sites), each.key) ? aws_cloudfront_response_headers_policy.cors[each.key].id : data.aws_cloudfront_response_headers_policy.security_headers.id

    dynamic "function_association" {
      for_each = each.value.spa ? [aws_cloudfront_function.spa_rewrite.arn] : []
      content {
        event_type   = "viewer-request"
        function_arn = function_association.value
      }
    }
  }

  dynamic "ordered_cache_behavior" {
    for_each = var.api_origin_domain_name == null ? [] : ["/api/*"]
    content {
      path_pattern             = ordered_cache_behavior.value
      target_origin_id         = "api"
      allowed_methods          = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
      cached_methods           = ["GET", "HEAD"]
      viewer_protocol_policy   = "https-only"
      compress                 = true
      cache_policy_id          = data.aws_cloudfront_cache_policy.caching_disabled.id
      origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    }
  }

  dynamic "ordered_cache_behavior" {
    for_each = local.portal_proxy && each.value.portal_proxy ? ["/portal/*"] : []
    content {
      path_pattern             = ordered_cache_behavior.value
      target_origin_id         = "portal"
      allowed_methods          = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
      cached_methods           = ["GET", "HEAD"]
      viewer_protocol_policy   = "https-only"
      compress                 = true
      cache_policy_id          = data.aws_cloudfront_cache_policy.caching_disabled.id
      origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id

      function_association {
        event_type   = "viewer-request"
        function_arn = aws_cloudfront_function.portal_prefix[0].arn
      }
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == null
    acm_certificate_arn            = var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  tags = merge(var.tags, { Site = each.key })
}
