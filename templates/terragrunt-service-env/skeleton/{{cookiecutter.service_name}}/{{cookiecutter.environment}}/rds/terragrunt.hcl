include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}
# Terragrunt skips this unit unless the service asked for a database.
skip = {{ "false" if cookiecutter.needs_rds == "yes" else "true" }}

terraform {
  source = "{{ cookiecutter._tofu_modules }}/rds-postgres?ref=v1.4.0"
}

inputs = {
  identifier          = "{{ cookiecutter.resource_prefix }}"
  database_name       = "{{ cookiecutter.service_name | replace("-", "_") }}"
  instance_class      = "{{ cookiecutter.rds_instance_class }}"
  engine_version      = "16"
  multi_az            = {{ "true" if cookiecutter.environment == "prod" else "false" }}
  deletion_protection = {{ "true" if cookiecutter.environment == "prod" else "false" }}
  master_secret_name  = "{{ cookiecutter.service_name }}/db"
  tags = include.root.locals.service.locals.tags
}
