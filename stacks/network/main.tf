################################################################################
# The network account: TGW, core VPC, pods, health, management, observability, the RAM share, and the
# acceptance, association and propagation of every workload account's attachment (docs/stacks.md)
################################################################################

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # `microseg:*` tags are the contract with `microseg verify` (it finds the network by them).
  tags = merge(var.tags, { "microseg:network" = var.name })

  # Every workload attachment on this Transit Gateway, keyed by its ID (known when planned: the data
  # sources below have static filters). Empty on the first run, before any workload stack ran.
  shared_attachment_ids = toset(flatten([for a in data.aws_ec2_transit_gateway_attachments.shared : a.ids]))
  own_attachment_ids    = toset(data.aws_ec2_transit_gateway_attachments.own.ids)
  workload_attachment_ids = merge(
    { for id in local.shared_attachment_ids : id => id },
    { for id in local.own_attachment_ids : id => id },
  )

  core_internal_cidrs = [for az in sort(keys(var.core.subnets)) : var.core.subnets[az].internal]

  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.root}/../../build/pod-health.zip")
  first_az        = sort(keys(var.core.subnets))[0]
}

################################################################################
# The workload stacks' attachments, found by owner account (no IDs copied between pipelines)
################################################################################

# A workload account's VPC attachments to a Transit Gateway of this account. Only the accounts the
# Transit Gateway is shared with can attach to it, and only this network's Transit Gateway is
# shared with them (one microseg network per network account, docs/stacks.md).
data "aws_ec2_transit_gateway_attachments" "shared" {
  for_each = toset(var.ram_share_accounts)

  filter {
    name   = "transit-gateway-owner-id"
    values = [local.account_id]
  }

  filter {
    name   = "resource-owner-id"
    values = [each.key]
  }

  filter {
    name   = "resource-type"
    values = ["vpc"]
  }

  filter {
    name   = "state"
    values = ["pendingAcceptance", "available"]
  }
}

# Workload VPCs of this very account (stacks/workloads with `account_id` null): its own tags are visible.
data "aws_ec2_transit_gateway_attachments" "own" {
  filter {
    name   = "tag:microseg:network"
    values = [var.name]
  }

  filter {
    name   = "tag:microseg:role"
    values = ["workload"]
  }

  filter {
    name   = "resource-type"
    values = ["vpc"]
  }

  filter {
    name   = "state"
    values = ["available"]
  }
}

################################################################################
# One KMS key for the network account's logs, volumes, SecureStrings and the alarm topic
################################################################################

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
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
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
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:*"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: logs, volumes, pre-shared keys and alarms of the network account"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms.json

  tags = merge(local.tags, { Name = var.name })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Transit Gateway: `workloads` and `core` route tables, RAM share, cross-account acceptance
################################################################################

module "transit_gateway" {
  source = "../../modules/transit-gateway"

  name            = var.name
  amazon_side_asn = var.asn.transit_gateway

  workload_attachments = local.workload_attachment_ids
  # The owner accepts every attachment of the accounts it shares with (pending ones are accepted
  # now; an accepted one stays in state); acceptance is what lets the workload stack add its route.
  accept_vpc_attachments = { for id in local.shared_attachment_ids : id => id }
  core_attachments       = { core = module.core_vpc.transit_gateway_attachment_id }
  # East-west replies target the fw's SNAT address in a core internal subnet: route them straight back
  # to the core attachment (to that very fw), never via the ECMP default that could pick another pod.
  workloads_return_cidrs = local.core_internal_cidrs
  # TGW Connect: the TGW's GRE addresses come from this generator-decided block.
  transit_gateway_cidr_blocks = compact([var.transport.transit_gateway_cidr_block])
  # The pods wire their own VPN or Connect attachments (modules/pod: associated with `core`, propagated into `workloads`).
  vpn_attachments = {}

  create_ram_share = length(var.ram_share_accounts) > 0
  ram_principals   = var.ram_share_accounts

  tags = local.tags
}

################################################################################
# Core VPC: public/internal/management subnets, one bridge subnet per pod, endpoints
################################################################################

module "core_vpc" {
  source = "../../modules/core-vpc"

  name = "${var.name}-core"
  cidr = var.core.cidr
  # Exactly the contract's AZs (a core subnet set missing for one of them fails the plan here).
  subnets            = { for az in var.azs : az => var.core.subnets[az] }
  pods               = { for k, p in var.pods : k => { az = p.az, bridge_cidr = p.bridge_cidr } }
  transit_gateway_id = module.transit_gateway.id
  workload_supernet  = var.workload_supernet
  # Pinned (brownfield) workload CIDRs outside the supernet: the fw reaches them through the TGW too.
  internal_extra_cidrs = var.outside_supernet_cidrs
  # TGW Connect: the vpn instances' GRE packets reach the TGW's addresses from the internal subnets.
  transit_gateway_cidr_blocks = compact([var.transport.transit_gateway_cidr_block])
  # Each pod owns its bridge default route (it owns the fw ENI the route points at).
  create_bridge_default_routes = false
  # The flow log group keeps the module's own key (scoped to that log group): passing this root's key
  # (unknown until apply) would make the module's create-a-key decision unknown at plan time.

