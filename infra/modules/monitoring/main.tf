# CloudWatch for BillPay: a log group per service (encrypted with a KMS key), an error-count
# metric from each service's logs, alarms on errors, container restarts, node CPU, failed
# nodes and ALB 5xx, an SNS topic for the alarms, and the <name_prefix>-overview dashboard.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition         = data.aws_partition.current.partition
  region            = data.aws_region.current.name
  account_id        = data.aws_caller_identity.current.account_id
  log_group_prefix  = "/aws/eks/${var.name_prefix}"
  metrics_namespace = "BillPay/${var.name_prefix}"
  alarm_actions     = [aws_sns_topic.alarms.arn]
}

################################################################################
# KMS key for the log groups and the alarm topic
################################################################################

data "aws_iam_policy_document" "kms" {
  statement {
    sid    = "KeyAdministrationByTheAccount"
    effect = "Allow"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListGrants",
      "kms:ListKeyPolicies",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:RetireGrant",
      "kms:RevokeGrant",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid    = "CloudWatchLogsEncryptsTheServiceLogs"
    effect = "Allow"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_prefix}/*"]
    }
  }

  # Alarms publish to the encrypted topic.
  statement {
    sid       = "CloudWatchAlarmsPublish"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "CloudWatch logs and alarms of ${var.name_prefix}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}-monitoring"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Alarm topic
################################################################################

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.this.arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_email_addresses)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.key
}

################################################################################
# Service logs and their error metric
################################################################################

resource "aws_cloudwatch_log_group" "service" {
  for_each = toset(var.services)

  name              = "${local.log_group_prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn

  tags = merge(var.tags, { Service = each.key })
}

resource "aws_cloudwatch_log_metric_filter" "errors" {
  for_each = aws_cloudwatch_log_group.service

  name           = "${each.key}-errors"
  log_group_name = each.value.name
  pattern        = "ERROR"

  metric_transformation {
    name          = "${each.key}-log-errors"
    namespace     = local.metrics_namespace
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "log_errors" {
  for_each = aws_cloudwatch_log_metric_filter.errors

  alarm_name          = "${var.name_prefix}-${each.key}-log-errors"
  alarm_description   = "${each.key} logged more than ${var.error_log_threshold} errors in 5 minutes."
  namespace           = local.metrics_namespace
  metric_name         = each.value.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_log_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = merge(var.tags, { Service = each.key })
}

resource "aws_cloudwatch_metric_alarm" "container_restarts" {
  for_each = toset(var.services)

  alarm_name          = "${var.name_prefix}-${each.key}-container-restarts"
  alarm_description   = "Pods of ${each.key} restarted more than ${var.container_restart_threshold} times (CrashLoopBackOff, OOMKilled)."
  namespace           = "ContainerInsights"
  metric_name         = "pod_number_of_container_restarts"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.container_restart_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    ClusterName = var.cluster_name
    Namespace   = var.namespace
    PodName     = each.key
  }

  tags = merge(var.tags, { Service = each.key })
}

resource "aws_cloudwatch_metric_alarm" "node_cpu" {
  alarm_name          = "${var.cluster_name}-node-cpu"
  alarm_description   = "Average node CPU of ${var.cluster_name} above ${var.node_cpu_threshold_percent}% for 15 minutes: the node groups are at their maximum size or scaling is stuck."
  namespace           = "ContainerInsights"
  metric_name         = "node_cpu_utilization"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.node_cpu_threshold_percent
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    ClusterName = var.cluster_name
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "failed_nodes" {
  alarm_name          = "${var.cluster_name}-failed-nodes"
  alarm_description   = "Nodes of ${var.cluster_name} report problems."
  namespace           = "ContainerInsights"
  metric_name         = "cluster_failed_node_count"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    ClusterName = var.cluster_name
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  for_each = var.alb_arn_suffix == null ? {} : {
    elb    = "HTTPCode_ELB_5XX_Count"
    target = "HTTPCode_Target_5XX_Count"
  }

  alarm_name          = "${var.name_prefix}-alb-${each.key}-5xx"
  alarm_description   = "The ALB (${each.key}) answered more than ${var.alb_5xx_threshold} 5xx responses in 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = each.value
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alb_5xx_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    LoadBalancer = var.alb_arn_suffix
  }

  tags = var.tags
}

################################################################################
# Dashboard
################################################################################

resource "aws_cloudwatch_dashboard" "overview" {
  dashboard_name = "${var.name_prefix}-overview"
  dashboard_body = jsonencode({
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title   = "Errors logged per service"
          region  = local.region
          view    = "timeSeries"
          stat    = "Sum"
          period  = 300
          metrics = [for s in var.services : [local.metrics_namespace, "${s}-log-errors"]]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Node CPU and memory (${var.cluster_name})"
          region = local.region
          view   = "timeSeries"
          stat   = "Average"
          period = 300
          metrics = [
            ["ContainerInsights", "node_cpu_utilization", "ClusterName", var.cluster_name],
            ["ContainerInsights", "node_memory_utilization", "ClusterName", var.cluster_name],
          ]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 24
        height = 6
        properties = {
          title   = "Container restarts per service"
          region  = local.region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 300
          metrics = [for s in var.services : ["ContainerInsights", "pod_number_of_container_restarts", "ClusterName", var.cluster_name, "Namespace", var.namespace, "PodName", s]]
        }
      },
    ]
  })
}
