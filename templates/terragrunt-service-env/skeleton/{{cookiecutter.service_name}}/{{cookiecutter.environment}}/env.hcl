locals {
  environment    = "{{ cookiecutter.environment }}"
  aws_account_id = "{{ cookiecutter.aws_account_id }}"
  aws_region     = "{{ cookiecutter.aws_region }}"
  name_prefix    = "{{ cookiecutter.resource_prefix }}"
}
