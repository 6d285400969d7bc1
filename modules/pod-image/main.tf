data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region

  # The one package list and the one install script, shipped verbatim to the build instance.
  packages_txt = file("${path.module}/packages.txt")
  install_sh   = file("${path.module}/install.sh")
  pins         = [for l in split("\n", local.packages_txt) : trimspace(l) if trimspace(l) != "" && !startswith(trimspace(l), "#")]

  # Kept in the image: the test phase (an instance of the new AMI) and audits read them there.
  dir     = "/usr/local/share/microseg-pod-image"
  env     = var.apt_snapshot == null ? "" : "MICROSEG_APT_SNAPSHOT=${var.apt_snapshot} "
  install = "${local.env}sh ${local.dir}/install.sh ${local.dir}/packages.txt"
  verify  = "sh ${local.dir}/install.sh --verify ${local.dir}/packages.txt"
  stage = [
    "mkdir -p ${local.dir}",
    "echo ${base64encode(local.packages_txt)} | base64 -d > ${local.dir}/packages.txt",
    "echo ${base64encode(local.install_sh)} | base64 -d > ${local.dir}/install.sh",
  ]

  # Image Builder component document (AWSTOE, at most 16000 characters): ship both files and install
  # in `build`, check the pins in `validate` (on the build instance) and `test` (on an instance
  # launched from the new AMI). Every pod unit that
  # the image must not start on its own stays disabled (install.sh); the test phase checks that too.
  component_data = yamlencode({
    name          = "${var.name}-pod"
    description   = "microseg pod image: the pinned packages of packages.txt, installed by install.sh"
    schemaVersion = 1
    phases = [
      {
        name = "build"
        steps = [{
          name   = "InstallPinnedPackages"
          action = "ExecuteBash"
          inputs = { commands = concat(local.stage, [local.install]) }
        }]
      },
      {
        name = "validate"
        steps = [{
          name   = "VerifyPins"
          action = "ExecuteBash"
          inputs = { commands = [local.verify] }
        }]
      },
      {
        name = "test"
        steps = [{
          name   = "VerifyPinsAndUnits"
          action = "ExecuteBash"
          inputs = {
            commands = concat([
              local.verify,
              "for u in frr.service strongswan.service nftables.service; do if systemctl is-enabled --quiet $u; then echo \"$u is enabled: the pod's target must start it\" >&2; exit 1; fi; done",
            ])
          }
        }]
      },
    ]
  })
  # Image Builder versions are immutable: a content change gets a new name (create_before_destroy).
  component_hash = substr(sha256(local.component_data), 0, 10)
  recipe_hash    = substr(sha256(jsonencode([local.component_hash, var.parent_image, var.root_volume_size, var.kms_key_arn])), 0, 10)

  ami_parameter = coalesce(var.ami_ssm_parameter_name, "/${var.name}/pod-image/ami-id")

  required_domains = concat(
    ["deb.debian.org", "security.debian.org"],
    var.apt_snapshot == null ? [] : ["snapshot.debian.org"],
    # Image Builder, SSM (agent install and run commands) and the logs, unless interface endpoints serve them.
    ["imagebuilder.${local.region}.amazonaws.com", "ssm.${local.region}.amazonaws.com", "ssmmessages.${local.region}.amazonaws.com", "ec2messages.${local.region}.amazonaws.com", "s3.${local.region}.amazonaws.com", "logs.${local.region}.amazonaws.com"],
  )

  tags = merge(var.tags, { "microseg:component" = "pod-image" })
}

################################################################################
# Component and recipe
################################################################################

resource "aws_imagebuilder_component" "this" {
  name        = "${var.name}-pod-${local.component_hash}"
  description = "microseg pod packages (${length(local.pins)} pins) installed by install.sh"
  platform    = "Linux"
  version     = "1.0.0"
  data        = local.component_data
  kms_key_id  = var.kms_key_arn

  supported_os_versions = ["Debian 12"]

  tags = merge(local.tags, { Name = "${var.name}-pod" })

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = length(local.component_data) <= 16000
      error_message = "The component document is ${length(local.component_data)} characters; Image Builder takes 16000 inline (keep install.sh small)."
    }
  }
}

