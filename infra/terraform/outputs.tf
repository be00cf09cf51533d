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
  value       = { for env, g in aws_cloudwatch_log_group.handler : env => g.name }
}

output "github_actions_role_arn" {
  description = "Role for GitHub Actions (set it as the repository variable AWS_ROLE_ARN); null without github_repo."
  value       = local.create_ci ? aws_iam_role.github[0].arn : null
}
