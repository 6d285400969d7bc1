variable "name" {
  description = "Name of the workload; used as the Name tag prefix of every resource."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{0,62}$."
  }
}

variable "cidr" {
  description = "CIDR of the workload VPC (decided by the generator)."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.cidr))
    error_message = "cidr must be an IPv4 CIDR block."
  }
}

variable "subnets" {
  description = "Per-AZ subnets, keyed by availability zone: `workload` hosts the workload, `attachment` (a /28) holds the Transit Gateway attachment ENI."
  type = map(object({
    workload   = string
    attachment = string
  }))

  validation {
    condition     = length(var.subnets) > 0
    error_message = "subnets needs at least one availability zone."
  }

  validation {
    condition     = alltrue([for s in values(var.subnets) : can(cidrnetmask(s.workload)) && can(cidrnetmask(s.attachment))])
    error_message = "every workload and attachment subnet must be an IPv4 CIDR block."
  }

  validation {
    condition     = alltrue([for s in values(var.subnets) : tonumber(split("/", s.attachment)[1]) == 28])
    error_message = "attachment subnets must be /28 (the size AWS recommends for Transit Gateway attachments)."
  }
}

variable "transit_gateway_id" {
  description = "ID of the Transit Gateway every subnet sends 0.0.0.0/0 to (may be owned by another account and shared through RAM)."
  type        = string
}

variable "transit_gateway_shared" {
  description = "Set to true when the Transit Gateway belongs to another account (RAM share). The attachment then leaves the default route table settings to the owner, who accepts the attachment and wires its route tables."
  type        = bool
  default     = false
}

variable "create_default_route" {
  description = "Whether to create the workload subnets' 0.0.0.0/0 route to the Transit Gateway. Set false while a shared Transit Gateway's owner has not accepted the attachment yet (the route is invalid before), and create it once accepted."
  type        = bool
  default     = true
}

variable "ingress_rules" {
  description = "Ingress rules of the workload security group, one per approved flow (contract `workloads.<n>.ingress_rules`). Everything not listed is denied. protocol is tcp, udp, icmp or any; icmp/any use -1/-1."
  type = list(object({
    protocol    = string
    from_port   = number
    to_port     = number
    cidr        = string
    description = optional(string, "")
  }))
  default = []

  validation {
    condition     = alltrue([for r in var.ingress_rules : contains(["tcp", "udp", "icmp", "any"], r.protocol)])
    error_message = "ingress_rules[*].protocol must be one of tcp, udp, icmp, any."
  }

  validation {
    condition     = alltrue([for r in var.ingress_rules : can(cidrnetmask(r.cidr))])
    error_message = "ingress_rules[*].cidr must be an IPv4 CIDR block."
  }
}

variable "egress_rules" {
  description = "Egress rules of the workload security group, same shape as ingress_rules. Default: none, i.e. egress is denied until the caller lists the approved destinations (the pods enforce the same policy again)."
  type = list(object({
    protocol    = string
    from_port   = number
    to_port     = number
    cidr        = string
    description = optional(string, "")
  }))
  default = []

  validation {
    condition     = alltrue([for r in var.egress_rules : contains(["tcp", "udp", "icmp", "any"], r.protocol)])
    error_message = "egress_rules[*].protocol must be one of tcp, udp, icmp, any."
  }

  validation {
    condition     = alltrue([for r in var.egress_rules : can(cidrnetmask(r.cidr))])
    error_message = "egress_rules[*].cidr must be an IPv4 CIDR block."
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
