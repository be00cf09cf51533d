# Alarms publish to the failure topic. Log groups live in lambda.tf next to the functions.

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each = local.lambda_envs

  alarm_name          = "${local.function_names[each.key]}-errors"
  alarm_description   = "${local.function_names[each.key]} reported errors (failed invocations)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.handler[each.key].function_name }
  statistic           = "Sum"
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
