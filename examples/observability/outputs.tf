output "sns_topic_arn" {
  description = "The alarm topic."
  value       = module.observability.sns_topic_arn
}

output "tunnel_alarm_arns" {
  description = "TunnelState alarms."
  value       = module.observability.tunnel_alarm_arns
}

output "instance_alarm_arns" {
  description = "Instance alarms."
  value       = module.observability.instance_alarm_arns
}

output "tgw_alarm_arns" {
  description = "TGW bytes alarms."
  value       = module.observability.tgw_alarm_arns
}

output "fleet_alarm_arn" {
  description = "Fleet capacity alarm."
  value       = module.observability.fleet_alarm_arn
}

output "dashboard_name" {
  description = "The dashboard."
  value       = module.observability.dashboard_name
}

output "log_group_arns" {
  description = "Created log groups."
  value       = module.observability.log_group_arns
}

output "kms_key_arn" {
  description = "The key of the topic and log groups."
  value       = aws_kms_key.this.arn
}
