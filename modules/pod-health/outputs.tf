output "function_names" {
  description = "Health-check function name by pod."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_arns" {
  description = "Health-check function ARN by pod."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "security_group_ids" {
  description = "Security group of each pod's health-check function (the fw bridge security group must admit it: the pod module admits the whole bridge subnet)."
  value       = { for k, sg in aws_security_group.this : k => sg.id }
}

output "role_arns" {
  description = "Execution role ARN by pod."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "log_group_names" {
  description = "Log group of each function."
  value       = { for k, lg in aws_cloudwatch_log_group.this : k => lg.name }
}

output "schedule_rule_names" {
  description = "EventBridge rule of each function."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "unhealthy_alarm_arns" {
  description = "The `unhealthy` alarm ARN by pod (empty when create_alarms is false)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.unhealthy : k => a.arn }
}

output "stale_record_alarm_arns" {
  description = "ARN of each pod's `health-record-stale` alarm (its health record is no longer written)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.stale_record : k => a.arn }
}

output "shared_dependency_alarm_arn" {
  description = "ARN of the fleet-wide `shared-dependency` alarm (null without alarms)."
  value       = one(aws_cloudwatch_metric_alarm.shared_dependency[*].arn)
}

output "metric_namespace" {
  description = "Namespace of the pod health metrics (dimension `Pod`)."
  value       = var.metric_namespace
}
