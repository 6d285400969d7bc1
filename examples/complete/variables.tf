################################################################################
# The generator's microseg.auto.tfvars.json (docs/tfvars-contract.md): one variable per top-level key
################################################################################

variable "name" {
  description = "Prefix of every Name tag, SSM parameter path and log group (contract `name`)."
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

variable "azs" {
  description = "Availability zones the network spans (contract `azs`)."
  type        = list(string)

  validation {
    condition     = length(var.azs) > 0
    error_message = "azs needs at least one availability zone."
  }
}

variable "tags" {
  description = "Tags merged into every resource (contract `tags`)."
  type        = map(string)
  default     = {}
}

variable "asn" {
  description = "BGP ASNs decided by the generator (contract `asn`): the data-plane Transit Gateway's, the management Transit Gateway's and the one all pods' customer gateways share."
  type = object({
    transit_gateway = number
    management      = number
    pods            = number
  })

  validation {
    condition     = length(distinct([var.asn.transit_gateway, var.asn.management, var.asn.pods])) == 3
    error_message = "asn.transit_gateway, asn.management and asn.pods must all differ."
  }
}

variable "workload_supernet" {
  description = "The pool every workload CIDR comes from (contract `workload_supernet`); the core's internal route table sends it to the Transit Gateway."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.workload_supernet))
    error_message = "workload_supernet must be an IPv4 CIDR block."
  }
}

variable "outside_supernet_cidrs" {
  description = "Workload CIDRs pinned outside `workload_supernet` (contract `outside_supernet_cidrs`, brownfield), decided by the generator: the core's internal route table sends them to the Transit Gateway too."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.outside_supernet_cidrs : can(cidrnetmask(c))])
    error_message = "outside_supernet_cidrs must be IPv4 CIDR blocks."
  }
}

variable "required_pods" {
  description = "Pods the promised bandwidth needs, without spares (contract `required_pods`, report.json `pods.required`); observability alarms when fewer are healthy."
  type        = number

  validation {
    condition     = var.required_pods >= 1 && floor(var.required_pods) == var.required_pods
    error_message = "required_pods must be a whole number of at least 1."
  }
}

variable "core" {
  description = "The core VPC (contract `core`): its CIDR and, per AZ, the public, internal, management and tgw (/28) subnets."
  type = object({
    cidr = string
    subnets = map(object({
      public     = string
      internal   = string
      management = string
      tgw        = string
    }))
  })
}

variable "transport" {
  description = "How every pod reaches the Transit Gateway (contract `transport`): `type` `vpn` (IPsec; `tunnel_bandwidth` `standard` or `large`) or `connect` (TGW Connect, GRE + BGP over the core VPC attachment: `connect_peers` per pod and the TGW CIDR block the TGW's GRE addresses come from). Absent: vpn with standard tunnels."
  type = object({
    type                       = optional(string, "vpn")
    tunnel_bandwidth           = optional(string)
    connect_peers              = optional(number)
    transit_gateway_cidr_block = optional(string)
  })
  default  = {}
  nullable = false
}

variable "pods" {
  description = "The pods keyed `pod-01`.. (contract `pods`): index, AZ, /28 bridge subnet; for vpn the two tunnels' inside /30s, for connect the Connect peers (inside /29, TGW GRE address) and the vpn's GRE address (`connect_address`, in the AZ's internal subnet)."
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

  validation {
    condition     = length(var.pods) > 0
    error_message = "pods needs at least one pod: without a pod no workload can reach anything."
  }
}

variable "instance_types" {
  description = "Instance types (contract `instance_types`): `vpn` and `fw` of every pod, `nat` of the management NAT proxy."
  type = object({
    vpn = string
    fw  = string
    nat = string
  })
}

variable "workloads" {
  description = "The workload VPCs keyed by name (contract `workloads`), with the security-group rules the generator decided (`ingress_rules`, `egress_rules`). `account_id` null: the network account; otherwise the one other account, reached with `cross_account_role_name` and given the Transit Gateway through RAM."
  type = map(object({
    cidr             = string
    azs              = list(string)
    subnets          = map(object({ workload = string, attachment = string }))
    internet_egress  = optional(bool, false)
    bandwidth_mbps   = number
    qos_mbps_per_pod = number
    account_id       = optional(string)
    environment      = optional(string, "")
    owner            = optional(string, "")
    cost_center      = optional(string, "")
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

  validation {
    condition     = length(var.workloads) > 0
    error_message = "workloads needs at least one workload."
  }

  validation {
    condition     = alltrue([for w in values(var.workloads) : w.account_id == null || can(regex("^[0-9]{12}$", w.account_id))])
    error_message = "workloads[*].account_id must be null (the network account) or 12 digits."
  }

  # Provider configurations cannot be created per item, so this root has exactly one extra provider.
  validation {
    condition     = length(distinct(compact([for w in values(var.workloads) : w.account_id == null ? "" : w.account_id]))) <= 1
    error_message = "examples/complete supports workloads in at most one account besides the network account (one `aws.workload_account` provider); found: ${join(", ", distinct(compact([for w in values(var.workloads) : w.account_id == null ? "" : w.account_id])))}. Deploy each further account from a root of its own (see README)."
  }
}

variable "ram_share_accounts" {
  description = "Sorted distinct account IDs of the workloads (contract `ram_share_accounts`): the Transit Gateway is shared with them through AWS RAM."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ram_share_accounts : can(regex("^[0-9]{12}$", a))])
    error_message = "ram_share_accounts must be 12-digit account IDs."
  }

  # Without the share the other account cannot even see the Transit Gateway it must attach to.
  validation {
    condition     = alltrue([for w in values(var.workloads) : w.account_id == null || contains(var.ram_share_accounts, coalesce(w.account_id, "-"))])
    error_message = "ram_share_accounts must list the account_id of every workload outside the network account (regenerate the tfvars)."
  }
}

variable "flows" {
  description = "The approved flows (contract `flows`); everything else is denied by every pod's fw."
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
  default = []
}

variable "management" {
  description = "The management plane (contract `management`): the domains the NAT proxy lets bootstrap/licensing traffic reach."
  type = object({
    allowed_domains = list(string)
  })
}

################################################################################
# Deployment settings that are not the generator's business (all defaulted)
################################################################################

variable "cross_account_role_name" {
  description = "Role assumed in the workloads' other account (`arn:aws:iam::<account_id>:role/<name>`) to create their VPCs and Transit Gateway attachments. See README for what it needs."
  type        = string
  default     = "microseg-workload-deployer"

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.cross_account_role_name))
    error_message = "cross_account_role_name must be a valid IAM role name."
  }
}

variable "ami_id" {
  description = "AMI of the pods' vpn and fw instances (e.g. a hardened golden image). Null: the latest Debian 12 from its public SSM parameter (modules/pod)."
  type        = string
  default     = null
}

variable "lambda_zip_path" {
  description = "Path of the pod-health Lambda package built by `python scripts/build_lambda.py` (default: build/pod-health.zip at the repository root)."
  type        = string
  default     = null
}
