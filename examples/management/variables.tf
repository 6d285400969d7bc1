variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name tag prefix."
  type        = string
  default     = "microseg"
}

variable "asn" {
  description = "ASNs of the data-plane and management Transit Gateways."
  type = object({
    transit_gateway = number
    management      = number
  })
  default = { transit_gateway = 64512, management = 64513 }
}

variable "workload_supernet" {
  description = "The pool workload CIDRs come from."
  type        = string
  default     = "10.64.0.0/10"
}

variable "core" {
  description = "Core VPC CIDR and per-AZ subnets."
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
      "us-east-1b" = { public = "10.0.1.0/24", internal = "10.0.4.0/24", management = "10.0.6.128/25", tgw = "10.0.7.16/28" }
    }
  }
}

variable "allowed_domains" {
  description = "The NAT proxy's allow-list."
  type        = list(string)
  default     = [".amazonaws.com", "license.example.com"]
}

variable "instance_type" {
  description = "Instance type of the NAT proxy."
  type        = string
  default     = "t3.small"
}

variable "operator_cidrs" {
  description = "Operator networks behind the management Transit Gateway."
  type        = list(string)
  default     = ["192.168.100.0/24"]
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
