include "root" {
  path   = find_in_parent_folders("root.hcl")
  expose = true
}

terraform {
  source = "{{ cookiecutter._tofu_modules }}/irsa-role?ref=v1.4.0"
}

inputs = {
  role_name            = "{{ cookiecutter.service_name }}-irsa"
  cluster_name         = "billpay-eks-cluster"
  namespace            = "billpay{{ "" if cookiecutter.environment == "prod" else "-" ~ cookiecutter.environment }}"
  service_account_name = "{{ cookiecutter.service_name }}"
  secret_arns          = ["arn:aws:secretsmanager:{{ cookiecutter.aws_region }}:{{ cookiecutter.aws_account_id }}:secret:{{ cookiecutter.service_name }}/*"]
  tags = include.root.locals.service.locals.tags
}
