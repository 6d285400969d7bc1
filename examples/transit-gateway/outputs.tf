output "transit_gateway_id" {
  description = "ID of the Transit Gateway."
  value       = module.transit_gateway.id
}

output "route_table_ids" {
  description = "The `workloads` and `core` route table IDs."
  value       = module.transit_gateway.route_table_ids
}

output "workload_attachment_ids" {
  description = "Workload attachment IDs keyed by workload."
  value       = { for k, w in module.workload : k => w.transit_gateway_attachment_id }
}

output "core_attachment_id" {
  description = "The core VPC's attachment ID."
  value       = module.core.transit_gateway_attachment_id
}

output "vpn_attachment_ids" {
  description = "The pods' VPN attachment IDs."
  value       = { for k, v in aws_vpn_connection.pod : k => v.transit_gateway_attachment_id }
}

output "propagating_vpn_attachments" {
  description = "Pods in the active ECMP set."
  value       = module.transit_gateway.propagating_vpn_attachments
}

output "workloads_return_routes" {
  description = "Return routes in `workloads`: core internal CIDR -> core attachment ID."
  value       = module.transit_gateway.workloads_return_routes
}
