variable "name" {
  description = "Name tag prefix of every resource."
  type        = string
}

variable "amazon_side_asn" {
  description = "Private ASN of the Transit Gateway's BGP side (contract `asn.transit_gateway`)."
  type        = number

  validation {
    condition     = (var.amazon_side_asn >= 64512 && var.amazon_side_asn <= 65534) || (var.amazon_side_asn >= 4200000000 && var.amazon_side_asn <= 4294967294)
    error_message = "amazon_side_asn must be a private ASN: 64512-65534 or 4200000000-4294967294."
  }
}

variable "description" {
  description = "Description of the Transit Gateway."
  type        = string
  default     = "microseg: workloads reach each other and the internet only through the pods"
}

variable "transit_gateway_cidr_blocks" {
  description = "CIDR blocks of the Transit Gateway (generator-decided, contract `transport.transit_gateway_cidr_block`): TGW Connect takes the TGW's GRE addresses from them. Empty for the vpn transport."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.transit_gateway_cidr_blocks : can(cidrnetmask(c)) && tonumber(split("/", c)[1]) <= 24])
    error_message = "transit_gateway_cidr_blocks must be IPv4 CIDRs of /24 or larger."
  }
}

variable "workload_attachments" {
  description = "Workload VPC attachment IDs keyed by workload name: associated with `workloads`, propagated into `core`. Keys must be known at plan time; values may be unknown."
  type        = map(string)
  default     = {}
}

variable "core_attachments" {
  description = "Core VPC attachment IDs keyed by a static name (normally one, `core`): associated with `core`, never propagated into `workloads`."
  type        = map(string)
  default     = {}
}

variable "workloads_return_cidrs" {
  description = "CIDRs the fw instances SNAT east-west traffic to (the core VPC's internal subnets): static routes in `workloads` to the core attachment `core_attachment_key`, so a workload's reply returns to the very fw that owns the address instead of taking the ECMP default via any pod. Never put workload CIDRs here."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.workloads_return_cidrs : can(cidrnetmask(c))])
    error_message = "workloads_return_cidrs must be IPv4 CIDRs."
  }
}

variable "core_attachment_key" {
  description = "Key in `core_attachments` of the core VPC attachment `workloads_return_cidrs` route to (null: no return routes)."
  type        = string
  default     = "core"
}

variable "vpn_attachments" {
  description = "The pods' VPN attachment IDs keyed by pod name: associated with `core`; propagated into `workloads` when `propagate_to_workloads` (blue/green: switch a whole set of pods in or out of ECMP). Leave empty when the pod module wires its own attachment with the route table IDs of this module."
  type = map(object({
    attachment_id          = string
    propagate_to_workloads = optional(bool, true)
  }))
  default = {}
}

variable "accept_vpc_attachments" {
  description = "Cross-account VPC attachment IDs to accept in this (the owner's) account, keyed like `workload_attachments`. Associations and propagations wait for the acceptance."
  type        = map(string)
  default     = {}
}

variable "auto_accept_shared_attachments" {
  description = "Whether attachments from accounts the Transit Gateway is shared with are accepted without review. Off: every cross-account attachment is accepted explicitly (`accept_vpc_attachments`)."
  type        = bool
  default     = false
}

variable "create_ram_share" {
  description = "Whether to share the Transit Gateway with `ram_principals` through AWS RAM."
  type        = bool
  default     = false
}

variable "ram_principals" {
  description = "Account IDs (or organization/OU ARNs) the Transit Gateway is shared with (contract `ram_share_accounts`)."
  type        = list(string)
  default     = []
}

variable "ram_allow_external_principals" {
  description = "Whether the RAM share may include principals outside the AWS Organization."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
