resource "aws_secretsmanager_secret" "s" {
  name = "fixture/secret"
}

resource "aws_secretsmanager_secret_rotation" "s" {
  secret_id           = aws_secretsmanager_secret.s.id
  rotation_lambda_arn = "arn:aws:lambda:us-east-1:000000000000:function:rotate"

  rotation_rules {
    automatically_after_days = 30
  }
}
