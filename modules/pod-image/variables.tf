variable "name" {
  description = "Deployment prefix (the contract's `name`): Image Builder resource names, the AMI's name and the SSM parameter path start with it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{0,30}$."
  }
}

variable "parent_image" {
  description = "The Debian 12 image the pod image is built on: an AMI ID, an Image Builder image ARN, or `ssm:` and an SSM parameter name (default: Debian's public parameter for the latest bookworm amd64 AMI, resolved by Image Builder at each build)."
  type        = string
  default     = "ssm:/aws/service/debian/release/bookworm/latest/amd64"

  validation {
    condition     = can(regex("^(ami-[0-9a-f]{8,17}|arn:aws[a-z-]*:imagebuilder:.+|ssm:.+)$", var.parent_image))
    error_message = "parent_image must be an AMI ID, an Image Builder image ARN or ssm:<parameter>."
  }
}

variable "vpc_id" {
  description = "ID of the core VPC (the build instance's security group lives in it)."
  type        = string
}

variable "subnet_id" {
  description = "The core's management subnet (modules/core-vpc `management_subnet_ids`, one AZ): the build and test instances reach the Debian mirrors only through the management NAT's allow-list proxy."
  type        = string
}

variable "egress_cidrs" {
  description = "Where the build instance may open TCP/80 and TCP/443 (the Debian mirrors and the AWS endpoints, through the management NAT proxy, whose allow-list is the real control: see `required_domains`)."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = alltrue([for c in var.egress_cidrs : can(cidrhost(c, 0))])
    error_message = "egress_cidrs must be IPv4 CIDRs."
  }
}

variable "instance_types" {
  description = "Instance types of the build and test instances (x86_64, like the pods)."
  type        = list(string)
  default     = ["c6in.large"]
}

variable "kms_key_arn" {
  description = "KMS key encrypting the component, the build volumes and the AMI's snapshots (the pods' key: their root volumes are encrypted with it anyway). Its policy must let Image Builder's service-linked role and EC2 use it."
  type        = string
}

variable "root_volume_size" {
  description = "Root volume size of the image in GiB (the pods' `root_volume_size` must be at least this)."
  type        = number
  default     = 8

  validation {
    condition     = var.root_volume_size >= 8
    error_message = "root_volume_size must be at least 8 GiB (Debian's image)."
  }
}

variable "apt_snapshot" {
  description = "Install the pins from snapshot.debian.org at this time (e.g. `20261125T000000Z`) instead of the live mirrors, so they stay installable after a newer security update (add snapshot.debian.org to the proxy's allow-list). Null: the parent image's mirrors."
  type        = string
  default     = null

  validation {
    condition     = var.apt_snapshot == null || can(regex("^[0-9]{8}T[0-9]{6}Z$", var.apt_snapshot))
    error_message = "apt_snapshot must look like 20261125T000000Z."
  }
}

variable "build_image" {
  description = "Build one image at apply time (`aws_imagebuilder_image`, ~20-40 min) so `ami_id` is known in the same run. False: only the pipeline; run it (or let `schedule_expression` run it) and read the AMI ID from `ami_ssm_parameter_name`."
  type        = bool
  default     = true
}

variable "schedule_expression" {
  description = "Image Builder cron expression for rebuilding (e.g. `cron(0 4 ? * SUN *)`, only when the parent image or the component changed). Null: the pipeline runs only when started."
  type        = string
  default     = null
}

variable "ami_ssm_parameter_name" {
  description = "SSM parameter each build writes its AMI ID into (the pod module's `ami_ssm_parameter` can read it). Null: `/<name>/pod-image/ami-id`."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags merged into every resource (and the AMI)."
  type        = map(string)
  default     = {}
}
