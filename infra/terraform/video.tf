# Environments whose analyzers include "rekognition-video": the handler starts a Rekognition
# Video job (StartLabelDetection) per video; Rekognition announces the finished job on this
# topic, and a second function per environment (eventlens.aws.video_jobs.handler) stores the
# labels. The topic's subscriptions filter on the job tag, which is the environment.

resource "aws_sns_topic" "video_jobs" {
  count = local.use_video ? 1 : 0

  name              = "AmazonRekognition-${var.project}-video-jobs"
  kms_master_key_id = aws_kms_key.alerts.arn
}

data "aws_iam_policy_document" "rekognition_video_assume" {
  count = local.use_video ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["rekognition.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "rekognition_video" {
  count = local.use_video ? 1 : 0

  name               = "${var.project}-rekognition-video"
  description        = "Rekognition Video publishes finished label-detection jobs with this role"
  assume_role_policy = data.aws_iam_policy_document.rekognition_video_assume[0].json
}

data "aws_iam_policy_document" "rekognition_video" {
  count = local.use_video ? 1 : 0

  statement {
    sid       = "PublishJobCompletions"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.video_jobs[0].arn]
  }

  statement {
    sid       = "EncryptForTopic"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.alerts.arn]
  }
}

resource "aws_iam_role_policy" "rekognition_video" {
  count = local.use_video ? 1 : 0

  name   = "${var.project}-rekognition-video"
  role   = aws_iam_role.rekognition_video[0].id
  policy = data.aws_iam_policy_document.rekognition_video[0].json
}

resource "aws_iam_role" "video_jobs" {
  for_each = local.video_envs

  name               = "${var.project}-${each.key}-video-jobs"
  description        = "Execution role of ${local.video_function_names[each.key]}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json

  tags = {
    Environment = each.key
  }
}

data "aws_iam_policy_document" "video_jobs" {
  for_each = local.video_envs

  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.handler["${each.key}-video-jobs"].arn}:*"]
  }

  statement {
    sid       = "GetLabelDetection"
    actions   = ["rekognition:GetLabelDetection"]
    resources = ["*"] # no resource-level permissions
  }

  statement {
    sid       = "UpdateOwnTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem"]
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

  statement {
    sid       = "XRayTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # no resource-level permissions
  }
}

resource "aws_iam_role_policy" "video_jobs" {
  for_each = local.video_envs

  name   = "${var.project}-${each.key}-video-jobs"
  role   = aws_iam_role.video_jobs[each.key].id
  policy = data.aws_iam_policy_document.video_jobs[each.key].json
}

resource "aws_lambda_function" "video_jobs" {
  for_each = local.video_envs

  #checkov:skip=CKV_AWS_117:Calls regional AWS APIs only (Rekognition, DynamoDB, SNS), as the handler.
  #checkov:skip=CKV_AWS_115:Invoked once per finished video job; concurrency follows the upload rate, bounded by var.reserved_concurrency when set.
  #checkov:skip=CKV_AWS_272:Same package as the handler, built and deployed by the same trusted pipeline.
  #checkov:skip=CKV_AWS_173:Environment variables hold only resource names, no secrets.
  function_name     = local.video_function_names[each.key]
  description       = "eventlens ${each.key}: store Rekognition Video labels into ${each.value.table_name}"
  role              = aws_iam_role.video_jobs[each.key].arn
  package_type      = var.package_type
  s3_bucket         = local.lambda_code.s3_bucket
  s3_key            = local.lambda_code.s3_key
  s3_object_version = local.lambda_code.s3_object_version
  source_code_hash  = local.lambda_code.source_code_hash
  image_uri         = local.image_uri
  handler           = local.use_zip ? local.video_handler : null
  runtime           = local.use_zip ? var.lambda_runtime : null
  architectures     = [var.lambda_architecture]
  memory_size       = 256
  timeout           = var.lambda_timeout_seconds

  reserved_concurrent_executions = coalesce(var.reserved_concurrency, -1)

  dynamic "image_config" {
    for_each = local.use_zip ? [] : [1]
    content {
      command = [local.video_handler]
    }
  }

  environment {
    variables = {
      EVENTLENS_ENVIRONMENT       = each.key
      EVENTLENS_RESULTS_TABLE     = aws_dynamodb_table.results[each.key].name
      EVENTLENS_PREFIX            = each.value.prefix
      EVENTLENS_FAILURE_TOPIC_ARN = aws_sns_topic.failures.arn
    }
  }

  tracing_config {
    mode = "Active"
  }

  # An invocation that fails Lambda's async retries lands on the failure topic (and its alarms).
  dead_letter_config {
    target_arn = aws_sns_topic.failures.arn
  }

  tags = {
    Environment = each.key
  }

  depends_on = [
    aws_cloudwatch_log_group.handler,
    aws_iam_role_policy.video_jobs,
    aws_ecr_repository_policy.lambda,
  ]
}

resource "aws_lambda_permission" "video_jobs" {
  for_each = local.video_envs

  statement_id  = "AllowVideoJobsTopicInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.video_jobs[each.key].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.video_jobs[0].arn
}

resource "aws_sns_topic_subscription" "video_jobs" {
  for_each = local.video_envs

  topic_arn           = aws_sns_topic.video_jobs[0].arn
  protocol            = "lambda"
  endpoint            = aws_lambda_function.video_jobs[each.key].arn
  filter_policy_scope = "MessageBody"
  filter_policy       = jsonencode({ JobTag = [each.key], API = ["StartLabelDetection"] })

  depends_on = [aws_lambda_permission.video_jobs]
}
