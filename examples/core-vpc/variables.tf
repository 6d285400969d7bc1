variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name tag prefix."
  type        = string
  default     = "microseg-core"
}

variable "cidr" {
  description = "CIDR of the core VPC."
  type        = string
  default     = "10.0.0.0/20"
}

variable "workload_supernet" {
  description = "The pool workload CIDRs come from."
  type        = string
  default     = "10.64.0.0/10"
}

variable "subnets" {
  description = "Per-AZ subnets of the core VPC."
  type = map(object({
    public     = string
    internal   = string
    management = string
    tgw        = string
  }))
  default = {
    "us-east-1a" = { public = "10.0.0.0/24", internal = "10.0.3.0/24", management = "10.0.6.0/25", tgw = "10.0.7.0/28" }
    "us-east-1b" = { public = "10.0.1.0/24", internal = "10.0.4.0/24", management = "10.0.6.128/25", tgw = "10.0.7.16/28" }
  }
}

variable "pods" {
  description = "Pods with their AZ and /28 bridge subnet."
  type = map(object({
    az          = string
    bridge_cidr = string
  }))
  default = {
    "pod-01" = { az = "us-east-1a", bridge_cidr = "10.0.8.0/28" }
    "pod-02" = { az = "us-east-1b", bridge_cidr = "10.0.8.16/28" }
  }
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
