output "vpc_id" {
  description = "ID of the example VPC."
  value       = aws_vpc.this.id
}

output "flow_log_id" {
  description = "ID of the VPC's flow log."
  value       = module.flow_log.id
}

output "log_group_name" {
  description = "Name of the flow log's log group."
  value       = module.flow_log.log_group_name
}

output "kms_key_arn" {
  description = "ARN of the KMS key of the log group."
  value       = module.flow_log.kms_key_arn
}
