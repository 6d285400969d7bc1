################################################################################
# Providers: the network account, and the one other account some workloads live in
################################################################################

provider "aws" {
  region = var.region
}

# Workloads with an `account_id` are built in their own account with a role assumed there. Provider
# configurations cannot be created per item, so this root supports one such account (validated in
# variables.tf). Without one, this alias is simply the network account and nothing uses it.
provider "aws" {
  alias  = "workload_account"
  region = var.region

  dynamic "assume_role" {
    for_each = local.other_account == null ? [] : [local.other_account]

    content {
      role_arn     = "arn:aws:iam::${assume_role.value}:role/${var.cross_account_role_name}"
      session_name = "${var.name}-network"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  other_accounts = distinct(compact([for w in values(var.workloads) : w.account_id == null ? "" : w.account_id]))
  other_account  = length(local.other_accounts) == 1 ? local.other_accounts[0] : null

  # `microseg:*` tags are the contract with `microseg verify` (it finds the network by them).
  tags = merge(var.tags, { "microseg:network" = var.name })

  workload_tags = {
    for k, w in var.workloads : k => merge(
      local.tags,
      { for t, v in { environment = w.environment, owner = w.owner, cost_center = w.cost_center } : t => v if v != "" },
      { "microseg:role" = "workload", "microseg:workload" = k },
    )
  }

  network_workloads = { for k, w in var.workloads : k => w if w.account_id == null }
  shared_workloads  = { for k, w in var.workloads : k => w if w.account_id != null }

  # Both sets of workload VPCs, keyed by workload (the keys are disjoint).
  workload_vpcs           = merge(module.workload, module.workload_shared)
  workload_attachment_ids = { for k, m in local.workload_vpcs : k => m.transit_gateway_attachment_id }

  core_internal_cidrs = [for az in sort(keys(var.core.subnets)) : var.core.subnets[az].internal]

  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.root}/../../build/pod-health.zip")
  first_az        = sort(keys(var.core.subnets))[0]
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

  workload_attachments   = local.workload_attachment_ids
  accept_vpc_attachments = { for k, m in module.workload_shared : k => m.transit_gateway_attachment_id }
  core_attachments       = { core = module.core_vpc.transit_gateway_attachment_id }
  # TGW Connect: the TGW's GRE addresses come from this generator-decided block.
  transit_gateway_cidr_blocks = compact([var.transport.transit_gateway_cidr_block])
  # East-west replies target the fw's SNAT address in a core internal subnet: route them straight back
  # to the core attachment (to that very fw), never via the ECMP default that could pick another pod.
  workloads_return_cidrs = local.core_internal_cidrs
  # The pods wire their own VPN or Connect attachments (modules/pod: associated with `core`, propagated into `workloads`).
  vpn_attachments = {}

  create_ram_share = length(var.ram_share_accounts) > 0
  ram_principals   = var.ram_share_accounts

  tags = local.tags
}

################################################################################
# Workload VPCs: in the network account, and in the other account through the RAM share
################################################################################

module "workload" {
  source   = "../../modules/workload-vpc"
  for_each = local.network_workloads

  name               = "${var.name}-${each.key}"
  cidr               = each.value.cidr
  subnets            = each.value.subnets
  transit_gateway_id = module.transit_gateway.id
  ingress_rules      = each.value.ingress_rules
  egress_rules       = each.value.egress_rules

  tags = local.workload_tags[each.key]
}

module "workload_shared" {
  source   = "../../modules/workload-vpc"
  for_each = local.shared_workloads

  providers = {
    aws = aws.workload_account
  }

  name    = "${var.name}-${each.key}"
  cidr    = each.value.cidr
  subnets = each.value.subnets
  # Waits for the RAM share and its principal association: the other account sees the TGW only then.
  transit_gateway_id = module.transit_gateway.ram_shared_transit_gateway_id
  # The network account owns the TGW: it accepts the attachment and wires its route tables.
  transit_gateway_shared = true
  # Created below, once this account accepted the attachment: the route is invalid before.
  create_default_route = false
  ingress_rules        = each.value.ingress_rules
  egress_rules         = each.value.egress_rules

  tags = local.workload_tags[each.key]
}

# A shared workload's way out, after the owner accepted its attachment (module.transit_gateway holds
# the accepter; it depends on the attachment, never on this route, so there is no cycle).
resource "aws_route" "workload_shared_default" {
  for_each = local.shared_workloads
  provider = aws.workload_account

  route_table_id         = module.workload_shared[each.key].workload_route_table_id
  destination_cidr_block = "0.0.0.0/0"
  transit_gateway_id     = module.transit_gateway.ram_shared_transit_gateway_id

  depends_on = [module.transit_gateway]
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
  transit_gateway_attachments = merge(
    # Per-workload bytes for chargeback; the alarm fires above the promised bandwidth.
    { for k, w in var.workloads : "workload-${k}" => {
      attachment_id = local.workload_attachment_ids[k]
      alarm_mbps    = w.bandwidth_mbps
    } },
    { core = { attachment_id = module.core_vpc.transit_gateway_attachment_id } },
    { for k, p in module.pod : k => { attachment_id = p.transit_gateway_attachment_id } },
  )
  pods                        = sort(keys(var.pods))
  required_pods               = var.required_pods
  health_check_function_names = module.pod_health.function_names

  tags = local.tags
}
