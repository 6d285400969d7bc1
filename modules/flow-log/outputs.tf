output "id" {
  description = "ID of the flow log (null when `create` is false)."
  value       = try(aws_flow_log.this[0].id, null)
}

output "log_group_name" {
  description = "Name of the flow log's CloudWatch log group (null when `create` is false)."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "log_group_arn" {
  description = "ARN of the flow log's CloudWatch log group (null when `create` is false)."
  value       = try(aws_cloudwatch_log_group.this[0].arn, null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting the log group: the one created here or `kms_key_arn`."
  value       = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn
}
