locals {
  route_tables = toset(["workloads", "core"])

  # Blue/green: only the selected VPN attachments feed their BGP 0.0.0.0/0 into `workloads`.
  vpn_propagations = { for k, v in var.vpn_attachments : k => v.attachment_id if v.propagate_to_workloads }
}

################################################################################
# Transit Gateway and its two route tables
################################################################################

resource "aws_ec2_transit_gateway" "this" {
  description     = var.description
  amazon_side_asn = var.amazon_side_asn

  auto_accept_shared_attachments = var.auto_accept_shared_attachments ? "enable" : "disable"
  # Nothing lands in a default table: every attachment is wired on purpose, as the packet path requires.
  default_route_table_association = "disable"
  default_route_table_propagation = "disable"
  dns_support                     = "enable"
  # ECMP over the pods' VPN attachments is what spreads flows over the fleet.
  vpn_ecmp_support = "enable"
  # TGW Connect (GRE) peers get their TGW-side outer addresses from these blocks.
  transit_gateway_cidr_blocks = var.transit_gateway_cidr_blocks

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_ec2_transit_gateway_route_table" "this" {
  for_each = local.route_tables

  transit_gateway_id = aws_ec2_transit_gateway.this.id

  tags = merge(var.tags, { Name = "${var.name}-${each.key}", "microseg:route-table" = each.key })
}

################################################################################
# Cross-account attachments: accepted here, by the owner
################################################################################

resource "aws_ec2_transit_gateway_vpc_attachment_accepter" "this" {
  for_each = var.accept_vpc_attachments

  transit_gateway_attachment_id                   = each.value
  transit_gateway_default_route_table_association = false
  transit_gateway_default_route_table_propagation = false

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

################################################################################
# Workloads: associated with `workloads`, propagated into `core` (never into `workloads`)
################################################################################

resource "aws_ec2_transit_gateway_route_table_association" "workload" {
  for_each = var.workload_attachments

  transit_gateway_attachment_id  = each.value
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["workloads"].id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment_accepter.this]
}

resource "aws_ec2_transit_gateway_route_table_propagation" "workload" {
  for_each = var.workload_attachments

  transit_gateway_attachment_id  = each.value
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["core"].id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment_accepter.this]
}

################################################################################
# Core VPC: associated with `core`
################################################################################

resource "aws_ec2_transit_gateway_route_table_association" "core" {
  for_each = var.core_attachments

  transit_gateway_attachment_id  = each.value
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["core"].id
}

################################################################################
# Pods' VPN attachments: associated with `core`, selected ones propagated into `workloads`
################################################################################

resource "aws_ec2_transit_gateway_route_table_association" "vpn" {
  for_each = var.vpn_attachments

  transit_gateway_attachment_id  = each.value.attachment_id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["core"].id
}

resource "aws_ec2_transit_gateway_route_table_propagation" "vpn" {
  for_each = local.vpn_propagations

  transit_gateway_attachment_id  = each.value
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["workloads"].id
}

################################################################################
# Return path of east-west traffic: the fw SNATs to its own internal address, so the reply to it
# must go straight back to the core attachment (to that very fw), not through the ECMP default.
# Only the core's internal subnets go here: no workload CIDR is ever routed in `workloads`.
################################################################################

resource "aws_ec2_transit_gateway_route" "workloads_return" {
  for_each = var.core_attachment_key == null ? toset([]) : toset(var.workloads_return_cidrs)

  destination_cidr_block         = each.value
  transit_gateway_attachment_id  = var.core_attachments[var.core_attachment_key]
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["workloads"].id
}

################################################################################
# RAM share to the workloads' accounts
################################################################################

resource "aws_ram_resource_share" "this" {
  count = var.create_ram_share ? 1 : 0

  name                      = var.name
  allow_external_principals = var.ram_allow_external_principals

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_ram_resource_association" "this" {
  count = var.create_ram_share ? 1 : 0

  resource_arn       = aws_ec2_transit_gateway.this.arn
  resource_share_arn = aws_ram_resource_share.this[0].arn
}

resource "aws_ram_principal_association" "this" {
  for_each = var.create_ram_share ? toset(var.ram_principals) : toset([])

  principal          = each.value
  resource_share_arn = aws_ram_resource_share.this[0].arn
}
