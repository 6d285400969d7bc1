provider "aws" {
  region = var.region
}

resource "aws_ec2_transit_gateway" "this" {
  description                     = "${var.name} example"
  amazon_side_asn                 = 64512
  auto_accept_shared_attachments  = "disable"
  default_route_table_association = "disable"
  default_route_table_propagation = "disable"
  dns_support                     = "enable"
  vpn_ecmp_support                = "enable"

  tags = merge(var.tags, { Name = var.name })
}

module "core" {
  source = "../../modules/core-vpc"

  name               = var.name
  cidr               = var.cidr
  subnets            = var.subnets
  pods               = var.pods
  transit_gateway_id = aws_ec2_transit_gateway.this.id
  workload_supernet  = var.workload_supernet

  create_bridge_default_routes = true
  fw_bridge_eni_ids            = { for k, eni in aws_network_interface.fw_bridge : k => eni.id }

  tags = var.tags
}

# Stand-ins for the pods' fw bridge ENIs (modules/pod creates the real ones at the same fixed address).
resource "aws_network_interface" "fw_bridge" {
  for_each = var.pods

  subnet_id         = module.core.bridge_subnet_ids[each.key]
  private_ips       = [cidrhost(each.value.bridge_cidr, 4)]
  security_groups   = [aws_security_group.fw_bridge.id]
  source_dest_check = false

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-fw-bridge" })
}

resource "aws_security_group" "fw_bridge" {
  name_prefix = "${var.name}-fw-bridge-"
  description = "Example fw bridge ENIs: traffic from the bridge subnets only"
  vpc_id      = module.core.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-fw-bridge" })
}

resource "aws_vpc_security_group_ingress_rule" "fw_bridge" {
  for_each = var.pods

  security_group_id = aws_security_group.fw_bridge.id
  description       = "Everything from the bridge of ${each.key}"
  cidr_ipv4         = each.value.bridge_cidr
  ip_protocol       = "-1"

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-bridge" })
}
