# One execution role per environment, each limited to its own prefix, table, queue and log group.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "handler" {
  for_each = local.lambda_envs

  name               = "${var.project}-${each.key}-handler"
  description        = "Execution role of ${local.function_names[each.key]}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = {
    Environment = each.key
  }
}

data "aws_iam_policy_document" "handler" {
  for_each = local.lambda_envs

  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.handler[each.key].arn}:*"]
  }

  statement {
    sid       = "ReadOwnPrefix"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.images.arn}/${each.value.prefix}*"]
  }

  statement {
    sid = "WriteOwnTable"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.results[each.key].arn]
  }

  statement {
    sid       = "PublishFailures"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.failures.arn]
  }

  statement {
    sid       = "EncryptForFailureTopic"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.alerts.arn]
  }

  dynamic "statement" {
    for_each = local.use_s3_kms ? [1] : []
    content {
      sid       = "DecryptBucketObjects"
      actions   = ["kms:Decrypt"]
      resources = [var.s3_kms_key_arn]
    }
  }

  dynamic "statement" {
    for_each = var.analyzer == "rekognition" ? [1] : []
    content {
      sid     = "DetectLabels"
      actions = ["rekognition:DetectLabels"]
      # DetectLabels supports no resource-level permissions.
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = local.use_sqs ? [1] : []
    content {
      sid = "ConsumeOwnQueue"
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
      ]
      resources = [aws_sqs_queue.events[each.key].arn]
    }
  }

  statement {
    sid = "XRayTraces"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
    ]
    # X-Ray supports no resource-level permissions.
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "handler" {
  for_each = local.lambda_envs

  name   = "${var.project}-${each.key}-handler"
  role   = aws_iam_role.handler[each.key].id
  policy = data.aws_iam_policy_document.handler[each.key].json
}
