data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  region  = data.aws_region.current.region
  account = data.aws_caller_identity.current.account_id

  alarm_actions = concat(aws_sns_topic.alarms[*].arn, var.alarm_actions)

  tunnels = merge([
    for pod, v in var.vpn_connections : {
      for i, ip in v.tunnel_outside_ips : "${pod}-tunnel${i + 1}" => {
        pod               = pod
        tunnel            = i + 1
        vpn_connection_id = v.vpn_connection_id
        ip                = ip
      }
    }
  ]...)

  # Mbps -> bytes in a 60 s period (Sum of NetworkIn/BytesIn over one minute).
  bytes_per_minute = 1000000 / 8 * 60

  instance_alarms = merge([
    for k, i in var.instances : {
      for m in ["NetworkIn", "NetworkOut"] : "${k}-${m}" => {
        instance    = k
        instance_id = i.instance_id
        metric      = m
        threshold   = coalesce(i.network_alarm_mbps, var.instance_network_alarm_mbps) * local.bytes_per_minute
      }
    }
  ]...)

  # A static switch: the TGW ID is unknown at plan time when the TGW is created in the same apply.
  tgw_alarms = !var.enable_tgw_alarms ? {} : merge([
    for k, a in var.transit_gateway_attachments : {
      for m in ["BytesIn", "BytesOut"] : "${k}-${m}" => {
        attachment    = k
        attachment_id = a.attachment_id
        metric        = m
        threshold     = a.alarm_mbps * local.bytes_per_minute
      }
    } if a.alarm_mbps != null
  ]...)
}

################################################################################
# Alarm topic
################################################################################

data "aws_iam_policy_document" "topic" {
  count = var.create_sns_topic ? 1 : 0

  statement {
    sid       = "CloudWatchAlarmsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_sns_topic" "alarms" {
  count = var.create_sns_topic ? 1 : 0

  name              = "${var.name}-alarms"
  display_name      = "${var.name} network core alarms"
  kms_master_key_id = var.kms_key_arn

  tags = merge(var.tags, { Name = "${var.name}-alarms" })
}

resource "aws_sns_topic_policy" "alarms" {
  count = var.create_sns_topic ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.topic[0].json
}

resource "aws_sns_topic_subscription" "this" {
  for_each = var.create_sns_topic ? var.sns_subscriptions : {}

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

################################################################################
# Log groups
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = var.log_groups

  name              = each.key
  retention_in_days = coalesce(each.value.retention_in_days, var.log_retention_days)
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = each.key })

  lifecycle {
    precondition {
      condition     = coalesce(each.value.retention_in_days, var.log_retention_days) >= 365
      error_message = "Log group ${each.key} must keep its logs at least 365 days."
    }
  }
}

################################################################################
# VPN tunnels
################################################################################

resource "aws_cloudwatch_metric_alarm" "tunnel_down" {
  for_each = local.tunnels

  alarm_name          = "${var.name}-${each.key}-down"
  alarm_description   = "Tunnel ${each.value.tunnel} of ${each.value.pod} (${each.value.vpn_connection_id}) is down: the pod lost half its ECMP paths"
  namespace           = "AWS/VPN"
  metric_name         = "TunnelState"
  dimensions          = { TunnelIpAddress = each.value.ip }
  statistic           = "Maximum"
  period              = var.tunnel_alarm_period
  evaluation_periods  = var.tunnel_alarm_evaluation_periods
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-down", "microseg:pod" = each.value.pod })
}

################################################################################
# Instances
################################################################################

