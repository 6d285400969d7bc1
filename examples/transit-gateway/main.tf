provider "aws" {
  region = var.region
}

module "transit_gateway" {
  source = "../../modules/transit-gateway"

  name            = var.name
  amazon_side_asn = var.asn.transit_gateway

  workload_attachments = { for k, w in module.workload : k => w.transit_gateway_attachment_id }
  core_attachments     = { core = module.core.transit_gateway_attachment_id }
  # East-west replies to the fw SNAT addresses go straight back to the core attachment.
  workloads_return_cidrs = [for az in sort(keys(var.core.subnets)) : var.core.subnets[az].internal]
  vpn_attachments = {
    for k, v in aws_vpn_connection.pod : k => {
      attachment_id          = v.transit_gateway_attachment_id
      propagate_to_workloads = contains(var.active_pods, k)
    }
  }

  create_ram_share = length(var.ram_share_accounts) > 0
  ram_principals   = var.ram_share_accounts

  tags = var.tags
}

module "workload" {
  source   = "../../modules/workload-vpc"
  for_each = var.workloads

  name               = each.key
  cidr               = each.value.cidr
  subnets            = each.value.subnets
  transit_gateway_id = module.transit_gateway.id
  tags               = var.tags
}

module "core" {
  source = "../../modules/core-vpc"

  name                       = "${var.name}-core"
  cidr                       = var.core.cidr
  subnets                    = var.core.subnets
  transit_gateway_id         = module.transit_gateway.id
  workload_supernet          = var.workload_supernet
  enable_interface_endpoints = false
  tags                       = var.tags
}

# Stand-ins for the pods' vpn instances: a customer gateway per pod (shared ASN, so ECMP holds) and a
# VPN connection to the Transit Gateway. modules/pod builds the real ones.
resource "aws_customer_gateway" "pod" {
  for_each = var.pods

  bgp_asn    = var.asn.pods
  ip_address = each.value.public_ip
  type       = "ipsec.1"

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_vpn_connection" "pod" {
  for_each = var.pods

  customer_gateway_id = aws_customer_gateway.pod[each.key].id
  transit_gateway_id  = module.transit_gateway.id
  type                = "ipsec.1"
  static_routes_only  = false

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}
