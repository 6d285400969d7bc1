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
  description = "ASNs: the Transit Gateway's and the pods' shared one."
  type = object({
    transit_gateway = number
    pods            = number
  })
  default = { transit_gateway = 64512, pods = 65001 }
}

variable "workload_supernet" {
  description = "The pool workload CIDRs come from."
  type        = string
  default     = "10.64.0.0/10"
}

variable "workloads" {
  description = "Workload VPCs keyed by name."
  type = map(object({
    cidr    = string
    subnets = map(object({ workload = string, attachment = string }))
  }))
  default = {
    payments = {
      cidr    = "10.64.0.0/20"
      subnets = { "us-east-1a" = { workload = "10.64.0.0/22", attachment = "10.64.15.0/28" } }
    }
    orders = {
      cidr    = "10.65.0.0/20"
      subnets = { "us-east-1a" = { workload = "10.65.0.0/22", attachment = "10.65.15.0/28" } }
    }
  }
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
    }
  }
}

variable "pods" {
  description = "Pods keyed by name with the public IP of their vpn instance (the customer gateway address)."
  type        = map(object({ public_ip = string }))
  default = {
    "pod-01" = { public_ip = "198.51.100.11" }
    "pod-02" = { public_ip = "198.51.100.12" }
  }
}

variable "active_pods" {
  description = "Pods whose VPN attachment propagates into `workloads` (blue/green: the active ECMP set)."
  type        = list(string)
  default     = ["pod-01", "pod-02"]
}

variable "ram_share_accounts" {
  description = "Accounts the Transit Gateway is shared with through RAM."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
