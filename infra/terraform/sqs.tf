# trigger_mode = "sqs": S3 -> SQS (per prefix) -> Lambda, with a dead-letter queue per environment.

resource "aws_sqs_queue" "dlq" {
  for_each = local.queue_envs

  name                      = "${var.project}-${each.key}-events-dlq"
  message_retention_seconds = var.dlq_retention_seconds
  max_message_size          = 262144 # S3 event notifications are small; pinned so the API default cannot drift
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "events" {
  for_each = local.queue_envs

  name                       = local.queue_names[each.key]
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = 345600 # 4 days
  max_message_size           = 262144
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq[each.key].arn
    maxReceiveCount     = var.sqs_max_receive_count
  })

  # Inline (not aws_sqs_queue_policy) so the policy exists before S3 validates the
  # notification target and is removed together with the queue.
  policy = data.aws_iam_policy_document.queue[each.key].json
}

data "aws_iam_policy_document" "queue" {
  for_each = local.queue_envs

  statement {
    sid       = "AllowS3BucketNotifications"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arns[each.key]]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.images.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}
