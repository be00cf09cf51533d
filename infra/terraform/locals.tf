locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  use_sqs    = var.trigger_mode == "sqs"
  use_s3_kms = var.s3_kms_key_arn != null
  create_ci  = var.github_repo != null
  # Environments that get an SQS queue (all of them in sqs mode, none in direct mode).
  queue_envs = local.use_sqs ? var.environments : {}
  # Environments that get a Lambda function.
  lambda_envs = var.create_lambdas ? var.environments : {}

  queue_names = { for env, _ in local.queue_envs : env => "${var.project}-${env}-events" }
  # Built from the name so the queue's inline policy can refer to the queue itself.
  queue_arns = {
    for env, name in local.queue_names :
    env => "arn:${local.partition}:sqs:${data.aws_region.current.name}:${local.account_id}:${name}"
  }

  function_names = { for env, _ in var.environments : env => "rekognition-${env}-handler" }

  # SQS visibility timeout must be >= 6x the function timeout (AWS guidance for SQS triggers).
  visibility_timeout_seconds = 6 * var.lambda_timeout_seconds

  lambda_handler = "eventlens.aws.handler.handler"
}
