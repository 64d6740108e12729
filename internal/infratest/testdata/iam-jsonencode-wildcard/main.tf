resource "aws_iam_role_policy" "p" {
  name = "fixture"
  role = "fixture"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "*"
      Resource = "*"
    }]
  })
}
