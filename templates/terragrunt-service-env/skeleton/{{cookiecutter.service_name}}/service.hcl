# Shared by every environment of {{ cookiecutter.service_name }}.
locals {
  service = "{{ cookiecutter.service_name }}"
  owner   = "{{ cookiecutter.owner }}"
  tags = {
    Service   = "{{ cookiecutter.service_name }}"
    Owner     = "{{ cookiecutter.owner }}"
    ManagedBy = "terragrunt"
  }
}
