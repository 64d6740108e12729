data "aws_iam_policy_document" "p" {
  statement {
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:*"]
    resources = ["*"]
  }
}
