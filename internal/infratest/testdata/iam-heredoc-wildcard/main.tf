resource "aws_iam_policy" "p" {
  name   = "fixture"
  policy = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [{"Effect": "Allow", "Action": ["iam:*"], "Resource": "*"}]
    }
  EOT
}
