################################################################################
# IDs for tests, `microseg verify` and operators. No secrets: pre-shared keys stay in SSM.
################################################################################

output "network_account_id" {
  description = "Account that owns the Transit Gateway, the core VPC and the pods."
  value       = local.account_id
}

output "kms_key_arn" {
  description = "ARN of the network account's KMS key (logs, volumes, pre-shared keys, alarm topic)."
  value       = aws_kms_key.this.arn
}

# --- Transit Gateway --------------------------------------------------------------------------

output "transit_gateway_id" {
  description = "ID of the data-plane Transit Gateway."
  value       = module.transit_gateway.id
}

output "transit_gateway_asn" {
  description = "Amazon-side ASN of the data-plane Transit Gateway (generator `asn.transit_gateway`)."
  value       = module.transit_gateway.amazon_side_asn
}

output "transit_gateway_route_table_ids" {
  description = "Transit Gateway route table IDs by role: `workloads` and `core`."
  value       = module.transit_gateway.route_table_ids
}

output "ram_resource_share_arn" {
  description = "ARN of the RAM share of the Transit Gateway (null without other accounts)."
  value       = module.transit_gateway.ram_resource_share_arn
}

# --- Workloads --------------------------------------------------------------------------------

output "workload_attachment_ids" {
  description = "The workload attachments this stack found (by owner account, or by tags in this account), accepted, associated with `workloads` and propagated into `core`. Empty until the workload stacks ran."
  value       = sort(keys(local.workload_attachment_ids))
}

output "core_vpc_id" {
  description = "ID of the core VPC."
  value       = module.core_vpc.vpc_id
}

output "core_transit_gateway_attachment_id" {
  description = "The core VPC's attachment (associated with `core`)."
  value       = module.core_vpc.transit_gateway_attachment_id
}

output "core_route_table_ids" {
  description = "Core VPC route table IDs: `public` (0.0.0.0/0 -> IGW), `internal` (workload supernet -> TGW), `management`, `tgw`."
  value = {
    public     = module.core_vpc.public_route_table_id
    internal   = module.core_vpc.internal_route_table_id
    management = module.core_vpc.management_route_table_id
    tgw        = module.core_vpc.tgw_route_table_id
  }
}

output "internet_gateway_id" {
  description = "ID of the core VPC's internet gateway."
  value       = module.core_vpc.internet_gateway_id
}

# --- Pods -------------------------------------------------------------------------------------

output "pods" {
  description = "Per pod: instances, VPN connection or Connect peers and the TGW attachment, fw bridge ENI, bridge subnet and route table, public IPs, health parameter."
  value = {
    for k, p in module.pod : k => {
      az                             = var.pods[k].az
      vpn_instance_id                = p.vpn_instance_id
      fw_instance_id                 = p.fw_instance_id
      customer_gateway_id            = p.customer_gateway_id
      vpn_connection_id              = p.vpn_connection_id
      transit_gateway_attachment_id  = p.transit_gateway_attachment_id
      transport                      = p.transport
      connect_peers                  = p.connect_peers
      fw_bridge_network_interface_id = p.fw_bridge_network_interface_id
      bridge_subnet_id               = module.core_vpc.bridge_subnet_ids[k]
      bridge_route_table_id          = module.core_vpc.bridge_route_table_ids[k]
      fw_internal_ip                 = p.fw_internal_ip
      vpn_public_ip                  = p.vpn_public_ip
      fw_public_ip                   = p.fw_public_ip
      health_parameter_name          = p.health_parameter_name
    }
  }
}

output "health_check_function_names" {
  description = "Health-check Lambda function name by pod."
  value       = module.pod_health.function_names
}

# --- Management and observability ---------------------------------------------------------------

output "management_transit_gateway_id" {
  description = "ID of the management Transit Gateway."
  value       = module.management.transit_gateway_id
}

output "management_nat_instance_id" {
  description = "ID of the management NAT proxy instance."
  value       = module.management.nat_instance_id
}

output "alarm_topic_arn" {
  description = "ARN of the KMS-encrypted SNS topic every alarm notifies."
  value       = module.observability.sns_topic_arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.observability.dashboard_name
}
