output "function_names" {
  description = "Health-check function per pod."
  value       = module.pod_health.function_names
}

output "health_parameter_names" {
  description = "Health parameter per pod."
  value       = { for k, p in aws_ssm_parameter.health : k => p.name }
}

output "security_group_ids" {
  description = "Security group of each function."
  value       = module.pod_health.security_group_ids
}

output "schedule_rule_names" {
  description = "EventBridge rule per pod."
  value       = module.pod_health.schedule_rule_names
}

output "unhealthy_alarm_arns" {
  description = "The `unhealthy` alarm per pod."
  value       = module.pod_health.unhealthy_alarm_arns
}

output "bridge_subnet_ids" {
  description = "Bridge subnet per pod (where each function's ENI lives)."
  value       = module.core.bridge_subnet_ids
}

output "alarm_topic_arn" {
  description = "Topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}
