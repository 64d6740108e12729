resource "aws_cloudfront_distribution" "d" {
  enabled = true

  origin {
    origin_id                = "s3"
    domain_name              = "fixture.s3.us-east-1.amazonaws.com"
    origin_access_control_id = "oac-1"
  }

  default_cache_behavior {
    target_origin_id       = "s3"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    viewer_protocol_policy = "allow-all"
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
