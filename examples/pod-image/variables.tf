variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name tag prefix (contract `name`)."
  type        = string
  default     = "microseg"
}

variable "transit_gateway_asn" {
  description = "ASN of the example's data-plane Transit Gateway (the core VPC attaches to it)."
  type        = number
  default     = 64512
}

variable "workload_supernet" {
  description = "The pool workload CIDRs come from."
  type        = string
  default     = "10.64.0.0/10"
}

variable "core" {
  description = "Core VPC CIDR and per-AZ subnets; the image is built in the first AZ's management subnet."
  type = object({
    cidr = string
    subnets = map(object({
      public     = string
      internal   = string
      management = string
      tgw        = string
    }))
  })
  default = {
    cidr = "10.0.0.0/20"
    subnets = {
      "us-east-1a" = { public = "10.0.0.0/24", internal = "10.0.3.0/24", management = "10.0.6.0/25", tgw = "10.0.7.0/28" }
    }
  }
}

variable "parent_image" {
  description = "Debian 12 parent image: AMI ID, image ARN or ssm:<parameter>."
  type        = string
  default     = "ssm:/aws/service/debian/release/bookworm/latest/amd64"
}

variable "build_image" {
  description = "Build one image during apply so `ami_id` is known (20-40 minutes)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
