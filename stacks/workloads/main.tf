################################################################################
# One account's workload VPCs, attached to the network account's shared Transit Gateway
################################################################################

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {
  lifecycle {
    # One account's file applied with another account's credentials would build its VPCs there.
    postcondition {
      condition     = var.account_id == null || self.account_id == var.account_id
      error_message = "These tfvars are for account ${coalesce(var.account_id, "-")}, but the credentials are account ${self.account_id}'s."
    }
  }
}

locals {
  shared = var.account_id != null

  # `microseg:*` tags are the contract with `microseg verify` and with this stack's acceptance check.
  tags = merge(var.tags, { "microseg:network" = var.name })
  workload_tags = {
    for k, w in var.workloads : k => merge(
      local.tags,
      { for t, v in { environment = w.environment, owner = w.owner, cost_center = w.cost_center } : t => v if v != "" },
      { "microseg:role" = "workload", "microseg:workload" = k },
    )
  }

  transit_gateway_id = local.shared ? regex("transit-gateway/(tgw-[0-9a-f]+)$", one(data.aws_ram_resource_share.network[0].resource_arns))[0] : one(data.aws_ec2_transit_gateway.own[*].id)
}

# Another account's Transit Gateway is visible here only through the network account's RAM share,
# found by its name: no Transit Gateway ID is ever copied between pipelines.
data "aws_ram_resource_share" "network" {
  count = local.shared ? 1 : 0

  name           = var.name
  resource_owner = "OTHER-ACCOUNTS"

  # Read only once the credentials are known to be this account's (the postcondition above).
  depends_on = [data.aws_caller_identity.current]
}

# In the network account itself the Transit Gateway is found by its tags (the management TGW is `<name>-mgmt`).
data "aws_ec2_transit_gateway" "own" {
  count = local.shared ? 0 : 1

  filter {
    name   = "tag:Name"
    values = [var.name]
  }

  filter {
    name   = "tag:microseg:network"
    values = [var.name]
  }

  filter {
    name   = "state"
    values = ["available"]
  }
}

data "aws_ec2_transit_gateway" "network" {
  id = local.transit_gateway_id

  lifecycle {
    postcondition {
      condition     = self.amazon_side_asn == var.transit_gateway_asn
      error_message = "Transit Gateway ${self.id} has ASN ${self.amazon_side_asn}, not the network's ${var.transit_gateway_asn}: these tfvars belong to another network."
    }
  }
}

# Issue 9 item 6: the default route is valid only once the owner accepted the attachment. An
# attachment this account sees `available` has been accepted: the run after the network pipeline's
# acceptance creates the route (docs/stacks.md, pipeline order).
data "aws_ec2_transit_gateway_attachments" "accepted" {
  for_each = var.workloads

  filter {
    name   = "tag:microseg:workload"
    values = [each.key]
  }

  filter {
    name   = "tag:microseg:network"
    values = [var.name]
  }

  filter {
    name   = "transit-gateway-id"
    values = [local.transit_gateway_id]
  }

  filter {
    name   = "state"
    values = ["available"]
  }
}

module "workload" {
  source   = "../../modules/workload-vpc"
  for_each = var.workloads

  name               = "${var.name}-${each.key}"
  cidr               = each.value.cidr
  subnets            = each.value.subnets
  transit_gateway_id = data.aws_ec2_transit_gateway.network.id
  # A shared Transit Gateway's owner accepts the attachment and wires its route tables.
  transit_gateway_shared = local.shared
  create_default_route   = length(data.aws_ec2_transit_gateway_attachments.accepted[each.key].ids) > 0
  ingress_rules          = each.value.ingress_rules
  egress_rules           = each.value.egress_rules

  tags = local.workload_tags[each.key]
}

################################################################################
# Chargeback: each attachment's bytes, alarmed above the promised bandwidth
################################################################################

# Attachment metrics reach the attachment's owner too, so the alarm lives with the workload.
resource "aws_cloudwatch_metric_alarm" "bandwidth" {
  for_each = { for p in setproduct(keys(var.workloads), ["BytesIn", "BytesOut"]) : "${p[0]}-${p[1]}" => { workload = p[0], metric = p[1] } }

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "${each.value.workload}: ${each.value.metric} above the promised ${var.workloads[each.value.workload].bandwidth_mbps} Mbps"
  namespace           = "AWS/TransitGateway"
  metric_name         = each.value.metric
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  # Mbps over a one-minute period, in bytes.
  threshold          = var.workloads[each.value.workload].bandwidth_mbps * 1000000 / 8 * 60
  treat_missing_data = "notBreaching"
  alarm_actions      = var.alarm_actions

  dimensions = {
    TransitGateway           = data.aws_ec2_transit_gateway.network.id
    TransitGatewayAttachment = module.workload[each.value.workload].transit_gateway_attachment_id
  }

  tags = local.workload_tags[each.value.workload]
}
