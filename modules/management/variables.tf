variable "name" {
  description = "Name tag prefix of every resource."
  type        = string
}

variable "amazon_side_asn" {
  description = "Private ASN of the management Transit Gateway (contract `asn.management`); differs from the data-plane Transit Gateway's and the pods'."
  type        = number

  validation {
    condition     = (var.amazon_side_asn >= 64512 && var.amazon_side_asn <= 65534) || (var.amazon_side_asn >= 4200000000 && var.amazon_side_asn <= 4294967294)
    error_message = "amazon_side_asn must be a private ASN: 64512-65534 or 4200000000-4294967294."
  }
}

variable "vpc_id" {
  description = "ID of the core VPC holding the management subnets (modules/core-vpc `vpc_id`)."
  type        = string
}

variable "management_subnet_ids" {
  description = "Management subnet IDs keyed by availability zone (modules/core-vpc `management_subnet_ids`); the management Transit Gateway attaches here."
  type        = map(string)
}

variable "management_subnet_cidrs" {
  description = "CIDRs of the management subnets: the only sources the NAT instance proxies for."
  type        = list(string)

  validation {
    condition     = length(var.management_subnet_cidrs) > 0 && alltrue([for c in var.management_subnet_cidrs : can(cidrnetmask(c))])
    error_message = "management_subnet_cidrs needs at least one IPv4 CIDR block."
  }
}

variable "management_route_table_id" {
  description = "ID of the management subnets' route table (modules/core-vpc `management_route_table_id`): receives 0.0.0.0/0 -> NAT instance and the operator routes."
  type        = string
}

variable "operator_cidrs" {
  description = "Operator networks reached through the management Transit Gateway (e.g. over Direct Connect); routed from the management subnets only."
  type        = list(string)
  default     = []
}

variable "operator_attachments" {
  description = "Attachment IDs of operator networks on the management Transit Gateway, keyed by a static name: associated with and propagated into the management route table."
  type        = map(string)
  default     = {}
}

variable "create_nat_instance" {
  description = "Whether to create the NAT instance (transparent proxy with the allow-list) for bootstrap/licensing egress."
  type        = bool
  default     = true
}

variable "nat_subnet_id" {
  description = "Public subnet of the NAT instance (modules/core-vpc `public_subnet_ids`, one AZ)."
  type        = string
  default     = null
}

variable "allowed_domains" {
  description = "Domains the proxy lets through (contract `management.allowed_domains`); a leading dot includes subdomains. Everything else is refused."
  type        = list(string)

  validation {
    condition     = alltrue([for d in var.allowed_domains : can(regex("^\\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$", d))])
    error_message = "allowed_domains must be DNS names, optionally with a leading dot."
  }
}

variable "instance_type" {
  description = "Instance type of the NAT instance (contract `instance_types.nat`)."
  type        = string
  default     = "t3.small"
}

variable "ami_id" {
  description = "AMI of the NAT instance; null = the latest Amazon Linux 2023 from the public SSM parameter."
  type        = string
  default     = null
}

variable "root_volume_kms_key_arn" {
  description = "KMS key ARN for the NAT instance's root volume; null = the account's default EBS key."
  type        = string
  default     = null
}

variable "root_volume_size" {
  description = "Size of the NAT instance's root volume in GiB (at least the AMI's snapshot: 8 for Amazon Linux 2023)."
  type        = number
  default     = 8
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
