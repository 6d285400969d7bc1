output "transit_gateway_id" {
  description = "ID of the management Transit Gateway."
  value       = aws_ec2_transit_gateway.this.id
}

output "transit_gateway_asn" {
  description = "BGP ASN of the management Transit Gateway."
  value       = aws_ec2_transit_gateway.this.amazon_side_asn
}

output "route_table_id" {
  description = "ID of the management Transit Gateway route table."
  value       = aws_ec2_transit_gateway_route_table.this.id
}

output "core_attachment_id" {
  description = "ID of the core VPC's attachment (management subnets) to the management Transit Gateway."
  value       = aws_ec2_transit_gateway_vpc_attachment.core.id
}

output "nat_instance_id" {
  description = "ID of the NAT proxy instance (null when not created)."
  value       = try(aws_instance.nat[0].id, null)
}

output "nat_network_interface_id" {
  description = "Primary ENI of the NAT proxy instance, the target of the management subnets' 0.0.0.0/0."
  value       = try(aws_instance.nat[0].primary_network_interface_id, null)
}

output "nat_public_ip" {
  description = "Elastic IP of the NAT proxy (allow-list it at license servers)."
  value       = try(aws_eip.nat[0].public_ip, null)
}

output "nat_security_group_id" {
  description = "ID of the NAT proxy's security group."
  value       = try(aws_security_group.nat[0].id, null)
}

output "nat_role_name" {
  description = "Name of the NAT proxy's IAM role (SSM session channels only)."
  value       = try(aws_iam_role.nat[0].name, null)
}
