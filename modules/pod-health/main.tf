data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region
  account   = data.aws_caller_identity.current.account_id

  functions = {
    for pod, p in var.pods : pod => merge(p, {
      function_name = "${var.name}-${pod}-health"
      parameter_arn = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${p.health_parameter_name}"
    })
  }

  # Every probe's TCP port must be open in the function's security group, including the denied
  # probe's: it has to be dropped by the fw, not by the security group, or the check proves nothing.
  probe_ports = distinct(concat(
    [443],
    var.denied_probe == null ? [] : [var.denied_probe.port],
  ))
}

################################################################################
# Network: one security group per pod, egress only what the probes need
################################################################################

resource "aws_security_group" "this" {
  #checkov:skip=CKV_AWS_382:Probe egress is port-restricted; destinations are internet hosts reached through (and filtered by) the pod's fw.
  for_each = local.functions

  name        = each.value.function_name
  description = "Health probes of ${each.key} through its fw, HTTPS to the interface endpoints"
  vpc_id      = var.vpc_id

  dynamic "egress" {
    for_each = local.probe_ports
    content {
      description = "Probe tcp/${egress.value} through the fw (internet and the denied probe)"
      protocol    = "tcp"
      from_port   = egress.value
      to_port     = egress.value
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  dynamic "egress" {
    for_each = var.workload_probes
    content {
      description = "Workload probe ${egress.key} through the fw and the TGW"
      protocol    = "tcp"
      from_port   = egress.value.port
      to_port     = egress.value.port
      cidr_blocks = ["${egress.value.host}/32"]
    }
  }

  tags = merge(var.tags, { Name = each.value.function_name, "microseg:pod" = each.key })
}

################################################################################
# IAM: one role per function, writing only its own pod's parameter
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "OwnHealthParameter"
    actions   = ["ssm:GetParameter", "ssm:PutParameter"]
    resources = [each.value.parameter_arn]
  }

  statement {
    sid       = "OwnMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:log-stream:*"]
  }

  statement {
    sid       = "DecryptOwnEnvironment"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:LambdaFunctionName"
      values   = [each.value.function_name]
    }
  }

  # The VPC ENI in the bridge subnet (what AWSLambdaVPCAccessExecutionRole grants, scoped down).
  statement {
    sid       = "DescribeNetworkInterfaces"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]
    resources = ["*"]
  }
  statement {
    sid     = "ManageOwnNetworkInterface"
    actions = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account}:network-interface/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account}:subnet/${each.value.bridge_subnet_id}",
      aws_security_group.this[each.key].arn,
    ]
  }

  dynamic "statement" {
    for_each = var.enable_tracing ? [1] : []
    content {
      sid       = "Tracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.functions

  name               = each.value.function_name
  description        = "Health-check function of ${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = merge(var.tags, { Name = each.value.function_name, "microseg:pod" = each.key })
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name   = each.value.function_name
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.function[each.key].json
}

################################################################################
# Functions
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${each.value.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = each.value.function_name, "microseg:pod" = each.key })
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Runs every minute from a schedule; a failed run is superseded by the next one and the Errors alarm reports it, so a DLQ would only hold stale results.
  #checkov:skip=CKV_AWS_272:Code signing needs AWS Signer, which this deployment does not use; the package is built reproducibly from this repository and pinned by source_code_hash.
  for_each = local.functions

  function_name                  = each.value.function_name
  description                    = "Proves ${each.key}'s fw: SNAT to the internet, workloads through the TGW, a denied flow dropped"
  role                           = aws_iam_role.this[each.key].arn
  runtime                        = var.runtime
  handler                        = "health_check.handler"
  filename                       = var.lambda_zip_path
  source_code_hash               = filebase64sha256(var.lambda_zip_path)
  timeout                        = ceil(var.probe_timeout_seconds * 3 + 10)
  memory_size                    = 128
  reserved_concurrent_executions = 1 # never two checks of one pod at once: the hysteresis reads then writes
  kms_key_arn                    = var.kms_key_arn

  vpc_config {
    subnet_ids         = [each.value.bridge_subnet_id]
    security_group_ids = [aws_security_group.this[each.key].id]
  }

  environment {
    variables = {
      POD                 = each.key
      HEALTH_PARAMETER    = each.value.health_parameter_name
      METRIC_NAMESPACE    = var.metric_namespace
      INTERNET_URL        = var.internet_url
      EXPECTED_PUBLIC_IP  = each.value.expected_public_ip == null ? "" : each.value.expected_public_ip
      WORKLOAD_PROBES     = jsonencode(var.workload_probes)
      DENIED_PROBE        = jsonencode(var.denied_probe)
      TIMEOUT_SECONDS     = tostring(var.probe_timeout_seconds)
      HEALTHY_THRESHOLD   = tostring(var.healthy_threshold)
      UNHEALTHY_THRESHOLD = tostring(var.unhealthy_threshold)
      # Shared dependencies (the internet probe) only alarm unless the user opts in (docs/health.md).
      WITHDRAW_ON_SHARED_FAILURE = tostring(var.withdraw_on_shared_failure)
    }
  }

  dynamic "tracing_config" {
    for_each = var.enable_tracing ? [1] : []
    content {
      mode = "Active"
    }
  }

  tags = merge(var.tags, { Name = each.value.function_name, "microseg:pod" = each.key })

  # The function logs to /aws/lambda/<name>, the group created above (KMS, retention) before it runs.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

