resource "aws_secretsmanager_secret" "s" {
  name       = "fixture/secret"
  kms_key_id = "arn:aws:kms:us-east-1:000000000000:key/1"
}
