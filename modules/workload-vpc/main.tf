locals {
  # Rules keyed by their content, not their position, so inserting a flow never replaces the others.
  ingress_rules = { for r in var.ingress_rules : "${r.protocol}-${r.from_port}-${r.to_port}-${r.cidr}" => r }
  egress_rules  = { for r in var.egress_rules : "${r.protocol}-${r.from_port}-${r.to_port}-${r.cidr}" => r }
}

################################################################################
# VPC
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

################################################################################
# Subnets and route tables
################################################################################

resource "aws_subnet" "workload" {
  for_each = var.subnets

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value.workload
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-workload-${each.key}", tier = "workload" })
}

resource "aws_subnet" "attachment" {
  for_each = var.subnets

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value.attachment
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-tgw-${each.key}", tier = "attachment" })
}

# One table for every workload subnet: the only way out of the VPC is the Transit Gateway.
resource "aws_route_table" "workload" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-workload" })
}

resource "aws_route" "workload_default" {
  route_table_id         = aws_route_table.workload.id
  destination_cidr_block = "0.0.0.0/0"
  transit_gateway_id     = var.transit_gateway_id

  # The route is only valid once the VPC is attached to the Transit Gateway.
  depends_on = [aws_ec2_transit_gateway_vpc_attachment.this]
}

resource "aws_route_table_association" "workload" {
  for_each = var.subnets

  subnet_id      = aws_subnet.workload[each.key].id
  route_table_id = aws_route_table.workload.id
}

# The attachment subnets only need the local route; a table of their own keeps them off the main table.
resource "aws_route_table" "attachment" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-tgw" })
}

resource "aws_route_table_association" "attachment" {
  for_each = var.subnets

  subnet_id      = aws_subnet.attachment[each.key].id
  route_table_id = aws_route_table.attachment.id
}

################################################################################
# Transit Gateway attachment
################################################################################

resource "aws_ec2_transit_gateway_vpc_attachment" "this" {
  transit_gateway_id = var.transit_gateway_id
  vpc_id             = aws_vpc.this.id
  subnet_ids         = [for az in sort(keys(var.subnets)) : aws_subnet.attachment[az].id]
  dns_support        = "enable"

  # The caller (the Transit Gateway owner) associates the attachment with `workloads` and propagates it
  # into `core`. For a shared Transit Gateway these two settings belong to the owner's accepter.
  transit_gateway_default_route_table_association = var.transit_gateway_shared ? null : false
  transit_gateway_default_route_table_propagation = var.transit_gateway_shared ? null : false

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# Workload security group: default deny, one rule per approved flow
################################################################################

resource "aws_security_group" "workload" {
  #checkov:skip=CKV2_AWS_5:The group is attached by the workload's own instances, which live outside this module.
  name_prefix = "${var.name}-workload-"
  description = "Workload ${var.name}: approved flows only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-workload" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "workload" {
  for_each = local.ingress_rules

  security_group_id = aws_security_group.workload.id
  description       = each.value.description != "" ? each.value.description : null
  cidr_ipv4         = each.value.cidr
  ip_protocol       = each.value.protocol == "any" ? "-1" : each.value.protocol
  from_port         = each.value.protocol == "any" ? null : each.value.from_port
  to_port           = each.value.protocol == "any" ? null : each.value.to_port

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_vpc_security_group_egress_rule" "workload" {
  for_each = local.egress_rules

  security_group_id = aws_security_group.workload.id
  description       = each.value.description != "" ? each.value.description : null
  cidr_ipv4         = each.value.cidr
  ip_protocol       = each.value.protocol == "any" ? "-1" : each.value.protocol
  from_port         = each.value.protocol == "any" ? null : each.value.from_port
  to_port           = each.value.protocol == "any" ? null : each.value.to_port

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
