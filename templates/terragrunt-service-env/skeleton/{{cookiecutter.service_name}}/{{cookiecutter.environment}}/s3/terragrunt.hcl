include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}
# Terragrunt skips this unit unless the service asked for a bucket.
skip = {{ "false" if cookiecutter.needs_s3 == "yes" else "true" }}

terraform {
  source = "{{ cookiecutter._tofu_modules }}/s3-bucket?ref=v1.4.0"
}

inputs = {
  bucket        = "{{ cookiecutter.resource_prefix }}"
  versioning    = true
  force_destroy = {{ "false" if cookiecutter.environment == "prod" else "true" }}
  tags = include.root.locals.service.locals.tags
}
