# Failure topic: the handlers publish per-image failures, CloudWatch alarms publish alarm
# state changes, and (direct mode) Lambda sends failed async events here as its DLQ; the
# functions subscribe to those dead letters to record them (lambda.tf).
#
# CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed aws/sns key, so
# the topic gets its own customer-managed key whose policy admits CloudWatch.

data "aws_iam_policy_document" "alerts_key" {
  #checkov:skip=CKV_AWS_109:Key policy: the account-root admin statement is the AWS default key policy; "*" means this key only, and IAM policies still gate every principal.
  #checkov:skip=CKV_AWS_111:Key policy: see above; without the root statement the key becomes unmanageable.
  #checkov:skip=CKV_AWS_356:Key policy: resources "*" in a key policy refers to the key itself.
  statement {
    sid       = "AccountAdministration"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means "this key"

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AllowCloudWatchAlarms"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alerts" {
  description             = "${var.project} failure topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alerts_key.json
}

resource "aws_kms_alias" "alerts" {
  name          = "alias/${var.project}-alerts"
  target_key_id = aws_kms_key.alerts.key_id
}

resource "aws_sns_topic" "failures" {
  name              = "${var.project}-failures"
  kms_master_key_id = aws_kms_key.alerts.arn
}

data "aws_iam_policy_document" "failures_topic" {
  statement {
    sid       = "AllowCloudWatchAlarms"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.failures.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.failures.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "failures" {
  arn    = aws_sns_topic.failures.arn
  policy = data.aws_iam_policy_document.failures_topic.json
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.failures.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
