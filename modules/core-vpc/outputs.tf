output "vpc_id" {
  description = "ID of the core VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the core VPC."
  value       = aws_vpc.this.cidr_block
}

output "internet_gateway_id" {
  description = "ID of the internet gateway."
  value       = aws_internet_gateway.this.id
}

output "public_subnet_ids" {
  description = "Public subnet IDs keyed by availability zone."
  value       = { for az in keys(var.subnets) : az => aws_subnet.this["public-${az}"].id }
}

output "internal_subnet_ids" {
  description = "Internal subnet IDs keyed by availability zone."
  value       = { for az in keys(var.subnets) : az => aws_subnet.this["internal-${az}"].id }
}

output "management_subnet_ids" {
  description = "Management subnet IDs keyed by availability zone."
  value       = { for az in keys(var.subnets) : az => aws_subnet.this["management-${az}"].id }
}

output "management_subnet_cidrs" {
  description = "Management subnet CIDRs keyed by availability zone."
  value       = { for az in keys(var.subnets) : az => aws_subnet.this["management-${az}"].cidr_block }
}

output "tgw_subnet_ids" {
  description = "Transit Gateway attachment subnet IDs keyed by availability zone."
  value       = { for az in keys(var.subnets) : az => aws_subnet.this["tgw-${az}"].id }
}

output "bridge_subnet_ids" {
  description = "Bridge subnet IDs keyed by pod name."
  value       = { for k, s in aws_subnet.bridge : k => s.id }
}

output "bridge_route_table_ids" {
  description = "Bridge route table IDs keyed by pod name (0.0.0.0/0 -> the pod's fw bridge ENI)."
  value       = { for k, rt in aws_route_table.bridge : k => rt.id }
}

output "public_route_table_id" {
  description = "ID of the public route table (0.0.0.0/0 -> IGW)."
  value       = aws_route_table.public.id
}

output "internal_route_table_id" {
  description = "ID of the internal route table (workload supernet -> TGW)."
  value       = aws_route_table.internal.id
}

output "management_route_table_id" {
  description = "ID of the management route table (its routes are added by modules/management)."
  value       = aws_route_table.management.id
}

output "tgw_route_table_id" {
  description = "ID of the route table of the Transit Gateway attachment subnets."
  value       = aws_route_table.tgw.id
}

output "transit_gateway_attachment_id" {
  description = "ID of the core VPC's Transit Gateway attachment (associate it with `core`)."
  value       = aws_ec2_transit_gateway_vpc_attachment.this.id
}

output "endpoint_security_group_id" {
  description = "ID of the interface endpoints' security group (null when disabled)."
  value       = try(aws_security_group.endpoints[0].id, null)
}

output "interface_endpoint_ids" {
  description = "Interface endpoint IDs keyed by service."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.id }
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
