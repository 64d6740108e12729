resource "aws_iam_role_policy" "p" {
  name = "fixture"
  role = "fixture"
  policy = jsonencode({
    Statement = [{ Effect = "Allow", NotAction = ["iam:CreateUser"], Resource = "*" }]
  })
}
