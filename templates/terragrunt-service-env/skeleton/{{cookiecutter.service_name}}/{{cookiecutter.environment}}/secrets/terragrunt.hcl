include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}

terraform {
  source = "{{ cookiecutter._tofu_modules }}/secrets-manager?ref=v1.4.0"
}

inputs = {
  prefix        = "{{ cookiecutter.service_name }}/"
  secret_names  = [{% if cookiecutter.needs_rds == "yes" %}"db"{% endif %}]
  rotation_days = 30
  tags = include.root.locals.service.locals.tags
}
