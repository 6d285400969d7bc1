data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  ami_id = var.ami_id != null ? var.ami_id : try(data.aws_ssm_parameter.al2023[0].insecure_value, null)
}

################################################################################
# Management Transit Gateway: a second, separate TGW. No workload is attached to it, so no
# workload route can ever reach the management plane through it.
################################################################################

resource "aws_ec2_transit_gateway" "this" {
  description                     = "${var.name}: management plane, no workload attachments"
  amazon_side_asn                 = var.amazon_side_asn
  auto_accept_shared_attachments  = "disable"
  default_route_table_association = "disable"
  default_route_table_propagation = "disable"
  dns_support                     = "enable"
  vpn_ecmp_support                = "enable"

  tags = merge(var.tags, { Name = "${var.name}-management" })
}

resource "aws_ec2_transit_gateway_route_table" "this" {
  transit_gateway_id = aws_ec2_transit_gateway.this.id

  tags = merge(var.tags, { Name = "${var.name}-management", "microseg:route-table" = "management" })
}

resource "aws_ec2_transit_gateway_vpc_attachment" "core" {
  transit_gateway_id = aws_ec2_transit_gateway.this.id
  vpc_id             = var.vpc_id
  subnet_ids         = [for az in sort(keys(var.management_subnet_ids)) : var.management_subnet_ids[az]]
  dns_support        = "enable"

  transit_gateway_default_route_table_association = false
  transit_gateway_default_route_table_propagation = false

  tags = merge(var.tags, { Name = "${var.name}-management-core" })
}

locals {
  management_attachments = merge({ core = aws_ec2_transit_gateway_vpc_attachment.core.id }, var.operator_attachments)
}

resource "aws_ec2_transit_gateway_route_table_association" "this" {
  for_each = local.management_attachments

  transit_gateway_attachment_id  = each.value
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this.id
}

resource "aws_ec2_transit_gateway_route_table_propagation" "this" {
  for_each = local.management_attachments

  transit_gateway_attachment_id  = each.value
  transit_gateway_route_table_id = aws_ec2_transit_gateway_route_table.this.id
}

# Operator networks are reached from the management subnets only.
resource "aws_route" "operator" {
  for_each = toset(var.operator_cidrs)

  route_table_id         = var.management_route_table_id
  destination_cidr_block = each.value
  transit_gateway_id     = aws_ec2_transit_gateway.this.id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment.core]
}

################################################################################
# NAT instance: transparent proxy with the allow-list, operated through SSM only
################################################################################

data "aws_ssm_parameter" "al2023" {
  count = var.create_nat_instance && var.ami_id == null ? 1 : 0

  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "aws_security_group" "nat" {
  count = var.create_nat_instance ? 1 : 0

  name_prefix = "${var.name}-nat-"
  description = "Management NAT proxy: HTTP(S) from the management subnets in, HTTP(S) out; no SSH"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-nat" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "nat" {
  for_each = var.create_nat_instance ? { for p in setproduct(var.management_subnet_cidrs, [80, 443]) : "${p[0]}-${p[1]}" => p } : {}

  security_group_id = aws_security_group.nat[0].id
  description       = "Port ${each.value[1]} from management subnet ${each.value[0]}"
  cidr_ipv4         = each.value[0]
  ip_protocol       = "tcp"
  from_port         = each.value[1]
  to_port           = each.value[1]

  tags = merge(var.tags, { Name = "${var.name}-nat-${each.key}" })
}

resource "aws_vpc_security_group_egress_rule" "nat" {
  for_each = var.create_nat_instance ? toset(["80", "443"]) : toset([])

  #checkov:skip=CKV_AWS_382:The proxy reaches allow-listed names whose addresses are not known in advance; squid enforces the allow-list.
  security_group_id = aws_security_group.nat[0].id
  description       = "Proxy to allow-listed names on port ${each.value}"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)

  tags = merge(var.tags, { Name = "${var.name}-nat-out-${each.value}" })
}

data "aws_iam_policy_document" "nat_assume" {
  count = var.create_nat_instance ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "nat" {
  count = var.create_nat_instance ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 24)}-nat-"
  assume_role_policy = data.aws_iam_policy_document.nat_assume[0].json

  tags = merge(var.tags, { Name = "${var.name}-nat" })
}

# The part of AmazonSSMManagedInstanceCore that Session Manager needs, nothing more (no S3, no
# parameter reads): register the instance and open session channels.
data "aws_iam_policy_document" "nat_ssm" {
  count = var.create_nat_instance ? 1 : 0

  statement {
    sid       = "RegisterInstance"
    actions   = ["ssm:UpdateInstanceInformation"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*"]
  }

  #checkov:skip=CKV_AWS_111:ssmmessages and ec2messages have no resource-level permissions; the actions are only session channels.
  #checkov:skip=CKV_AWS_356:ssmmessages and ec2messages have no resource-level permissions.
  statement {
    sid = "SessionChannels"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
      "ec2messages:AcknowledgeMessage",
      "ec2messages:DeleteMessage",
      "ec2messages:FailMessage",
      "ec2messages:GetEndpoint",
      "ec2messages:GetMessages",
      "ec2messages:SendReply",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "nat_ssm" {
  count = var.create_nat_instance ? 1 : 0

  name_prefix = "ssm-session-"
  role        = aws_iam_role.nat[0].id
  policy      = data.aws_iam_policy_document.nat_ssm[0].json
}

resource "aws_iam_instance_profile" "nat" {
  count = var.create_nat_instance ? 1 : 0

  name_prefix = "${substr(var.name, 0, 24)}-nat-"
  role        = aws_iam_role.nat[0].name

  tags = merge(var.tags, { Name = "${var.name}-nat" })
}

resource "aws_instance" "nat" {
  count = var.create_nat_instance ? 1 : 0

  ami                    = local.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.nat_subnet_id
  vpc_security_group_ids = [aws_security_group.nat[0].id]
  iam_instance_profile   = aws_iam_instance_profile.nat[0].name
  # Packets to internet addresses arrive here by route (0.0.0.0/0 -> this ENI), so the check must be off.
  source_dest_check = false
  monitoring        = true
  ebs_optimized     = true

  # base64 rather than user_data: the state keeps the rendered script, not a hash, so plans show it.
  user_data_base64 = base64encode(templatefile("${path.module}/templates/nat-proxy.sh.tftpl", {
    name            = var.name
    allowed_domains = var.allowed_domains
    sources         = var.management_subnet_cidrs
  }))
  user_data_replace_on_change = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    encrypted   = true
    kms_key_id  = var.root_volume_kms_key_arn
    volume_type = "gp3"
    volume_size = var.root_volume_size
  }

  tags = merge(var.tags, { Name = "${var.name}-nat" })

  lifecycle {
    precondition {
      condition     = var.nat_subnet_id != null
      error_message = "nat_subnet_id is required when create_nat_instance is true."
    }
  }
}

resource "aws_eip" "nat" {
  count = var.create_nat_instance ? 1 : 0

  domain   = "vpc"
  instance = aws_instance.nat[0].id

  tags = merge(var.tags, { Name = "${var.name}-nat" })
}

resource "aws_route" "nat_default" {
  count = var.create_nat_instance ? 1 : 0

  route_table_id         = var.management_route_table_id
  destination_cidr_block = "0.0.0.0/0"
  network_interface_id   = aws_instance.nat[0].primary_network_interface_id
}
