output "transit_gateway_id" {
  description = "ID of the Transit Gateway."
  value       = module.transit_gateway.id
}

output "route_table_ids" {
  description = "The `workloads` and `core` TGW route table IDs."
  value       = module.transit_gateway.route_table_ids
}

output "bridge_route_table_ids" {
  description = "Bridge route table IDs keyed by pod."
  value       = module.core.bridge_route_table_ids
}

output "kms_key_arn" {
  description = "The key encrypting volumes, PSKs and logs."
  value       = aws_kms_key.this.arn
}

output "pods" {
  description = "Per pod: instances, VPN connection or Connect peers and the attachment, addresses, parameters (no PSK values)."
  value = {
    for k, p in module.pod : k => {
      instance_ids                  = p.instance_ids
      vpn_connection_id             = p.vpn_connection_id
      customer_gateway_id           = p.customer_gateway_id
      transit_gateway_attachment_id = p.transit_gateway_attachment_id
      vpn_public_ip                 = p.vpn_public_ip
      fw_public_ip                  = p.fw_public_ip
      fw_bridge_network_interface   = p.fw_bridge_network_interface_id
      network_interface_ids         = p.network_interface_ids
      security_group_ids            = p.security_group_ids
      psk_parameter_names           = p.psk_parameter_names
      health_parameter_name         = p.health_parameter_name
      log_group_name                = p.log_group_name
      iam_role_arns                 = p.iam_role_arns
      tunnels                       = p.tunnels
      transport                     = p.transport
      connect_peers                 = p.connect_peers
    }
  }
}

output "template_data" {
  description = "What each pod's user_data templates were rendered with."
  value       = { for k, p in module.pod : k => p.template_data }
}
