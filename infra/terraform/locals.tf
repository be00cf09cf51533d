locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  use_sqs    = var.trigger_mode == "sqs"
  use_s3_kms = var.s3_kms_key_arn != null
  # Production environments (prod by default) get deletion protection and the bucket's access
  # logs unless the variables decide for every environment.
  deletion_protection = {
    for env, cfg in var.environments : env => coalesce(var.dynamodb_deletion_protection, cfg.production)
  }
  use_access_logging = coalesce(var.s3_access_logging, anytrue([for cfg in values(var.environments) : cfg.production]))
  access_log_bucket  = coalesce(var.access_log_bucket_name, "${var.bucket_name}-access-logs")
  access_log_prefix  = "${var.bucket_name}/"
  create_ci          = var.github_repo != null
  # Environments that get an SQS queue (all of them in sqs mode, none in direct mode).
  queue_envs = local.use_sqs ? var.environments : {}
  # Environments that get a Lambda function.
  lambda_envs = var.create_lambdas ? var.environments : {}
  # Environments that get a GitHub Actions role (trusted for one OIDC subject each).
  github_envs = local.create_ci ? { for env, subject in var.github_oidc_subjects : env => var.environments[env] } : {}

  queue_names = { for env, _ in local.queue_envs : env => "${var.project}-${env}-events" }
  # Built from the name so the queue's inline policy can refer to the queue itself.
  queue_arns = {
    for env, name in local.queue_names :
    env => "arn:${local.partition}:sqs:${data.aws_region.current.name}:${local.account_id}:${name}"
  }

  function_names       = { for env, _ in var.environments : env => "rekognition-${env}-handler" }
  video_function_names = { for env, _ in var.environments : env => "rekognition-${env}-video-jobs" }

  # SQS visibility timeout must be >= 6x the function timeout (AWS guidance for SQS triggers).
  visibility_timeout_seconds = 6 * var.lambda_timeout_seconds
  # The handler gives up (error record + SNS) on the last receive SQS allows, never after it.
  handler_max_attempts = coalesce(var.handler_max_attempts, var.sqs_max_receive_count)

  # Every function (handlers keyed by environment, video-job functions by "<env>-video-jobs"),
  # for log groups (kept without Lambdas) and error alarms (only with them).
  log_groups = merge(
    { for env, cfg in var.environments : env => { function = local.function_names[env], environment = env, retention_days = cfg.log_retention_days } },
    { for env, cfg in local.video_log_envs : "${env}-video-jobs" => { function = local.video_function_names[env], environment = env, retention_days = cfg.log_retention_days } },
  )
  alarmed_functions = merge(
    { for env, _ in local.lambda_envs : env => local.log_groups[env] },
    { for env, _ in local.video_envs : "${env}-video-jobs" => local.log_groups["${env}-video-jobs"] },
  )

  lambda_handler = "eventlens.aws.handler.handler"
  video_handler  = "eventlens.aws.video_jobs.handler"

  # Analyzers per environment, as EVENTLENS_ANALYZERS names them.
  analyzers = {
    for env, _ in var.environments :
    env => lookup(var.analyzers, env, [var.analyzer == "bundled" ? "labels" : "rekognition"])
  }
  # Memory of each environment's handler: one vCPU (1769 MB) for the bundled models' CPU work.
  bundled_analyzers = ["labels", "bundled", "faces", "text", "video", "people"]
  handler_memory_mb = {
    for env, names in local.analyzers :
    env => coalesce(var.lambda_memory_mb, length(setintersection(names, local.bundled_analyzers)) > 0 ? 1769 : 256)
  }
  # The Rekognition API each Rekognition analyzer calls.
  rekognition_actions = {
    "rekognition"            = "rekognition:DetectLabels"
    "rekognition-faces"      = "rekognition:DetectFaces"
    "rekognition-text"       = "rekognition:DetectText"
    "rekognition-moderation" = "rekognition:DetectModerationLabels"
    "rekognition-video"      = "rekognition:StartLabelDetection"
  }
  env_rekognition_actions = {
    for env, names in local.analyzers :
    env => sort(distinct([for n in names : local.rekognition_actions[n] if contains(keys(local.rekognition_actions), n)]))
  }
  # Hash tables are data, kept like the results tables when create_lambdas is false.
  hash_envs  = { for env, cfg in var.environments : env => cfg if contains(local.analyzers[env], "duplicates") }
  video_envs = { for env, cfg in local.lambda_envs : env => cfg if contains(local.analyzers[env], "rekognition-video") }
  use_video  = length(local.video_envs) > 0
  # Their log groups stay when create_lambdas is false, as the handlers' do.
  video_log_envs   = { for env, cfg in var.environments : env => cfg if contains(local.analyzers[env], "rekognition-video") }
  hash_table_names = { for env, _ in local.hash_envs : env => "${env}_image_hashes" }
  # People tables hold face descriptors and names: kept like the results tables too.
  people_envs        = { for env, cfg in var.environments : env => cfg if contains(local.analyzers[env], "people") }
  people_table_names = { for env, _ in local.people_envs : env => "${env}_people" }
  # People with rekognition-faces: the faces' descriptors in a Rekognition face collection.
  collection_envs       = { for env, cfg in local.people_envs : env => cfg if contains(local.analyzers[env], "rekognition-faces") }
  people_collection_ids = { for env, _ in local.collection_envs : env => "${env}_people" }

  # Where the code comes from.
  use_zip          = var.package_type == "Zip"
  artifacts_bucket = coalesce(var.lambda_artifacts_bucket, aws_s3_bucket.images.id)
  artifacts_key    = "${var.lambda_artifacts_prefix}${var.project}-lambda.zip"
  create_ecr       = !local.use_zip && var.lambda_image_uri == null
  # null when neither is set: the functions' precondition says what is missing
  image_uri = local.use_zip ? null : try(coalesce(
    var.lambda_image_uri,
    local.create_ecr && var.lambda_image_tag != null ? "${aws_ecr_repository.lambda[0].repository_url}:${var.lambda_image_tag}" : null,
  ), null)
}
