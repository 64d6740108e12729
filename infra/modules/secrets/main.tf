# Secrets Manager secrets for the services, encrypted with a customer managed KMS key and
# rotated on a schedule by a small Lambda function that generates a new random value (the
# standard four-step rotation: createSecret, setSecret, testSecret, finishSecret).

data "aws_caller_identity" "current" {}

locals {
  rotation_function_name = "${var.name_prefix}-secret-rotation"
}

resource "aws_kms_key" "this" {
  description             = "Secrets Manager secrets of ${var.name_prefix}"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}-secrets"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_secretsmanager_secret" "this" {
  for_each = var.secrets

  name                    = "${var.name_prefix}/${each.key}"
  description             = each.value.description
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = merge(var.tags, { Service = split("/", each.key)[0] })
}

# An empty first version, so that rotation has an AWSCURRENT version to replace. The first
# rotation runs as soon as rotation is configured and stores the first real value; the value
# never passes through OpenTofu or its state.
resource "aws_secretsmanager_secret_version" "initial" {
  for_each = var.secrets

  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = jsonencode({ value = "" })

  lifecycle {
    ignore_changes = [secret_string, version_stages]
  }
}

################################################################################
# Rotation function
################################################################################

data "archive_file" "rotation" {
  type        = "zip"
  source_file = "${path.module}/rotation/rotate.py"
  output_path = "${path.module}/rotation/rotate.zip"
}

resource "aws_cloudwatch_log_group" "rotation" {
  name              = "/aws/lambda/${local.rotation_function_name}"
  retention_in_days = var.log_retention_days

  tags = var.tags
}

data "aws_iam_policy_document" "rotation_assume" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "rotation" {
  statement {
    sid    = "RotateTheseSecrets"
    effect = "Allow"
    actions = [
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ]
    resources = [for s in aws_secretsmanager_secret.this : s.arn]
  }

  # GetRandomPassword has no resource to scope to.
  statement {
    sid       = "GenerateRandomValues"
    effect    = "Allow"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }

  statement {
    sid       = "UseTheSecretsKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "WriteLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.rotation.arn}:*"]
  }
}

resource "aws_iam_role" "rotation" {
  name               = local.rotation_function_name
  description        = "Rotation function of the ${var.name_prefix} secrets."
  assume_role_policy = data.aws_iam_policy_document.rotation_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "rotation" {
  name   = "rotate-secrets"
  role   = aws_iam_role.rotation.id
  policy = data.aws_iam_policy_document.rotation.json
}

resource "aws_lambda_function" "rotation" {
  function_name    = local.rotation_function_name
  description      = "Rotates the ${var.name_prefix} secrets to new random values."
  role             = aws_iam_role.rotation.arn
  runtime          = "python3.12"
  handler          = "rotate.handler"
  filename         = data.archive_file.rotation.output_path
  source_code_hash = data.archive_file.rotation.output_base64sha256
  timeout          = 30
  memory_size      = 128

  environment {
    variables = {
      SECRET_LENGTH = tostring(var.generated_length)
    }
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.rotation, aws_iam_role_policy.rotation]
}

resource "aws_lambda_permission" "secretsmanager" {
  statement_id   = "AllowSecretsManagerToRotate"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.rotation.function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = data.aws_caller_identity.current.account_id
}

resource "aws_secretsmanager_secret_rotation" "this" {
  for_each = var.secrets

  secret_id           = aws_secretsmanager_secret.this[each.key].id
  rotation_lambda_arn = aws_lambda_function.rotation.arn

  rotation_rules {
    automatically_after_days = each.value.rotation_days
  }

  depends_on = [aws_lambda_permission.secretsmanager, aws_secretsmanager_secret_version.initial]
}
