data "aws_region" "current" {}

locals {
  region = data.aws_region.current.region

  tiers = {
    public     = { for az, s in var.subnets : az => s.public }
    internal   = { for az, s in var.subnets : az => s.internal }
    management = { for az, s in var.subnets : az => s.management }
    tgw        = { for az, s in var.subnets : az => s.tgw }
  }
  subnets = merge([
    for tier, by_az in local.tiers : { for az, cidr in by_az : "${tier}-${az}" => { tier = tier, az = az, cidr = cidr } }
  ]...)

  endpoints = var.enable_interface_endpoints ? toset(var.interface_endpoints) : toset([])

}

################################################################################
# VPC, default security group, internet gateway
################################################################################

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:Flow logs are on (enable_flow_log, default true) through module.flow_log (modules/flow-log); checkov's graph does not follow a VPC into a child module.
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = var.name })
}

# Adopt the default security group and strip every rule, so nothing can use it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# Subnets: public, internal, management and tgw per AZ; a /28 bridge per pod
################################################################################

resource "aws_subnet" "this" {
  for_each = local.subnets

  vpc_id            = aws_vpc.this.id
  availability_zone = each.value.az
  cidr_block        = each.value.cidr
  # Public addresses are EIPs attached on purpose, never handed out by the subnet.
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-${each.key}", tier = each.value.tier })
}

resource "aws_subnet" "bridge" {
  for_each = var.pods

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.value.az
  cidr_block              = each.value.bridge_cidr
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-bridge-${each.key}", tier = "bridge", pod = each.key })
}

################################################################################
# Route tables
################################################################################

# public: 0.0.0.0/0 -> IGW (the fw's SNAT to the internet, the vpn instances' IPsec endpoints, the NAT instance).
resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_default" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

# internal: the workload pool -> TGW (east-west after the fw SNATs to its internal address). No default route.
resource "aws_route_table" "internal" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-internal" })
}

resource "aws_route" "internal_workloads" {
  route_table_id         = aws_route_table.internal.id
  destination_cidr_block = var.workload_supernet
  transit_gateway_id     = var.transit_gateway_id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment.this]
}

# Pinned (brownfield) workload CIDRs outside the pool still reach the TGW the same way.
resource "aws_route" "internal_extra" {
  for_each = toset(var.internal_extra_cidrs)

  route_table_id         = aws_route_table.internal.id
  destination_cidr_block = each.value
  transit_gateway_id     = var.transit_gateway_id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment.this]
}

# management: routes are owned by modules/management (0.0.0.0/0 -> NAT instance); none reach the workloads.
resource "aws_route_table" "management" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-management" })
}

# tgw: the attachment ENIs need only the local route.
resource "aws_route_table" "tgw" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-tgw" })
}

locals {
  tier_route_tables = {
    public     = aws_route_table.public.id
    internal   = aws_route_table.internal.id
    management = aws_route_table.management.id
    tgw        = aws_route_table.tgw.id
  }
}

resource "aws_route_table_association" "this" {
  for_each = local.subnets

  subnet_id      = aws_subnet.this[each.key].id
  route_table_id = local.tier_route_tables[each.value.tier]
}

# bridge: one table per pod, so each pod's 0.0.0.0/0 points at its own fw.
resource "aws_route_table" "bridge" {
  for_each = var.pods

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-bridge-${each.key}", pod = each.key })
}

resource "aws_route_table_association" "bridge" {
  for_each = var.pods

  subnet_id      = aws_subnet.bridge[each.key].id
  route_table_id = aws_route_table.bridge[each.key].id
}

resource "aws_route" "bridge_default" {
  for_each = var.create_bridge_default_routes ? var.pods : {}

  route_table_id         = aws_route_table.bridge[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  network_interface_id   = var.fw_bridge_eni_ids[each.key]

  lifecycle {
    precondition {
      condition     = contains(keys(var.fw_bridge_eni_ids), each.key)
      error_message = "fw_bridge_eni_ids has no ENI for pod ${each.key}."
    }
  }
}

################################################################################
# Core Transit Gateway attachment
################################################################################

resource "aws_ec2_transit_gateway_vpc_attachment" "this" {
  transit_gateway_id = var.transit_gateway_id
  vpc_id             = aws_vpc.this.id
  subnet_ids         = [for az in sort(keys(var.subnets)) : aws_subnet.this["tgw-${az}"].id]
  dns_support        = "enable"
  # Appliance mode: the TGW hashes each flow once and sends both directions through the attachment ENI of
  # the same AZ for the flow's lifetime. The fw instances in this VPC are stateful and spread over AZs; without
  # it the TGW prefers the source's AZ per direction, so a reply could enter the VPC in another AZ than
  # its request and cross AZs asymmetrically around the inspecting fw.
  appliance_mode_support = "enable"

  # The caller associates the attachment with the `core` route table (modules/transit-gateway).
  transit_gateway_default_route_table_association = false
  transit_gateway_default_route_table_propagation = false

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# Interface endpoints (internal subnets), reachable on 443 from the core VPC only
################################################################################

resource "aws_security_group" "endpoints" {
  count = var.enable_interface_endpoints ? 1 : 0

  name_prefix = "${var.name}-endpoints-"
  description = "Interface endpoints: HTTPS from the core VPC only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-endpoints" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints" {
  count = var.enable_interface_endpoints ? 1 : 0

  security_group_id = aws_security_group.endpoints[0].id
  description       = "HTTPS from the core VPC"
  cidr_ipv4         = var.cidr
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443

  tags = merge(var.tags, { Name = "${var.name}-endpoints-https" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.endpoints

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for az in sort(keys(var.subnets)) : aws_subnet.this["internal-${az}"].id]
  security_group_ids  = [aws_security_group.endpoints[0].id]

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

################################################################################
# Flow logs: one module for every VPC (modules/flow-log)
################################################################################

module "flow_log" {
  source = "../flow-log"

  create                   = var.enable_flow_log
  name                     = var.name
  vpc_id                   = aws_vpc.this.id
  create_kms_key           = var.create_flow_log_kms_key
  kms_key_arn              = var.flow_log_kms_key_arn
  retention_in_days        = var.flow_log_retention_in_days
  max_aggregation_interval = var.flow_log_max_aggregation_interval

  tags = var.tags
}

# Deployed before the flow log became a module: move, never replace, the log group and its key.
moved {
  from = aws_kms_key.flow_log
  to   = module.flow_log.aws_kms_key.this
}

moved {
  from = aws_cloudwatch_log_group.flow_log
  to   = module.flow_log.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.flow_log
  to   = module.flow_log.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.flow_log
  to   = module.flow_log.aws_iam_role_policy.this
}

moved {
  from = aws_flow_log.this
  to   = module.flow_log.aws_flow_log.this
}
