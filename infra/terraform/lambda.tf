# Every function's log group, keyed by environment (the handlers) or "<env>-video-jobs"; kept
# when create_lambdas is false.
resource "aws_cloudwatch_log_group" "handler" {
  for_each = local.log_groups

  #checkov:skip=CKV_AWS_338:Retention is deliberately short (7 days beta, 14 days prod) to bound cost; results of record live in DynamoDB.
  #checkov:skip=CKV_AWS_158:Log lines hold object keys and label names only, no secrets; CloudWatch Logs encrypts at rest by default, a CMK would add a key policy for logs.<region>.amazonaws.com.
  name              = "/aws/lambda/${each.value.function}"
  retention_in_days = each.value.retention_days

  tags = {
    Environment = each.value.environment
  }
}

# Zip packages reach Lambda through S3 (direct uploads stop at 50 MB; the bundled zip is larger).
resource "aws_s3_object" "lambda_package" {
  count = local.use_zip && var.create_lambdas ? 1 : 0

  bucket      = local.artifacts_bucket
  key         = local.artifacts_key
  source      = var.lambda_package_path
  source_hash = filebase64sha256(var.lambda_package_path)
  # The images bucket is versioned: each new zip is a new version, and the functions name it.
}

locals {
  # Shared by the handlers and the video-job functions.
  lambda_code = {
    s3_bucket         = local.use_zip && var.create_lambdas ? aws_s3_object.lambda_package[0].bucket : null
    s3_key            = local.use_zip && var.create_lambdas ? aws_s3_object.lambda_package[0].key : null
    s3_object_version = local.use_zip && var.create_lambdas ? aws_s3_object.lambda_package[0].version_id : null
    source_code_hash  = local.use_zip && var.create_lambdas ? filebase64sha256(var.lambda_package_path) : null
  }
  # With provisioned concurrency the triggers invoke the alias whose version is kept initialised.
  provisioned = var.provisioned_concurrency > 0
  handler_target_arns = {
    for env in keys(local.lambda_envs) : env => (
      local.provisioned ? aws_lambda_alias.live[env].arn : aws_lambda_function.handler[env].arn
    )
  }
  handler_environment = {
    for env, cfg in local.lambda_envs : env => merge(
      {
        EVENTLENS_ENVIRONMENT       = env
        EVENTLENS_RESULTS_TABLE     = aws_dynamodb_table.results[env].name
        EVENTLENS_RESULTS_BACKEND   = "dynamodb"
        EVENTLENS_ANALYZERS         = join(",", local.analyzers[env])
        EVENTLENS_PREFIX            = cfg.prefix
        EVENTLENS_FAILURE_TOPIC_ARN = aws_sns_topic.failures.arn
        EVENTLENS_MIN_CONFIDENCE    = tostring(var.min_confidence)
        EVENTLENS_MAX_LABELS        = tostring(var.max_labels)
        EVENTLENS_MAX_PIXELS        = tostring(var.max_pixels)
        EVENTLENS_TTL_DAYS          = tostring(cfg.ttl_days)
        # Derived, so that the handler records a failure on the last receive SQS allows.
        EVENTLENS_MAX_ATTEMPTS = tostring(local.handler_max_attempts)
      },
      contains(keys(local.hash_envs), env) ? {
        EVENTLENS_HASHES_TABLE           = aws_dynamodb_table.hashes[env].name
        EVENTLENS_DUPLICATE_MAX_DISTANCE = tostring(var.duplicate_max_distance)
      } : {},
      contains(keys(local.people_envs), env) ? {
        EVENTLENS_PEOPLE_TABLE = aws_dynamodb_table.people[env].name
      } : {},
      contains(keys(local.collection_envs), env) ? {
        EVENTLENS_PEOPLE_COLLECTION = aws_rekognition_collection.people[env].collection_id
      } : {},
      contains(keys(local.video_envs), env) ? {
        EVENTLENS_VIDEO_TOPIC_ARN = aws_sns_topic.video_jobs[0].arn
        EVENTLENS_VIDEO_ROLE_ARN  = aws_iam_role.rekognition_video[0].arn
      } : {},
    )
  }
}

