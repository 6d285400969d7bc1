output "id" {
  description = "ID of the Transit Gateway."
  value       = aws_ec2_transit_gateway.this.id
}

output "arn" {
  description = "ARN of the Transit Gateway."
  value       = aws_ec2_transit_gateway.this.arn
}

output "owner_id" {
  description = "Account ID owning the Transit Gateway."
  value       = aws_ec2_transit_gateway.this.owner_id
}

output "amazon_side_asn" {
  description = "BGP ASN of the Transit Gateway."
  value       = aws_ec2_transit_gateway.this.amazon_side_asn
}

output "route_table_ids" {
  description = "Route table IDs keyed by role: `workloads` and `core`."
  value       = { for k, rt in aws_ec2_transit_gateway_route_table.this : k => rt.id }
}

output "workloads_route_table_id" {
  description = "ID of the `workloads` route table (workload attachments associated; pods' VPN attachments propagated)."
  value       = aws_ec2_transit_gateway_route_table.this["workloads"].id
}

output "core_route_table_id" {
  description = "ID of the `core` route table (core and VPN attachments associated; workload attachments propagated)."
  value       = aws_ec2_transit_gateway_route_table.this["core"].id
}

output "propagating_vpn_attachments" {
  description = "Pods whose VPN attachment currently propagates into `workloads` (the active ECMP set)."
  value       = sort(keys(local.vpn_propagations))
}

output "ram_resource_share_arn" {
  description = "ARN of the RAM resource share (null when not shared)."
  value       = try(aws_ram_resource_share.this[0].arn, null)
}

output "ram_shared_transit_gateway_id" {
  description = "ID of the Transit Gateway, available only once the RAM share and its principal associations exist: attachments from another account use this one so they wait for the share."
  value       = aws_ec2_transit_gateway.this.id

  depends_on = [aws_ram_resource_association.this, aws_ram_principal_association.this]
}

output "workloads_return_routes" {
  description = "Return routes in `workloads`: destination CIDR -> core attachment ID."
  value       = { for k, r in aws_ec2_transit_gateway_route.workloads_return : k => r.transit_gateway_attachment_id }
}
