variable "name" {
  description = "Name tag prefix of every resource."
  type        = string
}

variable "cidr" {
  description = "CIDR of the core VPC (contract `core.cidr`)."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.cidr))
    error_message = "cidr must be an IPv4 CIDR block."
  }
}

variable "subnets" {
  description = "Per-AZ subnets keyed by availability zone (contract `core.subnets`): public (fw/vpn EIPs, NAT), internal (fw internal ENIs, interface endpoints), management, tgw (/28 attachment)."
  type = map(object({
    public     = string
    internal   = string
    management = string
    tgw        = string
  }))

  validation {
    condition     = length(var.subnets) > 0
    error_message = "subnets needs at least one availability zone."
  }

  validation {
    condition     = alltrue([for s in values(var.subnets) : alltrue([for c in [s.public, s.internal, s.management, s.tgw] : can(cidrnetmask(c))])])
    error_message = "every subnet must be an IPv4 CIDR block."
  }
}

variable "pods" {
  description = "Pods keyed by name (contract `pods`): each gets a /28 bridge subnet in its AZ with a route table of its own. Extra contract attributes are ignored."
  type = map(object({
    az          = string
    bridge_cidr = string
  }))
  default = {}

  validation {
    condition     = alltrue([for p in values(var.pods) : can(cidrnetmask(p.bridge_cidr)) && tonumber(split("/", p.bridge_cidr)[1]) == 28])
    error_message = "every pod bridge_cidr must be a /28."
  }
}

variable "transit_gateway_id" {
  description = "ID of the data-plane Transit Gateway the core VPC attaches to."
  type        = string
}

variable "workload_supernet" {
  description = "The pool every workload CIDR comes from (contract `workload_supernet`): the internal route table sends it to the Transit Gateway."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.workload_supernet))
    error_message = "workload_supernet must be an IPv4 CIDR block."
  }
}

variable "create_bridge_default_routes" {
  description = "Whether to add 0.0.0.0/0 -> the pod's fw bridge ENI to each pod's bridge route table (ENIs from `fw_bridge_eni_ids`). Keeps every route of the core VPC in this module."
  type        = bool
  default     = false
}

variable "fw_bridge_eni_ids" {
  description = "The fw instance's bridge ENI ID keyed by pod name (same keys as `pods`); used when `create_bridge_default_routes`."
  type        = map(string)
  default     = {}
}

variable "enable_interface_endpoints" {
  description = "Whether to create interface endpoints in the internal subnets."
  type        = bool
  default     = true
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints (private DNS on)."
  type        = list(string)
  default     = ["logs", "monitoring", "ssm", "ssmmessages", "ec2messages"]
}

variable "internal_extra_cidrs" {
  description = "Further CIDRs the internal route table sends to the Transit Gateway besides `workload_supernet`, e.g. brownfield workload CIDRs pinned outside the pool."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.internal_extra_cidrs : can(cidrnetmask(c))])
    error_message = "internal_extra_cidrs must be IPv4 CIDRs."
  }
}

variable "transit_gateway_cidr_blocks" {
  description = "The Transit Gateway's CIDR blocks (TGW Connect: the TGW's GRE addresses): routed to the TGW from the internal route table, where the pods' vpn instances have their GRE address. Empty for the vpn transport."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.transit_gateway_cidr_blocks : can(cidrnetmask(c))])
    error_message = "transit_gateway_cidr_blocks must be IPv4 CIDRs."
  }
}

variable "enable_flow_log" {
  description = "Whether to send VPC flow logs (ALL traffic) to a KMS-encrypted CloudWatch log group."
  type        = bool
  default     = true
}

variable "create_flow_log_kms_key" {
  description = "Whether to create the flow log group's KMS key (its policy lets only this log group use it). Set false and pass `flow_log_kms_key_arn` to use a key of your own."
  type        = bool
  default     = true
}

variable "flow_log_kms_key_arn" {
  description = "ARN of an existing KMS key for the flow log group, used when `create_flow_log_kms_key` is false."
  type        = string
  default     = null
}

variable "flow_log_retention_in_days" {
  description = "Retention of the flow log group in days."
  type        = number
  default     = 365
}

variable "flow_log_max_aggregation_interval" {
  description = "Flow log aggregation interval in seconds (60 or 600)."
  type        = number
  default     = 60

  validation {
    condition     = contains([60, 600], var.flow_log_max_aggregation_interval)
    error_message = "flow_log_max_aggregation_interval must be 60 or 600."
  }
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
