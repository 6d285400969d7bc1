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

variable "asn" {
  description = "ASNs (contract `asn`): the Transit Gateway's and the pods' shared one."
  type = object({
    transit_gateway = number
    pods            = number
  })
  default = { transit_gateway = 64512, pods = 65001 }
}

variable "workload_supernet" {
  description = "The pool workload CIDRs come from (contract `workload_supernet`)."
  type        = string
  default     = "10.64.0.0/10"
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
    }
  }
}

variable "transport" {
  description = "How the pods reach the TGW (contract `transport`): `vpn` (with `tunnel_bandwidth` standard|large) or `connect` (with `connect_peers` and the TGW CIDR block for GRE)."
  type = object({
    type                       = optional(string, "vpn")
    tunnel_bandwidth           = optional(string)
    connect_peers              = optional(number)
    transit_gateway_cidr_block = optional(string)
  })
  default = {}
}

variable "pods" {
  description = "Pods (contract `pods`): vpn pods have `tunnel_inside_cidrs`, connect pods `connect_peers` and `connect_address`."
  type = map(object({
    index               = number
    az                  = string
    bridge_cidr         = string
    tunnel_inside_cidrs = optional(list(string), [])
    connect_peers = optional(list(object({
      inside_cidr             = string
      transit_gateway_address = string
    })), [])
    connect_address = optional(string)
  }))
  default = {
    "pod-01" = { index = 1, az = "us-east-1a", bridge_cidr = "10.0.8.0/28", tunnel_inside_cidrs = ["169.254.10.0/30", "169.254.10.4/30"] }
  }
}

variable "active_pods" {
  description = "Pods whose VPN attachment propagates into `workloads` (the ECMP set)."
  type        = list(string)
  default     = ["pod-01"]
}

variable "instance_types" {
  description = "Instance types (contract `instance_types`); the fw needs 4 ENIs."
  type = object({
    vpn = string
    fw  = string
  })
  default = { vpn = "c6in.large", fw = "c6in.xlarge" }
}

variable "ami_id" {
  description = "AMI of the appliances; null reads the Debian 12 public SSM parameter."
  type        = string
  default     = null
}

variable "tunnel_options" {
  description = "IKE/IPsec proposals of every pod's VPN tunnels (modules/pod `tunnel_options`, AWS names); {} keeps the module's defaults."
  type = object({
    ike_versions                 = optional(list(string))
    phase1_encryption_algorithms = optional(list(string))
    phase1_integrity_algorithms  = optional(list(string))
    phase1_dh_group_numbers      = optional(list(number))
    phase1_lifetime_seconds      = optional(number)
    phase2_encryption_algorithms = optional(list(string))
    phase2_integrity_algorithms  = optional(list(string))
    phase2_dh_group_numbers      = optional(list(number))
    phase2_lifetime_seconds      = optional(number)
    dpd_timeout_seconds          = optional(number)
  })
  default = {}
}

variable "workloads" {
  description = "Workloads (contract `workloads`; only cidr, qos_mbps_per_pod and internet_egress are used here)."
  type = map(object({
    cidr             = string
    qos_mbps_per_pod = number
    internet_egress  = optional(bool, false)
  }))
  default = {
    payments = { cidr = "10.64.0.0/20", qos_mbps_per_pod = 250, internet_egress = false }
    orders   = { cidr = "10.65.0.0/20", qos_mbps_per_pod = 100, internet_egress = true }
  }
}

variable "flows" {
  description = "Approved flows (contract `flows`)."
  type = list(object({
    id                = string
    source            = string
    destination       = string
    source_cidrs      = list(string)
    destination_cidrs = list(string)
    protocol          = string
    from_port         = number
    to_port           = number
    reference         = string
  }))
  default = [
    {
      id                = "f001", source = "orders", destination = "payments", source_cidrs = ["10.65.0.0/20"],
      destination_cidrs = ["10.64.0.0/20"], protocol = "tcp", from_port = 443, to_port = 443, reference = "CHG-1234"
    },
    {
      id                = "f002", source = "orders", destination = "internet", source_cidrs = ["10.65.0.0/20"],
      destination_cidrs = ["0.0.0.0/0"], protocol = "tcp", from_port = 443, to_port = 443, reference = "CHG-1235"
    },
  ]
}

variable "health_probes" {
  description = "What the pod-health Lambda probes through each fw (the module's `health_probes`); the vpn's own check probes the same workload targets."
  type = object({
    internet_ports = optional(list(number), [443])
    workload_targets = optional(list(object({
      host = string
      port = number
    })), [])
  })
  default = {}
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
