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

  # Without s3:ListBucket S3 answers 403 for a missing key, which looks like a permission
  # problem (retried); with it, 404, and a deleted image is skipped. S3 evaluates this for a
  # GetObject of a missing key with s3:prefix = the key, so the prefix condition still holds.
  statement {
    sid       = "ListOwnPrefix"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.images.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [each.value.prefix, "${each.value.prefix}*"]
    }
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
    for_each = length(local.env_rekognition_actions[each.key]) > 0 ? [1] : []
    content {
      sid = "Rekognition"
      # Only the APIs of this environment's analyzers; they support no resource-level permissions.
      actions   = local.env_rekognition_actions[each.key]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = contains(keys(local.hash_envs), each.key) ? [1] : []
    content {
      sid = "OwnHashTable"
      actions = [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchWriteItem",
      ]
      resources = [
        aws_dynamodb_table.hashes[each.key].arn,
        "${aws_dynamodb_table.hashes[each.key].arn}/index/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = contains(keys(local.people_envs), each.key) ? [1] : []
    content {
      sid = "OwnPeopleTable"
      # TransactWriteItems is authorised as the Put/Update/Delete it is made of.
      actions = [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
      ]
      resources = [
        aws_dynamodb_table.people[each.key].arn,
        "${aws_dynamodb_table.people[each.key].arn}/index/*",
      ]
    }
  }

  dynamic "statement" {
    for_each = contains(keys(local.collection_envs), each.key) ? [1] : []
    content {
      sid = "OwnFaceCollection"
      # people with rekognition-faces: add a photo's faces, find the nearest, delete a
      # photo's faces; listing (forget) is the CLI's, with your credentials.
      actions = [
        "rekognition:IndexFaces",
        "rekognition:SearchFaces",
        "rekognition:DeleteFaces",
      ]
      resources = [aws_rekognition_collection.people[each.key].arn]
    }
  }

  # StartLabelDetection names the role Rekognition publishes the job's completion with.
  dynamic "statement" {
    for_each = contains(keys(local.video_envs), each.key) ? [1] : []
    content {
      sid       = "PassRekognitionVideoRole"
      actions   = ["iam:PassRole"]
      resources = [aws_iam_role.rekognition_video[0].arn]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["rekognition.amazonaws.com"]
      }
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
