resource "aws_cloudwatch_log_group" "handler" {
  for_each = var.environments

  #checkov:skip=CKV_AWS_338:Retention is deliberately short (7 days beta, 14 days prod) to bound cost; results of record live in DynamoDB.
  #checkov:skip=CKV_AWS_158:Log lines hold object keys and label names only, no secrets; CloudWatch Logs encrypts at rest by default, a CMK would add a key policy for logs.<region>.amazonaws.com.
  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = each.value.log_retention_days

  tags = {
    Environment = each.key
  }
}

resource "aws_lambda_function" "handler" {
  for_each = local.lambda_envs

  #checkov:skip=CKV_AWS_117:The function only calls regional AWS APIs (S3, DynamoDB, SNS, Rekognition); a VPC would require NAT or five VPC endpoints for no isolation benefit.
  #checkov:skip=CKV_AWS_115:In sqs mode concurrency is bounded by the event source mapping (sqs_maximum_concurrency); reserved concurrency fails on new accounts whose concurrency quota is 10.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the build; the package is built and deployed by the same trusted pipeline.
  #checkov:skip=CKV_AWS_173:Environment variables hold only resource names and tuning knobs, no secrets; they are encrypted at rest with the AWS-managed Lambda key.
  function_name    = local.function_names[each.key]
  description      = "eventlens ${each.key}: label images under ${each.value.prefix} into ${each.value.table_name}"
  role             = aws_iam_role.handler[each.key].arn
  filename         = var.lambda_package_path
  source_code_hash = filebase64sha256(var.lambda_package_path)
  handler          = local.lambda_handler
  runtime          = var.lambda_runtime
  architectures    = [var.lambda_architecture]
  memory_size      = var.lambda_memory_mb
  timeout          = var.lambda_timeout_seconds

  environment {
    variables = {
      EVENTLENS_ENVIRONMENT       = each.key
      EVENTLENS_RESULTS_TABLE     = aws_dynamodb_table.results[each.key].name
      EVENTLENS_RESULTS_BACKEND   = "dynamodb"
      EVENTLENS_ANALYZER          = var.analyzer
      EVENTLENS_PREFIX            = each.value.prefix
      EVENTLENS_FAILURE_TOPIC_ARN = aws_sns_topic.failures.arn
      EVENTLENS_MIN_CONFIDENCE    = tostring(var.min_confidence)
      EVENTLENS_MAX_LABELS        = tostring(var.max_labels)
      EVENTLENS_TTL_DAYS          = tostring(each.value.ttl_days)
    }
  }

  tracing_config {
    mode = "Active"
  }

  # Failed asynchronous invocations (direct mode) land on the failure topic.
  dead_letter_config {
    target_arn = aws_sns_topic.failures.arn
  }

  tags = {
    Environment = each.key
  }

  depends_on = [
    aws_cloudwatch_log_group.handler,
    aws_iam_role_policy.handler,
  ]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = local.use_sqs ? local.lambda_envs : {}

  event_source_arn        = aws_sqs_queue.events[each.key].arn
  function_name           = aws_lambda_function.handler[each.key].arn
  batch_size              = var.sqs_batch_size
  function_response_types = ["ReportBatchItemFailures"]
  enabled                 = true

  scaling_config {
    maximum_concurrency = var.sqs_maximum_concurrency
  }
}

resource "aws_lambda_permission" "s3" {
  for_each = local.use_sqs ? {} : local.lambda_envs

  statement_id   = "AllowS3Invoke"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.handler[each.key].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.images.arn
  source_account = local.account_id
}

# Direct mode: an event that fails all of Lambda's async attempts reaches the failure topic
# (dead_letter_config above). Each function subscribes back, filtered to Lambda's dead letters
# (they carry an ErrorCode attribute; failure notices and alarms do not), and writes the error
# record; keys of other environments are skipped by the handler's prefix check.
resource "aws_lambda_permission" "dead_letters" {
  for_each = local.use_sqs ? {} : local.lambda_envs

  statement_id  = "AllowFailureTopicInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.handler[each.key].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.failures.arn
}

resource "aws_sns_topic_subscription" "dead_letters" {
  for_each = local.use_sqs ? {} : local.lambda_envs

  topic_arn           = aws_sns_topic.failures.arn
  protocol            = "lambda"
  endpoint            = aws_lambda_function.handler[each.key].arn
  filter_policy_scope = "MessageAttributes"
  filter_policy       = jsonencode({ ErrorCode = [{ exists = true }] })

  depends_on = [aws_lambda_permission.dead_letters]
}
