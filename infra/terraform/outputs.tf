output "bucket_name" {
  description = "Input bucket; upload images under the environment prefixes."
  value       = aws_s3_bucket.images.id
}

output "prefixes" {
  description = "S3 prefix per environment."
  value       = { for env, cfg in var.environments : env => cfg.prefix }
}

output "table_names" {
  description = "DynamoDB results table per environment."
  value       = { for env, t in aws_dynamodb_table.results : env => t.name }
}

output "queue_urls" {
  description = "SQS event queue URL per environment (empty in direct mode)."
  value       = { for env, q in aws_sqs_queue.events : env => q.url }
}

output "dlq_urls" {
  description = "Dead-letter queue URL per environment (empty in direct mode)."
  value       = { for env, q in aws_sqs_queue.dlq : env => q.url }
}

output "failure_topic_arn" {
  description = "SNS topic receiving handler failures and alarm notifications."
  value       = aws_sns_topic.failures.arn
}

output "function_names" {
  description = "Lambda function name per environment."
  value       = { for env, f in aws_lambda_function.handler : env => f.function_name }
}

output "log_group_names" {
  description = "CloudWatch log group per environment."
  value       = { for env, _ in var.environments : env => aws_cloudwatch_log_group.handler[env].name }
}

output "github_actions_role_arns" {
  description = "GitHub Actions role per environment (repository variables AWS_BETA_ROLE_ARN for pull requests, AWS_PROD_ROLE_ARN for main); empty without github_repo."
  value       = { for env, role in aws_iam_role.github : env => role.arn }
}

output "lambda_package_s3_uri" {
  description = "Where the Lambda zip was uploaded (Zip packages); null for images."
  value       = length(aws_s3_object.lambda_package) > 0 ? "s3://${aws_s3_object.lambda_package[0].bucket}/${aws_s3_object.lambda_package[0].key}" : null
}

output "ecr_repository_url" {
  description = "Push the Lambda container image here (package_type = \"Image\"); null otherwise."
  value       = length(aws_ecr_repository.lambda) > 0 ? aws_ecr_repository.lambda[0].repository_url : null
}

output "hash_table_names" {
  description = "The duplicates analyzer's DynamoDB table per environment that runs it."
  value       = { for env, t in aws_dynamodb_table.hashes : env => t.name }
}

output "people_table_names" {
  description = "The people analyzer's DynamoDB table (face descriptors, people, names) per environment that runs it."
  value       = { for env, t in aws_dynamodb_table.people : env => t.name }
}

output "video_job_function_names" {
  description = "The function storing Rekognition Video results, per environment that runs rekognition-video."
  value       = { for env, f in aws_lambda_function.video_jobs : env => f.function_name }
}

output "dashboard_name" {
  description = "CloudWatch dashboard: throughput, errors, duration and DLQ depth per environment."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}

output "access_log_bucket_name" {
  description = "Bucket receiving the images bucket's S3 server access logs; null when s3_access_logging is off."
  value       = length(aws_s3_bucket.access_logs) > 0 ? aws_s3_bucket.access_logs[0].id : null
}

output "people_collection_ids" {
  description = "The Rekognition face collection of the people analyzer's faces, per environment that runs it with rekognition-faces."
  value       = { for env, c in aws_rekognition_collection.people : env => c.collection_id }
}
