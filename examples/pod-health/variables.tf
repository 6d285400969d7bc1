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

variable "core" {
  description = "Core VPC CIDR and per-AZ subnets (contract `core`)."
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

variable "workload_supernet" {
  description = "The pool workload CIDRs come from."
  type        = string
  default     = "10.64.0.0/10"
}

variable "pods" {
  description = "Pods (contract `pods`) with the fw EIP the internet probe must see (pod module output `fw_public_ip`)."
  type = map(object({
    az                 = string
    bridge_cidr        = string
    expected_public_ip = optional(string)
  }))
  default = {
    "pod-01" = { az = "us-east-1a", bridge_cidr = "10.0.8.0/28", expected_public_ip = "198.51.100.21" }
    "pod-02" = { az = "us-east-1b", bridge_cidr = "10.0.8.16/28", expected_public_ip = "198.51.100.22" }
  }
}

variable "workload_probes" {
  description = "One TCP target per workload, probed through each pod's fw."
  type = map(object({
    host = string
    port = number
  }))
  default = {
    payments = { host = "10.64.0.10", port = 443 }
  }
}

variable "lambda_zip_path" {
  description = "Package built by `python scripts/build_lambda.py`; null: build/pod-health.zip at the repository root."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
