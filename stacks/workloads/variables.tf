################################################################################
# The generator's stacks/workloads-<account>.auto.tfvars.json (docs/stacks.md)
################################################################################

variable "name" {
  description = "The network's name (contract `name`): prefix of every Name tag, and the name of the network account's RAM share of its Transit Gateway."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{0,30}$."
  }
}

variable "region" {
  description = "AWS region of the whole network (contract `region`)."
  type        = string
}

variable "tags" {
  description = "Tags merged into every resource (contract `tags`)."
  type        = map(string)
  default     = {}
}

variable "account_id" {
  description = "The account this instance deploys into (null: the network account itself). The plan fails when the credentials are another account's, so one account's file is never applied elsewhere."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", coalesce(var.account_id, "-")))
    error_message = "account_id must be null (the network account) or 12 digits."
  }
}

variable "transit_gateway_asn" {
  description = "Amazon-side ASN of the network's Transit Gateway (contract `asn.transit_gateway`): the Transit Gateway found through the RAM share (or by its tags in the network account) must have it."
  type        = number
}

variable "workloads" {
  description = "This account's workload VPCs keyed by name: address plan, tags and the security-group rules (ingress and egress) the generator decided."
  type = map(object({
    cidr           = string
    azs            = list(string)
    subnets        = map(object({ workload = string, attachment = string }))
    bandwidth_mbps = number
    environment    = optional(string, "")
    owner          = optional(string, "")
    cost_center    = optional(string, "")
    ingress_rules = optional(list(object({
      protocol    = string
      from_port   = number
      to_port     = number
      cidr        = string
      description = optional(string, "")
    })), [])
    egress_rules = optional(list(object({
      protocol    = string
      from_port   = number
      to_port     = number
      cidr        = string
      description = optional(string, "")
    })), [])
  }))
}

################################################################################
# Deployment settings that are not the generator's business (all defaulted)
################################################################################

variable "alarm_actions" {
  description = "ARNs notified when a workload's attachment carries more than its promised bandwidth (e.g. the account's SNS topic). Empty: the alarms are recorded only."
  type        = list(string)
  default     = []
}
