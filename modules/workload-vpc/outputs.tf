output "vpc_id" {
  description = "ID of the workload VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the workload VPC."
  value       = aws_vpc.this.cidr_block
}

output "workload_subnet_ids" {
  description = "Workload subnet IDs keyed by availability zone."
  value       = { for az, s in aws_subnet.workload : az => s.id }
}

output "attachment_subnet_ids" {
  description = "Transit Gateway attachment (/28) subnet IDs keyed by availability zone."
  value       = { for az, s in aws_subnet.attachment : az => s.id }
}

output "workload_route_table_id" {
  description = "ID of the route table of the workload subnets (0.0.0.0/0 -> Transit Gateway)."
  value       = aws_route_table.workload.id
}

output "attachment_route_table_id" {
  description = "ID of the route table of the attachment subnets (local route only)."
  value       = aws_route_table.attachment.id
}

output "transit_gateway_attachment_id" {
  description = "ID of the Transit Gateway VPC attachment; the Transit Gateway owner associates it with `workloads` and propagates it into `core`."
  value       = aws_ec2_transit_gateway_vpc_attachment.this.id
}

output "security_group_id" {
  description = "ID of the workload security group (approved flows only)."
  value       = aws_security_group.workload.id
}

output "default_security_group_id" {
  description = "ID of the VPC's default security group, kept without rules."
  value       = aws_default_security_group.this.id
}

output "flow_log_id" {
  description = "ID of the VPC flow log (null when disabled)."
  value       = module.flow_log.id
}

output "flow_log_group_name" {
  description = "Name of the CloudWatch log group receiving the flow logs (null when disabled)."
  value       = module.flow_log.log_group_name
}

output "flow_log_kms_key_arn" {
  description = "ARN of the KMS key encrypting the flow log group (created or given)."
  value       = module.flow_log.kms_key_arn
}
