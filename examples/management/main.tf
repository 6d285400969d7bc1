provider "aws" {
  region = var.region
}

resource "aws_ec2_transit_gateway" "data_plane" {
  description                     = "${var.name} example data plane"
  amazon_side_asn                 = var.asn.transit_gateway
  auto_accept_shared_attachments  = "disable"
  default_route_table_association = "disable"
  default_route_table_propagation = "disable"
  dns_support                     = "enable"
  vpn_ecmp_support                = "enable"

  tags = merge(var.tags, { Name = var.name })
}

module "core" {
  source = "../../modules/core-vpc"

  name                       = "${var.name}-core"
  cidr                       = var.core.cidr
  subnets                    = var.core.subnets
  transit_gateway_id         = aws_ec2_transit_gateway.data_plane.id
  workload_supernet          = var.workload_supernet
  enable_interface_endpoints = false
  tags                       = var.tags
}

module "management" {
  source = "../../modules/management"

  name                      = var.name
  amazon_side_asn           = var.asn.management
  vpc_id                    = module.core.vpc_id
  management_subnet_ids     = module.core.management_subnet_ids
  management_subnet_cidrs   = values(module.core.management_subnet_cidrs)
  management_route_table_id = module.core.management_route_table_id
  nat_subnet_id             = module.core.public_subnet_ids[sort(keys(var.core.subnets))[0]]
  allowed_domains           = var.allowed_domains
  instance_type             = var.instance_type
  operator_cidrs            = var.operator_cidrs
  tags                      = var.tags
}
