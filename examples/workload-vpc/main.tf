provider "aws" {
  region = var.region
}

# A stand-alone Transit Gateway with the two route tables of the design, so the example runs on its own.
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

resource "aws_ec2_transit_gateway_route_table" "this" {
  for_each = toset(["workloads", "core"])

  transit_gateway_id = aws_ec2_transit_gateway.this.id

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

module "workload_vpc" {
  source = "../../modules/workload-vpc"

  name               = var.name
  cidr               = var.cidr
  subnets            = var.subnets
  transit_gateway_id = aws_ec2_transit_gateway.this.id
  ingress_rules      = var.ingress_rules
  tags               = var.tags
}

# The packet path: the workload leaves through `workloads` and is reachable from `core`.
resource "aws_ec2_transit_gateway_route_table_association" "workload" {
  transit_gateway_attachment_id  = module.workload_vpc.transit_gateway_attachment_id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["workloads"].id
}

resource "aws_ec2_transit_gateway_route_table_propagation" "workload" {
  transit_gateway_attachment_id  = module.workload_vpc.transit_gateway_attachment_id
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this["core"].id
}
