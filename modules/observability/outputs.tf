output "sns_topic_arn" {
  description = "ARN of the KMS-encrypted alarm topic (null when create_sns_topic is false)."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "alarm_actions" {
  description = "What every alarm notifies: the module's topic plus `alarm_actions` (pass to pod-health)."
  value       = local.alarm_actions
}

output "tunnel_alarm_arns" {
  description = "TunnelState alarm ARN by `<pod>-tunnel<n>`."
  value       = { for k, a in aws_cloudwatch_metric_alarm.tunnel_down : k => a.arn }
}

output "instance_alarm_arns" {
  description = "Status-check, CPU and network alarm ARNs by instance key and metric."
  value = merge(
    { for k, a in aws_cloudwatch_metric_alarm.status_check : "${k}-StatusCheckFailed" => a.arn },
    { for k, a in aws_cloudwatch_metric_alarm.cpu : "${k}-CPUUtilization" => a.arn },
    { for k, a in aws_cloudwatch_metric_alarm.network : k => a.arn },
  )
}

output "tgw_alarm_arns" {
  description = "TGW BytesIn/BytesOut alarm ARNs by `<attachment>-<metric>`."
  value       = { for k, a in aws_cloudwatch_metric_alarm.tgw_bytes : k => a.arn }
}

output "fleet_alarm_arn" {
  description = "ARN of the fleet-below-required alarm (null when disabled)."
  value       = try(aws_cloudwatch_metric_alarm.fleet_capacity[0].arn, null)
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null when disabled)."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

output "log_group_arns" {
  description = "ARNs of the created log groups by name."
  value       = { for k, lg in aws_cloudwatch_log_group.this : k => lg.arn }
}