################################################################################
# Schedule
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.functions

  name                = each.value.function_name
  description         = "Health check of ${each.key}"
  schedule_expression = var.schedule_expression

  tags = merge(var.tags, { Name = each.value.function_name, "microseg:pod" = each.key })
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.functions

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "health-check"
  arn       = aws_lambda_function.this[each.key].arn
}

resource "aws_lambda_permission" "this" {
  for_each = local.functions

  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "unhealthy" {
  for_each = var.create_alarms ? local.functions : {}

  alarm_name          = "${var.name}-${each.key}-unhealthy"
  alarm_description   = "${each.key} is unhealthy (withdrawn from ECMP) or its health check stopped reporting"
  namespace           = var.metric_namespace
  metric_name         = "Healthy"
  dimensions          = { Pod = each.key }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-unhealthy", "microseg:pod" = each.key })
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = var.create_alarms ? local.functions : {}

  alarm_name          = "${var.name}-${each.key}-health-check-errors"
  alarm_description   = "The health-check function of ${each.key} fails"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-health-check-errors", "microseg:pod" = each.key })
}

# Blast radius (docs/health.md): a shared dependency (the internet probe target, DNS) failing is not a
# pod's fault and withdraws no pod by default; this one fleet-wide alarm reports it instead.
resource "aws_cloudwatch_metric_alarm" "shared_dependency" {
  count = var.create_alarms ? 1 : 0

  alarm_name          = "${var.name}-health-shared-dependency"
  alarm_description   = "A dependency every pod shares (internet probe ${var.internet_url}, DNS) fails its health probes; pods stay in ECMP unless withdraw_on_shared_failure"
  namespace           = var.metric_namespace
  metric_name         = "SharedDependencyFailures"
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = merge(var.tags, { Name = "${var.name}-health-shared-dependency" })
}

# The function writes RecordWritten only after the pod's record is written: no datapoint means the
# record the vpn's agent reads is going stale (the agent keeps the last verdict, see docs/health.md).
resource "aws_cloudwatch_metric_alarm" "stale_record" {
  for_each = var.create_alarms ? local.functions : {}

  alarm_name          = "${var.name}-${each.key}-health-record-stale"
  alarm_description   = "The health record of ${each.key} was not written for ${var.stale_record_minutes} minutes: its health check stopped"
  namespace           = var.metric_namespace
  metric_name         = "RecordWritten"
  dimensions          = { Pod = each.key }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.stale_record_minutes
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}-health-record-stale", "microseg:pod" = each.key })
}
