provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  lambda_zip_path = coalesce(var.lambda_zip_path, "${path.root}/../../build/pod-health.zip")
}

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
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name} pod health"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

resource "aws_ec2_transit_gateway" "this" {
  description                     = "${var.name} pod-health example"
  amazon_side_asn                 = 64512
  default_route_table_association = "disable"
  default_route_table_propagation = "disable"
  vpn_ecmp_support                = "enable"

  tags = merge(var.tags, { Name = var.name })
}

module "core" {
  source = "../../modules/core-vpc"

  name                       = "${var.name}-core"
  cidr                       = var.core.cidr
  subnets                    = var.core.subnets
  pods                       = { for k, p in var.pods : k => { az = p.az, bridge_cidr = p.bridge_cidr } }
  transit_gateway_id         = aws_ec2_transit_gateway.this.id
  workload_supernet          = var.workload_supernet
  enable_interface_endpoints = false

  tags = var.tags
}

# Stand-ins for the pod module's health parameters (same name, same initial value).
resource "aws_ssm_parameter" "health" {
  #checkov:skip=CKV2_AWS_34:Health state is not secret (same reasoning as modules/pod).
  for_each = var.pods

  name  = "/${var.name}/pods/${each.key}/health"
  type  = "String"
  value = jsonencode({ status = "unhealthy", reason = "not checked yet" })

  tags = var.tags

  lifecycle {
    ignore_changes = [value, insecure_value]
  }
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-pod-health-alarms"
  kms_master_key_id = aws_kms_key.this.arn

  tags = var.tags
}

module "pod_health" {
  source = "../../modules/pod-health"

  name   = var.name
  vpc_id = module.core.vpc_id
  pods = {
    for k, p in var.pods : k => {
      bridge_subnet_id      = module.core.bridge_subnet_ids[k]
      health_parameter_name = aws_ssm_parameter.health[k].name
      expected_public_ip    = p.expected_public_ip
    }
  }
  workload_probes = var.workload_probes
  lambda_zip_path = local.lambda_zip_path
  kms_key_arn     = aws_kms_key.this.arn
  alarm_actions   = [aws_sns_topic.alarms.arn]

  tags = var.tags
}
