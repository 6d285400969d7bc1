output "vpc_id" {
  description = "ID of the core VPC."
  value       = module.core.vpc_id
}

output "data_plane_transit_gateway_id" {
  description = "ID of the data-plane Transit Gateway."
  value       = aws_ec2_transit_gateway.data_plane.id
}

output "management_transit_gateway_id" {
  description = "ID of the management Transit Gateway."
  value       = module.management.transit_gateway_id
}

output "management_route_table_id" {
  description = "The core VPC's management route table."
  value       = module.core.management_route_table_id
}

output "management_tgw_route_table_id" {
  description = "The management Transit Gateway's route table."
  value       = module.management.route_table_id
}

output "nat_instance_id" {
  description = "The NAT proxy instance."
  value       = module.management.nat_instance_id
}

output "nat_network_interface_id" {
  description = "The NAT proxy's primary ENI."
  value       = module.management.nat_network_interface_id
}

output "core_attachment_id" {
  description = "The management attachment of the core VPC."
  value       = module.management.core_attachment_id
}
