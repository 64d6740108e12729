resource "aws_kms_key" "k" {
  description = "not aligned"
  enable_key_rotation = true
}
