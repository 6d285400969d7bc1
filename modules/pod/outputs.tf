output "vpn_instance_id" {
  description = "ID of the vpn instance."
  value       = aws_instance.this["vpn"].id
}

output "fw_instance_id" {
  description = "ID of the fw instance."
  value       = aws_instance.this["fw"].id
}

output "instance_ids" {
  description = "Instance IDs by role (`vpn`, `fw`)."
  value       = { for k, i in aws_instance.this : k => i.id }
}

output "vpn_public_ip" {
  description = "EIP of the vpn instance (= the customer gateway address); null for the connect transport (no public address)."
  value       = try(aws_eip.this["vpn"].public_ip, null)
}

output "fw_public_ip" {
  description = "EIP the fw SNATs north-south traffic to."
  value       = aws_eip.this["fw"].public_ip
}

output "customer_gateway_id" {
  description = "ID of the pod's customer gateway; null for the connect transport."
  value       = one(aws_customer_gateway.this[*].id)
}

output "vpn_connection_id" {
  description = "ID of the pod's site-to-site VPN connection; null for the connect transport."
  value       = one(aws_vpn_connection.this[*].id)
}

output "transit_gateway_attachment_id" {
  description = "The pod's TGW attachment, the VPN connection's or the Connect attachment (associated with `core`, propagated into `workloads`)."
  value       = local.transit_gateway_attachment_id
}

output "transport" {
  description = "The pod's transport: `vpn` or `connect`."
  value       = var.transport.type
}

output "connect_peers" {
  description = "The Connect peers (connect transport; empty for vpn): id, inside CIDR, our BGP address, the TGW's two BGP addresses and its GRE address."
  value = [
    for p in local.connect_peers : {
      id                      = aws_ec2_transit_gateway_connect_peer.this[tostring(p.number)].id
      inside_cidr             = p.inside_cidr
      local_inside_ip         = p.local_inside_ip
      peer_inside_ips         = p.peer_inside_ips
      transit_gateway_address = p.outside_ip
    }
  ]
}

output "tunnels" {
  description = "Both VPN tunnels: outside (TGW endpoint) address and inside addresses (empty for the connect transport). No pre-shared keys."
  value = [
    for n, t in local.tunnels : {
      outside_ip      = local.tunnel_outside_ips[t]
      inside_cidr     = var.tunnel_inside_cidrs[n]
      local_inside_ip = cidrhost(var.tunnel_inside_cidrs[n], 2)
      peer_inside_ip  = cidrhost(var.tunnel_inside_cidrs[n], 1)
    }
  ]
}

output "fw_bridge_network_interface_id" {
  description = "ENI of the fw in the bridge subnet: the bridge route table's default target."
  value       = aws_network_interface.this["fw-bridge"].id
}

output "network_interface_ids" {
  description = "Every ENI of the pod by key (`vpn-public` or, for connect, `vpn-internal`, `vpn-bridge`, `fw-management`, `fw-bridge`, `fw-internal`, `fw-public`)."
  value       = { for k, e in aws_network_interface.this : k => e.id }
}

output "bridge" {
  description = "The bridge subnet's fixed addresses: cidr, gateway, fw_ip, vpn_ip."
  value       = local.bridge
}

output "fw_internal_ip" {
  description = "The fw's internal address (east-west SNAT source)."
  value       = local.fw_internal_ip
}

output "security_group_ids" {
  description = "Security group IDs by ENI key."
  value       = local.eni_security_groups
}

output "psk_parameter_names" {
  description = "Names of the SSM SecureStrings holding the tunnel PSKs (the values are never output); empty for the connect transport."
  value       = [for t in local.tunnels : aws_ssm_parameter.psk[t].name]
}

output "health_parameter_name" {
  description = "Name of the SSM parameter holding the pod's health (written by pod-health, read by the vpn's agent)."
  value       = aws_ssm_parameter.health.name
}

output "health_parameter_arn" {
  description = "ARN of the pod's health parameter (for the pod-health Lambda's write permission)."
  value       = aws_ssm_parameter.health.arn
}

output "log_group_name" {
  description = "Name of the pod's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the pod's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "iam_role_arns" {
  description = "Instance role ARNs by role (`vpn`, `fw`)."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "workload_cidrs" {
  description = "Every workload address range the pod carries: `workload_supernet`, then each workload CIDR pinned outside it, sorted."
  value       = local.workload_cidrs
}

output "template_data" {
  description = "Exactly what the user_data templates are rendered with (see TEMPLATE_DATA.md); contains no secrets."
  value       = local.template_data
}