resource "aws_imagebuilder_image_recipe" "this" {
  name         = "${var.name}-pod-${local.recipe_hash}"
  description  = "Debian 12 with the microseg pod packages"
  parent_image = var.parent_image
  version      = "1.0.0"

  component {
    component_arn = aws_imagebuilder_component.this.arn
  }

  block_device_mapping {
    device_name = "/dev/xvda"

    ebs {
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      volume_size           = var.root_volume_size
      volume_type           = "gp3"
      delete_on_termination = true
    }
  }

  # Pods are operated through Session Manager only: keep the agent Image Builder installs.
  systems_manager_agent {
    uninstall_after_build = false
  }

  tags = merge(local.tags, { Name = "${var.name}-pod" })

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Build infrastructure: the management subnet, egress only to the proxy's allow-list
################################################################################

resource "aws_security_group" "build" {
  #checkov:skip=CKV2_AWS_5:Attached to the build and test instances by aws_imagebuilder_infrastructure_configuration.this (the checkov graph does not follow it).
  name_prefix = "${var.name}-pod-image-"
  description = "Image Builder build/test instances of the pod image: HTTP(S) out through the management NAT proxy, nothing in"
  vpc_id      = var.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-pod-image" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "build" {
  for_each = { for p in setproduct(var.egress_cidrs, [80, 443]) : "${p[0]}-${p[1]}" => p }

  security_group_id = aws_security_group.build.id
  description       = "TCP/${each.value[1]} to ${each.value[0]}: Debian mirrors and AWS endpoints via the management NAT proxy"
  cidr_ipv4         = each.value[0]
  ip_protocol       = "tcp"
  from_port         = each.value[1]
  to_port           = each.value[1]

  tags = merge(local.tags, { Name = "${var.name}-pod-image-${each.key}" })
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "build" {
  name_prefix        = "${substr(var.name, 0, 20)}-pod-image-"
  description        = "Image Builder build/test instances of the ${var.name} pod image"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = merge(local.tags, { Name = "${var.name}-pod-image" })
}

# What Image Builder's own documentation requires of the instance profile: SSM (it drives the build
# through Run Command) and its component/log access.
resource "aws_iam_role_policy_attachment" "build" {
  for_each = toset(["AmazonSSMManagedInstanceCore", "EC2InstanceProfileForImageBuilder"])

  role       = aws_iam_role.build.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_iam_instance_profile" "build" {
  name_prefix = "${substr(var.name, 0, 20)}-pod-image-"
  role        = aws_iam_role.build.name

  tags = merge(local.tags, { Name = "${var.name}-pod-image" })
}

resource "aws_imagebuilder_infrastructure_configuration" "this" {
  name                          = "${var.name}-pod-image"
  description                   = "Builds the pod image in the management subnet"
  instance_profile_name         = aws_iam_instance_profile.build.name
  instance_types                = var.instance_types
  subnet_id                     = var.subnet_id
  security_group_ids            = [aws_security_group.build.id]
  terminate_instance_on_failure = true

  instance_metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  resource_tags = local.tags
  tags          = merge(local.tags, { Name = "${var.name}-pod-image" })
}

################################################################################
# Distribution and pipeline
################################################################################

resource "aws_imagebuilder_distribution_configuration" "this" {
  name        = "${var.name}-pod-image"
  description = "The pod AMI, encrypted with the pods' key; its ID is written to ${local.ami_parameter}"

  distribution {
    region = local.region

    ami_distribution_configuration {
      name        = "${var.name}-pod-{{ imagebuilder:buildDate }}"
      description = "microseg pod image (Debian 12 + packages.txt)"
      kms_key_id  = var.kms_key_arn
      ami_tags    = merge(local.tags, { Name = "${var.name}-pod" })
    }

    ssm_parameter_configuration {
      parameter_name = local.ami_parameter
      data_type      = "aws:ec2:image"
    }
  }

  tags = merge(local.tags, { Name = "${var.name}-pod-image" })
}

resource "aws_imagebuilder_image_pipeline" "this" {
  name                             = "${var.name}-pod-image"
  description                      = "Builds the microseg pod image from packages.txt"
  image_recipe_arn                 = aws_imagebuilder_image_recipe.this.arn
  infrastructure_configuration_arn = aws_imagebuilder_infrastructure_configuration.this.arn
  distribution_configuration_arn   = aws_imagebuilder_distribution_configuration.this.arn
  enhanced_image_metadata_enabled  = true

  image_tests_configuration {
    image_tests_enabled = true
    timeout_minutes     = 60
  }

  dynamic "schedule" {
    for_each = var.schedule_expression == null ? [] : [var.schedule_expression]
    content {
      schedule_expression                = schedule.value
      pipeline_execution_start_condition = "EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE"
    }
  }

  tags = merge(local.tags, { Name = "${var.name}-pod-image" })
}

# One build at apply time, from the same recipe, infrastructure and distribution as the pipeline.
resource "aws_imagebuilder_image" "this" {
  count = var.build_image ? 1 : 0

  image_recipe_arn                 = aws_imagebuilder_image_recipe.this.arn
  infrastructure_configuration_arn = aws_imagebuilder_infrastructure_configuration.this.arn
  distribution_configuration_arn   = aws_imagebuilder_distribution_configuration.this.arn
  enhanced_image_metadata_enabled  = true

  image_tests_configuration {
    image_tests_enabled = true
    timeout_minutes     = 60
  }

  tags = merge(local.tags, { Name = "${var.name}-pod" })
}
