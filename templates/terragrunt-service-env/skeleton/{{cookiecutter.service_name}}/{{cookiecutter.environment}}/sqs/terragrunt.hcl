include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}
# Terragrunt skips this unit unless the service asked for a queue.
skip = {{ "false" if cookiecutter.needs_sqs == "yes" else "true" }}

terraform {
  source = "{{ cookiecutter._tofu_modules }}/sqs-queue?ref=v1.4.0"
}

inputs = {
  name                       = "{{ cookiecutter.resource_prefix }}"
  visibility_timeout_seconds = 60
  dead_letter_max_receives   = 5
  tags = include.root.locals.service.locals.tags
}
