provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# One key for the pod's volumes, PSK SecureStrings and log group.
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is this key only; administration stays with the account's IAM.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is this key only; administration stays with the account's IAM.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is this key only.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogsOfThisAccount"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} pods"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

module "transit_gateway" {
  source = "../../modules/transit-gateway"

  name             = var.name
  amazon_side_asn  = var.asn.transit_gateway
  core_attachments = { core = module.core.transit_gateway_attachment_id }
  # Connect: the TGW's GRE addresses come from this block.
  transit_gateway_cidr_blocks = compact([var.transport.transit_gateway_cidr_block])

  tags = var.tags
}

module "core" {
  source = "../../modules/core-vpc"

  name               = "${var.name}-core"
  cidr               = var.core.cidr
  subnets            = var.core.subnets
  pods               = var.pods
  transit_gateway_id = module.transit_gateway.id
  workload_supernet  = var.workload_supernet
  # Connect: the vpn instances reach the TGW's GRE addresses through the internal route table.
  transit_gateway_cidr_blocks = compact([var.transport.transit_gateway_cidr_block])
  # The pod module owns each bridge default route (create_bridge_route), so core-vpc does not.
  create_bridge_default_routes = false

  tags = var.tags
}

module "pod" {
  source   = "../../modules/pod"
  for_each = var.pods

  name              = var.name
  pod_name          = each.key
  pod_index         = each.value.index
  availability_zone = each.value.az

  vpc_id    = module.core.vpc_id
  core_cidr = var.core.cidr
  subnets = {
    public     = { id = module.core.public_subnet_ids[each.value.az], cidr = var.core.subnets[each.value.az].public }
    bridge     = { id = module.core.bridge_subnet_ids[each.key], cidr = each.value.bridge_cidr }
    internal   = { id = module.core.internal_subnet_ids[each.value.az], cidr = var.core.subnets[each.value.az].internal }
    management = { id = module.core.management_subnet_ids[each.value.az], cidr = var.core.subnets[each.value.az].management }
  }
  bridge_route_table_id = module.core.bridge_route_table_ids[each.key]

  transit_gateway_id                       = module.transit_gateway.id
  transit_gateway_asn                      = var.asn.transit_gateway
  pods_asn                                 = var.asn.pods
  transport                                = var.transport
  tunnel_options                           = var.tunnel_options
  tunnel_inside_cidrs                      = each.value.tunnel_inside_cidrs
  connect_peers                            = each.value.connect_peers
  connect_address                          = each.value.connect_address
  transit_gateway_core_attachment_id       = module.core.transit_gateway_attachment_id
  transit_gateway_core_route_table_id      = module.transit_gateway.core_route_table_id
  transit_gateway_workloads_route_table_id = module.transit_gateway.workloads_route_table_id
  enable_workloads_propagation             = contains(var.active_pods, each.key)

  workload_supernet = var.workload_supernet
  workloads         = var.workloads
  flows             = var.flows
  health_probes     = var.health_probes

  vpn_instance_type = var.instance_types.vpn
  fw_instance_type  = var.instance_types.fw
  ami_id            = var.ami_id
  kms_key_arn       = aws_kms_key.this.arn

  tags = var.tags
}
