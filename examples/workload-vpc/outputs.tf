output "vpc_id" {
  description = "ID of the workload VPC."
  value       = module.workload_vpc.vpc_id
}

output "transit_gateway_id" {
  description = "ID of the example Transit Gateway."
  value       = aws_ec2_transit_gateway.this.id
}

output "transit_gateway_attachment_id" {
  description = "ID of the workload's Transit Gateway attachment."
  value       = module.workload_vpc.transit_gateway_attachment_id
}

output "workload_route_table_id" {
  description = "Route table of the workload subnets."
  value       = module.workload_vpc.workload_route_table_id
}

output "attachment_subnet_ids" {
  description = "The /28 attachment subnets."
  value       = module.workload_vpc.attachment_subnet_ids
}

output "security_group_id" {
  description = "The workload security group."
  value       = module.workload_vpc.security_group_id
}

output "flow_log_group_name" {
  description = "Flow log group of the VPC."
  value       = module.workload_vpc.flow_log_group_name
}
