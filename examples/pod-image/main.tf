provider "aws" {
  region = var.region
}

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

# The key the pods use for their volumes, PSKs and logs also encrypts the pod image.
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
}

resource "aws_kms_key" "this" {
  description             = "${var.name} pods and pod image"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.kms.json

  tags = var.tags
}

resource "aws_ec2_transit_gateway" "data_plane" {
  description                     = "${var.name} example data plane"
  amazon_side_asn                 = var.transit_gateway_asn
  auto_accept_shared_attachments  = "disable"
  default_route_table_association = "disable"
  default_route_table_propagation = "disable"
  dns_support                     = "enable"
  vpn_ecmp_support                = "enable"

  tags = merge(var.tags, { Name = var.name })
}

module "core" {
  source = "../../modules/core-vpc"

  name                       = "${var.name}-core"
  cidr                       = var.core.cidr
  subnets                    = var.core.subnets
  transit_gateway_id         = aws_ec2_transit_gateway.data_plane.id
  workload_supernet          = var.workload_supernet
  enable_interface_endpoints = false
  tags                       = var.tags
}

module "pod_image" {
  source = "../../modules/pod-image"

  name         = var.name
  vpc_id       = module.core.vpc_id
  subnet_id    = module.core.management_subnet_ids[sort(keys(var.core.subnets))[0]]
  kms_key_arn  = aws_kms_key.this.arn
  parent_image = var.parent_image
  build_image  = var.build_image
  tags         = var.tags
}