resource "aws_cloudwatch_metric_alarm" "status_check" {
  for_each = var.instances

  alarm_name          = "${var.name}-${each.key}-status-check"
  alarm_description   = "${each.key} (${each.value.instance_id}) fails its EC2 status checks"
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  dimensions          = { InstanceId = each.value.instance_id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-status-check" })
}

resource "aws_cloudwatch_metric_alarm" "cpu" {
  for_each = var.instances

  alarm_name          = "${var.name}-${each.key}-cpu"
  alarm_description   = "${each.key} (${each.value.instance_id}) CPU above ${var.cpu_alarm_percent}%: add pods"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { InstanceId = each.value.instance_id }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = var.evaluation_periods
  threshold           = var.cpu_alarm_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-cpu" })
}

resource "aws_cloudwatch_metric_alarm" "network" {
  for_each = local.instance_alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "${each.value.instance} ${each.value.metric} above its planned share of the pod capacity: add pods"
  namespace           = "AWS/EC2"
  metric_name         = each.value.metric
  dimensions          = { InstanceId = each.value.instance_id }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

################################################################################
# Transit gateway attachments
################################################################################

resource "aws_cloudwatch_metric_alarm" "tgw_bytes" {
  for_each = local.tgw_alarms

  alarm_name          = "${var.name}-tgw-${each.key}"
  alarm_description   = "TGW attachment ${each.value.attachment} (${each.value.attachment_id}) ${each.value.metric} above its planned rate"
  namespace           = "AWS/TransitGateway"
  metric_name         = each.value.metric
  dimensions          = { TransitGateway = var.transit_gateway_id, TransitGatewayAttachment = each.value.attachment_id }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = merge(var.tags, { Name = "${var.name}-tgw-${each.key}" })

  lifecycle {
    precondition {
      condition     = var.transit_gateway_id != null
      error_message = "enable_tgw_alarms needs transit_gateway_id."
    }
  }
}

################################################################################
# Fleet capacity: fewer healthy pods than required
################################################################################

resource "aws_cloudwatch_metric_alarm" "fleet_capacity" {
  count = var.required_pods > 0 && length(var.pods) > 0 ? 1 : 0

  alarm_name          = "${var.name}-fleet-below-required"
  alarm_description   = "Fewer than ${var.required_pods} healthy pods: the promised bandwidth is no longer covered"
  evaluation_periods  = 3
  threshold           = var.required_pods
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  # Metrics Insights sums every pod's Healthy datapoint of the minute, so the alarm is not
  # bounded by the 10-metric limit of metric math; a pod that stopped reporting counts as 0.
  metric_query {
    id          = "healthy"
    expression  = "SELECT SUM(Healthy) FROM SCHEMA(\"${var.pod_metric_namespace}\", Pod)"
    label       = "Healthy pods"
    period      = 60
    return_data = true
  }

  tags = merge(var.tags, { Name = "${var.name}-fleet-below-required" })
}

################################################################################
# Dashboard
################################################################################

locals {
  dashboard_widgets = concat(
    length(var.pods) == 0 ? [] : [{
      type = "metric", width = 12, height = 6
      properties = {
        title   = "Pod health (1 = advertising into ECMP)"
        region  = local.region
        stat    = "Minimum"
        period  = 60
        metrics = [for p in var.pods : [var.pod_metric_namespace, "Healthy", "Pod", p]]
      }
    }],
    length(local.tunnels) == 0 ? [] : [{
      type = "metric", width = 12, height = 6
      properties = {
        title   = "VPN tunnel state"
        region  = local.region
        stat    = "Maximum"
        period  = 300
        metrics = [for k, t in local.tunnels : ["AWS/VPN", "TunnelState", "TunnelIpAddress", t.ip, { label = k }]]
      }
    }],
    !var.enable_tgw_alarms || length(var.transit_gateway_attachments) == 0 ? [] : [
      for m in ["BytesIn", "BytesOut"] : {
        type = "metric", width = 12, height = 6
        properties = {
          title  = "TGW ${m} per attachment (chargeback)"
          region = local.region
          stat   = "Sum"
          period = 3600
          metrics = [
            for k, a in var.transit_gateway_attachments :
            ["AWS/TransitGateway", m, "TransitGateway", var.transit_gateway_id, "TransitGatewayAttachment", a.attachment_id, { label = k }]
          ]
        }
      }
    ],
    length(var.instances) == 0 ? [] : [
      for m in ["CPUUtilization", "NetworkIn", "NetworkOut"] : {
        type = "metric", width = 8, height = 6
        properties = {
          title   = "Instances ${m}"
          region  = local.region
          stat    = m == "CPUUtilization" ? "Average" : "Sum"
          period  = 60
          metrics = [for k, i in var.instances : ["AWS/EC2", m, "InstanceId", i.instance_id, { label = k }]]
        }
      }
    ],
    length(var.health_check_function_names) == 0 ? [] : [{
      type = "metric", width = 12, height = 6
      properties = {
        title   = "Health-check function errors"
        region  = local.region
        stat    = "Sum"
        period  = 60
        metrics = [for k, f in var.health_check_function_names : ["AWS/Lambda", "Errors", "FunctionName", f, { label = k }]]
      }
    }],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = "${var.name}-network-core"
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
