output "vpc_id" {
  description = "ID of the core VPC."
  value       = module.core.vpc_id
}

output "transit_gateway_id" {
  description = "ID of the example Transit Gateway."
  value       = aws_ec2_transit_gateway.this.id
}

output "transit_gateway_attachment_id" {
  description = "The core VPC's attachment."
  value       = module.core.transit_gateway_attachment_id
}

output "bridge_route_table_ids" {
  description = "Bridge route tables keyed by pod."
  value       = module.core.bridge_route_table_ids
}

output "fw_bridge_eni_ids" {
  description = "The stand-in fw bridge ENIs keyed by pod."
  value       = { for k, eni in aws_network_interface.fw_bridge : k => eni.id }
}

output "internal_route_table_id" {
  description = "The internal route table."
  value       = module.core.internal_route_table_id
}

output "public_route_table_id" {
  description = "The public route table."
  value       = module.core.public_route_table_id
}

output "interface_endpoint_ids" {
  description = "Interface endpoints keyed by service."
  value       = module.core.interface_endpoint_ids
}

output "endpoint_security_group_id" {
  description = "The interface endpoints' security group."
  value       = module.core.endpoint_security_group_id
}
