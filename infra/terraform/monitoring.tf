# Alarms publish to the failure topic. Log groups live in lambda.tf next to the functions.

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.alarmed_functions

  alarm_name          = "${each.value.function}-errors"
  alarm_description   = "${each.value.function} reported errors (failed invocations)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value.function }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.failures.arn]
  ok_actions          = [aws_sns_topic.failures.arn]

  tags = {
    Environment = each.value.environment
  }

  depends_on = [aws_lambda_function.handler, aws_lambda_function.video_jobs]
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  for_each = local.queue_envs

  alarm_name          = "${var.project}-${each.key}-dlq-depth"
  alarm_description   = "Messages in the ${each.key} dead-letter queue: images that failed ${var.sqs_max_receive_count} times."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq[each.key].name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.failures.arn]
  ok_actions          = [aws_sns_topic.failures.arn]

  tags = {
    Environment = each.key
  }
}

# One row per environment: throughput, errors, duration, and the DLQ depth (sqs mode) or
# Lambda's dead letters (direct mode). eventlens metrics come from the handler (Powertools
# Metrics: namespace eventlens, dimensions environment + service), the rest from AWS.
locals {
  metric_dimensions = { for env, _ in var.environments : env => ["environment", env, "service", "eventlens"] }
  dashboard_rows = [
    for index, env in sort(keys(var.environments)) : [
      {
        type = "metric", x = 0, y = index * 6, width = 6, height = 6
        properties = {
          title = "${env}: throughput (per 5 min)", region = data.aws_region.current.name
          view  = "timeSeries", stat = "Sum", period = 300
          metrics = [
            concat(["eventlens", "Processed"], local.metric_dimensions[env], [{ label = "stored" }]),
            concat(["eventlens", "Unchanged"], local.metric_dimensions[env]),
            concat(["eventlens", "Skipped"], local.metric_dimensions[env]),
            ["AWS/Lambda", "Invocations", "FunctionName", local.function_names[env]],
          ]
        }
      },
      {
        type = "metric", x = 6, y = index * 6, width = 6, height = 6
        properties = {
          title = "${env}: errors", region = data.aws_region.current.name
          view  = "timeSeries", stat = "Sum", period = 300
          metrics = [
            concat(["eventlens", "Failed"], local.metric_dimensions[env], [{ label = "error records" }]),
            concat(["eventlens", "Retried"], local.metric_dimensions[env]),
            ["AWS/Lambda", "Errors", "FunctionName", local.function_names[env]],
            ["AWS/Lambda", "Throttles", "FunctionName", local.function_names[env]],
          ]
        }
      },
      {
        type = "metric", x = 12, y = index * 6, width = 6, height = 6
        properties = {
          title = "${env}: duration (ms)", region = data.aws_region.current.name
          view  = "timeSeries", period = 300
          metrics = [
            concat(["eventlens", "DurationMs"], local.metric_dimensions[env], [{ stat = "p50", label = "per image p50" }]),
            concat(["eventlens", "DurationMs"], local.metric_dimensions[env], [{ stat = "p90", label = "per image p90" }]),
            ["AWS/Lambda", "Duration", "FunctionName", local.function_names[env], { stat = "p90", label = "invocation p90" }],
          ]
        }
      },
      {
        type = "metric", x = 18, y = index * 6, width = 6, height = 6
        properties = local.use_sqs ? {
          title = "${env}: DLQ depth", region = data.aws_region.current.name
          view  = "timeSeries", stat = "Maximum", period = 300
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${var.project}-${env}-events-dlq", { label = "dead letters" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${var.project}-${env}-events", { label = "waiting" }],
          ]
          } : {
          title = "${env}: dead letters (direct mode)", region = data.aws_region.current.name
          view  = "timeSeries", stat = "Sum", period = 300
          metrics = [
            ["AWS/Lambda", "DeadLetterErrors", "FunctionName", local.function_names[env], { label = "dead letters not delivered" }],
            ["AWS/Lambda", "AsyncEventsDropped", "FunctionName", local.function_names[env], { label = "events dropped" }],
          ]
        }
      },
    ]
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = var.project
  dashboard_body = jsonencode({ widgets = flatten(local.dashboard_rows) })
}