resource "aws_lambda_function" "handler" {
  for_each = local.lambda_envs

  #checkov:skip=CKV_AWS_117:The function only calls regional AWS APIs (S3, DynamoDB, SNS, Rekognition); a VPC would require NAT or five VPC endpoints for no isolation benefit.
  #checkov:skip=CKV_AWS_115:Concurrency is capped by var.reserved_concurrency when set (null by default: new accounts have a concurrency quota of 10, and reserving fails below it), and in sqs mode by the event source mapping's maximum concurrency.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile in the build; the package is built and deployed by the same trusted pipeline.
  #checkov:skip=CKV_AWS_173:Environment variables hold only resource names and tuning knobs, no secrets; they are encrypted at rest with the AWS-managed Lambda key.
  function_name = local.function_names[each.key]
  description   = "eventlens ${each.key}: label images under ${each.value.prefix} into ${each.value.table_name}"
  role          = aws_iam_role.handler[each.key].arn
  package_type  = var.package_type
  # Zip: the object uploaded above; Image: the container image.
  s3_bucket                      = local.lambda_code.s3_bucket
  s3_key                         = local.lambda_code.s3_key
  s3_object_version              = local.lambda_code.s3_object_version
  source_code_hash               = local.lambda_code.source_code_hash
  image_uri                      = local.image_uri
  handler                        = local.use_zip ? local.lambda_handler : null
  runtime                        = local.use_zip ? var.lambda_runtime : null
  architectures                  = [var.lambda_architecture]
  memory_size                    = local.handler_memory_mb[each.key]
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = coalesce(var.reserved_concurrency, -1)
  publish                        = local.provisioned

  environment {
    variables = local.handler_environment[each.key]
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

  lifecycle {
    precondition {
      condition     = local.use_zip || local.image_uri != null
      error_message = "package_type = \"Image\" needs lambda_image_uri, or lambda_image_tag of an image pushed to the module's ECR repository (output ecr_repository_url)."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.handler,
    aws_iam_role_policy.handler,
    aws_ecr_repository_policy.lambda,
  ]
}

resource "aws_lambda_alias" "live" {
  for_each = local.provisioned ? local.lambda_envs : {}

  name             = "live"
  description      = "The published version the triggers invoke, kept initialised"
  function_name    = aws_lambda_function.handler[each.key].function_name
  function_version = aws_lambda_function.handler[each.key].version
}

resource "aws_lambda_provisioned_concurrency_config" "handler" {
  for_each = local.provisioned ? local.lambda_envs : {}

  function_name                     = aws_lambda_function.handler[each.key].function_name
  qualifier                         = aws_lambda_alias.live[each.key].name
  provisioned_concurrent_executions = var.provisioned_concurrency
}

resource "aws_lambda_event_source_mapping" "sqs" {
  for_each = local.use_sqs ? local.lambda_envs : {}

  event_source_arn        = aws_sqs_queue.events[each.key].arn
  function_name           = local.handler_target_arns[each.key]
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
  qualifier      = local.provisioned ? aws_lambda_alias.live[each.key].name : null
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
  qualifier     = local.provisioned ? aws_lambda_alias.live[each.key].name : null
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.failures.arn
}

resource "aws_sns_topic_subscription" "dead_letters" {
  for_each = local.use_sqs ? {} : local.lambda_envs

  topic_arn           = aws_sns_topic.failures.arn
  protocol            = "lambda"
  endpoint            = local.handler_target_arns[each.key]
  filter_policy_scope = "MessageAttributes"
  filter_policy       = jsonencode({ ErrorCode = [{ exists = true }] })

  depends_on = [aws_lambda_permission.dead_letters]
}
