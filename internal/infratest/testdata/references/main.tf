variable "name" {
  type = string
}

resource "aws_kms_key" "k" {
  description         = var.name
  enable_key_rotation = true
}

resource "aws_kms_alias" "k" {
  name          = "alias/${var.nmae}"
  target_key_id = aws_kms_key.key.key_id
}
