resource "aws_kms_key" "k" {
  description         = var.name
  enable_key_rotation = true
}
