# Static sites unit: a private bucket per microfrontend and for TechDocs; the three frontends
# are served by CloudFront at pay., admin. and flags.<domain>, with /api/* sent to the ALB.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//static-sites"
}

inputs = {
  sites = {
    payment-app   = { domain_names = ["pay.${local.env.domain}"] }
    admin-panel   = { domain_names = ["admin.${local.env.domain}"] }
    feature-flags = { domain_names = ["flags.${local.env.domain}"] }
    techdocs      = { cdn = false }
  }
  acm_certificate_arn    = local.env.cloudfront_certificate_arn
  api_origin_domain_name = "api.${local.env.domain}"
  force_destroy          = local.env.environment == "dev"
}
