data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  # Rules keyed by their content, not their position, so inserting a flow never replaces the others.
  ingress_rules = { for r in var.ingress_rules : "${r.protocol}-${r.from_port}-${r.to_port}-${r.cidr}" => r }
  egress_rules  = { for r in var.egress_rules : "${r.protocol}-${r.from_port}-${r.to_port}-${r.cidr}" => r }

  # A static boolean: an ARN created in the same apply would make `count` unknown at plan time.
  create_kms_key     = var.enable_flow_log && var.create_flow_log_kms_key
  flow_log_group     = "/aws/vpc-flow-logs/${var.name}"
  flow_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.flow_log_group}"
}

################################################################################
# VPC
################################################################################

resource "aws_vpc" "this" {
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
  count = var.create_default_route ? 1 : 0

  route_table_id         = aws_route_table.workload.id
  destination_cidr_block = "0.0.0.0/0"
  transit_gateway_id     = var.transit_gateway_id

  # The route is only valid once the VPC is attached to the Transit Gateway.
  depends_on = [aws_ec2_transit_gateway_vpc_attachment.this]
}

# The route became optional (create_default_route): existing states keep it without a replacement.
moved {
  from = aws_route.workload_default
  to   = aws_route.workload_default[0]
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
# Flow logs: KMS-encrypted log group, least-privilege delivery role
################################################################################

data "aws_iam_policy_document" "flow_log_kms" {
  count = local.create_kms_key ? 1 : 0

  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the account root statement prevents an unmanageable key.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; the account root statement prevents an unmanageable key.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid = "FlowLogGroupOnly"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.flow_log_group_arn]
    }
  }
}

resource "aws_kms_key" "flow_log" {
  count = local.create_kms_key ? 1 : 0

  description             = "VPC flow logs of ${var.name}"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.flow_log_kms[0].json

  tags = merge(var.tags, { Name = "${var.name}-flow-log" })
}

resource "aws_cloudwatch_log_group" "flow_log" {
  count = var.enable_flow_log ? 1 : 0

  name              = local.flow_log_group
  retention_in_days = var.flow_log_retention_in_days
  kms_key_id        = local.create_kms_key ? aws_kms_key.flow_log[0].arn : var.flow_log_kms_key_arn

  tags = merge(var.tags, { Name = "${var.name}-flow-log" })

  lifecycle {
    precondition {
      condition     = local.create_kms_key || var.flow_log_kms_key_arn != null
      error_message = "create_flow_log_kms_key = false needs flow_log_kms_key_arn: flow logs are always encrypted."
    }
  }
}

data "aws_iam_policy_document" "flow_log_assume" {
  count = var.enable_flow_log ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    # Confused-deputy guard: only flow logs of this account may assume the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc-flow-log/*"]
    }
  }
}

resource "aws_iam_role" "flow_log" {
  count = var.enable_flow_log ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 24)}-flow-log-"
  assume_role_policy = data.aws_iam_policy_document.flow_log_assume[0].json

  tags = merge(var.tags, { Name = "${var.name}-flow-log" })
}

data "aws_iam_policy_document" "flow_log" {
  count = var.enable_flow_log ? 1 : 0

  # Write to this one log group only.
  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.flow_log[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_log" {
  count = var.enable_flow_log ? 1 : 0

  name_prefix = "flow-log-"
  role        = aws_iam_role.flow_log[0].id
  policy      = data.aws_iam_policy_document.flow_log[0].json
}

resource "aws_flow_log" "this" {
  count = var.enable_flow_log ? 1 : 0

  vpc_id                   = aws_vpc.this.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_log[0].arn
  iam_role_arn             = aws_iam_role.flow_log[0].arn
  max_aggregation_interval = var.flow_log_max_aggregation_interval

  tags = merge(var.tags, { Name = var.name })
}
