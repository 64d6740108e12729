# Static sites unit: a private bucket per microfrontend and for TechDocs; the shell and the three
# frontends are served by CloudFront at app., pay., admin. and flags.<domain>, with /api/* sent to
# the ALB. The remotes answer the shell's origin with CORS (it loads them at run time), and the
# sites that embed the flag console send /portal/* to Portal.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//static-sites"
}

inputs = {
  sites = {
    shell         = { domain_names = ["app.${local.env.domain}"], portal_proxy = true }
    payment-app   = { domain_names = ["pay.${local.env.domain}"], cors_allowed_origins = ["https://app.${local.env.domain}"] }
    admin-panel   = { domain_names = ["admin.${local.env.domain}"], cors_allowed_origins = ["https://app.${local.env.domain}"], portal_proxy = true }
    feature-flags = { domain_names = ["flags.${local.env.domain}"], cors_allowed_origins = ["https://app.${local.env.domain}"], portal_proxy = true }
    techdocs      = { cdn = false }
  }
  acm_certificate_arn       = local.env.cloudfront_certificate_arn
  api_origin_domain_name    = "api.${local.env.domain}"
  portal_origin_domain_name = "portal.${local.env.domain}"
  force_destroy             = local.env.environment == "dev"
}
