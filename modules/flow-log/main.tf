# One VPC's flow log: ALL traffic to a KMS-encrypted CloudWatch log group, delivered by a role that
# can write to that group only. Shared by modules/core-vpc and modules/workload-vpc.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  # A static boolean: an ARN created in the same apply would make `count` unknown at plan time.
  create_kms_key = var.create && var.create_kms_key
  log_group      = "/aws/vpc-flow-logs/${var.name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group}"
}

data "aws_iam_policy_document" "kms" {
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
      values   = [local.log_group_arn]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "VPC flow logs of ${var.name}"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = merge(var.tags, { Name = "${var.name}-flow-log" })
}

resource "aws_cloudwatch_log_group" "this" {
  count = var.create ? 1 : 0

  name              = local.log_group
  retention_in_days = var.retention_in_days
  kms_key_id        = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  tags = merge(var.tags, { Name = "${var.name}-flow-log" })

  lifecycle {
    precondition {
      condition     = local.create_kms_key || var.kms_key_arn != null
      error_message = "create_kms_key = false (create_flow_log_kms_key of the VPC modules) needs kms_key_arn (flow_log_kms_key_arn): flow logs are always encrypted."
    }
  }
}

data "aws_iam_policy_document" "assume" {
  count = var.create ? 1 : 0

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

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name_prefix        = "${substr(var.name, 0, 24)}-flow-log-"
  assume_role_policy = data.aws_iam_policy_document.assume[0].json

  tags = merge(var.tags, { Name = "${var.name}-flow-log" })
}

data "aws_iam_policy_document" "delivery" {
  count = var.create ? 1 : 0

  # Write to this one log group only.
  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogStreams",
    ]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  count = var.create ? 1 : 0

  name_prefix = "flow-log-"
  role        = aws_iam_role.this[0].id
  policy      = data.aws_iam_policy_document.delivery[0].json
}

resource "aws_flow_log" "this" {
  count = var.create ? 1 : 0

  vpc_id                   = var.vpc_id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.this[0].arn
  iam_role_arn             = aws_iam_role.this[0].arn
  max_aggregation_interval = var.max_aggregation_interval

  tags = merge(var.tags, { Name = var.name })
}