  tags = merge(local.tags, { "microseg:role" = "core" })
}

################################################################################
# Pods: vpn + fw, and the VPN connection or TGW Connect peers to the TGW (ECMP)
################################################################################

module "pod" {
  source   = "../../modules/pod"
  for_each = var.pods

  name              = var.name
  pod_name          = each.key
  pod_index         = each.value.index
  availability_zone = each.value.az

  vpc_id    = module.core_vpc.vpc_id
  core_cidr = var.core.cidr
  subnets = {
    public     = { id = module.core_vpc.public_subnet_ids[each.value.az], cidr = var.core.subnets[each.value.az].public }
    bridge     = { id = module.core_vpc.bridge_subnet_ids[each.key], cidr = each.value.bridge_cidr }
    internal   = { id = module.core_vpc.internal_subnet_ids[each.value.az], cidr = var.core.subnets[each.value.az].internal }
    management = { id = module.core_vpc.management_subnet_ids[each.value.az], cidr = var.core.subnets[each.value.az].management }
  }
  bridge_route_table_id = module.core_vpc.bridge_route_table_ids[each.key]

  transit_gateway_id                       = module.transit_gateway.id
  transit_gateway_asn                      = var.asn.transit_gateway
  pods_asn                                 = var.asn.pods
  transport                                = var.transport
  tunnel_inside_cidrs                      = each.value.tunnel_inside_cidrs
  connect_peers                            = each.value.connect_peers
  connect_address                          = each.value.connect_address
  transit_gateway_core_attachment_id       = module.core_vpc.transit_gateway_attachment_id
  transit_gateway_core_route_table_id      = module.transit_gateway.core_route_table_id
  transit_gateway_workloads_route_table_id = module.transit_gateway.workloads_route_table_id

  workload_supernet = var.workload_supernet
  workloads         = { for k, w in var.workloads : k => { cidr = w.cidr, qos_mbps_per_pod = w.qos_mbps_per_pod, internet_egress = w.internet_egress } }
  flows             = var.flows

  vpn_instance_type = var.instance_types.vpn
  fw_instance_type  = var.instance_types.fw
  ami_id            = var.ami_id
  kms_key_arn       = aws_kms_key.this.arn

  tags = local.tags
}

################################################################################
# Health gating: one check function per pod, in the pod's bridge subnet
################################################################################

module "pod_health" {
  source = "../../modules/pod-health"

  name   = var.name
  vpc_id = module.core_vpc.vpc_id
  pods = {
    for k, p in module.pod : k => {
      bridge_subnet_id      = module.core_vpc.bridge_subnet_ids[k]
      health_parameter_name = p.health_parameter_name
      expected_public_ip    = p.fw_public_ip
    }
  }
  lambda_zip_path = local.lambda_zip_path
  kms_key_arn     = aws_kms_key.this.arn
  alarm_actions   = module.observability.alarm_actions

  tags = local.tags
}

################################################################################
# Management plane: management TGW, NAT proxy with the allow-list, SSM only
################################################################################

module "management" {
  source = "../../modules/management"

  name                      = "${var.name}-mgmt"
  amazon_side_asn           = var.asn.management
  vpc_id                    = module.core_vpc.vpc_id
  management_subnet_ids     = module.core_vpc.management_subnet_ids
  management_subnet_cidrs   = [for az in sort(keys(var.core.subnets)) : var.core.subnets[az].management]
  management_route_table_id = module.core_vpc.management_route_table_id
  nat_subnet_id             = module.core_vpc.public_subnet_ids[local.first_az]
  allowed_domains           = var.management.allowed_domains
  instance_type             = var.instance_types.nat
  root_volume_kms_key_arn   = aws_kms_key.this.arn

  tags = merge(local.tags, { "microseg:role" = "management" })
}

################################################################################
# Observability: tunnel, pod, instance and TGW alarms, dashboard
################################################################################

module "observability" {
  source = "../../modules/observability"

  name        = var.name
  kms_key_arn = aws_kms_key.this.arn

  # Tunnel alarms exist only for VPN pods (a Connect peer has no tunnel-state metric).
  vpn_connections = {
    for k, p in module.pod : k => {
      vpn_connection_id  = p.vpn_connection_id
      tunnel_outside_ips = [for t in p.tunnels : t.outside_ip]
    } if var.transport.type == "vpn"
  }
  instances = merge(
    { for pair in setproduct(keys(var.pods), ["vpn", "fw"]) : "${pair[0]}-${pair[1]}" => { instance_id = module.pod[pair[0]].instance_ids[pair[1]] } },
    { management-nat = { instance_id = module.management.nat_instance_id } },
  )
  transit_gateway_id = module.transit_gateway.id
  enable_tgw_alarms  = true
  # Per-workload bandwidth alarms live in each workload stack (attachment metrics reach its owner too).
  transit_gateway_attachments = merge(
    { core = { attachment_id = module.core_vpc.transit_gateway_attachment_id } },
    { for k, p in module.pod : k => { attachment_id = p.transit_gateway_attachment_id } },
  )
  pods                        = sort(keys(var.pods))
  required_pods               = var.required_pods
  health_check_function_names = module.pod_health.function_names

  tags = local.tags
}
