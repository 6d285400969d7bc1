################################################################################
# Identity
################################################################################

variable "name" {
  description = "Deployment prefix (the contract's `name`): used in every Name tag, SSM parameter path and log group name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{0,30}$."
  }
}

variable "pod_name" {
  description = "The pod's key in the contract's `pods` map, e.g. `pod-01`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.pod_name))
    error_message = "pod_name must match ^[a-z][a-z0-9-]{0,30}$."
  }
}

variable "pod_index" {
  description = "The pod's index (contract `pods.<pod>.index`); the fw internal address is `cidrhost(internal, 10 + pod_index)`."
  type        = number

  validation {
    condition     = var.pod_index >= 1 && var.pod_index <= 200 && floor(var.pod_index) == var.pod_index
    error_message = "pod_index must be an integer between 1 and 200."
  }
}

variable "availability_zone" {
  description = "The pod's availability zone (contract `pods.<pod>.az`). Every subnet in `subnets` must be in it."
  type        = string
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}

################################################################################
# Network placement
################################################################################

variable "vpc_id" {
  description = "ID of the core VPC."
  type        = string
}

variable "core_cidr" {
  description = "CIDR of the core VPC: the instances reach the interface endpoints (ssm, logs, monitoring) inside it over TCP/443."
  type        = string

  validation {
    condition     = can(cidrhost(var.core_cidr, 0))
    error_message = "core_cidr must be an IPv4 CIDR."
  }
}

variable "subnets" {
  description = <<-EOT
    The pod's subnets in the core VPC, each as `{ id, cidr }`: `public` (the AZ's public subnet: vpn EIP, fw SNAT EIP),
    `bridge` (the pod's own /28 between vpn and fw), `internal` (the AZ's internal subnet: fw east-west side) and
    `management` (the AZ's management subnet: the fw's primary ENI).
  EOT
  type = object({
    public     = object({ id = string, cidr = string })
    bridge     = object({ id = string, cidr = string })
    internal   = object({ id = string, cidr = string })
    management = object({ id = string, cidr = string })
  })

  validation {
    condition     = alltrue([for s in values(var.subnets) : can(cidrhost(s.cidr, 0))])
    error_message = "Every subnets.*.cidr must be an IPv4 CIDR."
  }

  validation {
    condition     = tonumber(split("/", var.subnets.bridge.cidr)[1]) <= 28
    error_message = "subnets.bridge.cidr must be a /28 or larger (hosts 4, 5 and 6+ are fixed, see the README)."
  }
}

variable "create_bridge_route" {
  description = "Create `0.0.0.0/0 -> fw bridge ENI` in `bridge_route_table_id`. The core-vpc module owns the bridge route table; this module owns the route (it owns the ENI)."
  type        = bool
  default     = true
}

variable "bridge_route_table_id" {
  description = "ID of the bridge subnet's route table (core-vpc output). Required when `create_bridge_route` is true."
  type        = string
  default     = null
}

################################################################################
# Transit gateway and VPN
################################################################################

variable "transit_gateway_id" {
  description = "ID of the transit gateway the pod's VPN connection or Connect attachment attaches to."
  type        = string
}

variable "transit_gateway_asn" {
  description = "The transit gateway's Amazon-side ASN (contract `asn.transit_gateway`): the BGP peer ASN on every tunnel or Connect peer."
  type        = number
}

variable "pods_asn" {
  description = "The BGP ASN shared by every pod's customer gateway (contract `asn.pods`); equal AS paths are what make ECMP work."
  type        = number

  validation {
    condition     = (var.pods_asn >= 64512 && var.pods_asn <= 65534) || (var.pods_asn >= 4200000000 && var.pods_asn <= 4294967294)
    error_message = "pods_asn must be a private ASN (64512-65534 or 4200000000-4294967294)."
  }
}

variable "transport" {
  description = <<-EOT
    How the pod reaches the TGW (contract `transport`): `type = "vpn"` (site-to-site IPsec VPN, two tunnels) with
    `tunnel_bandwidth` `"standard"` (1.25 Gbps per tunnel) or `"large"` (5 Gbps, TGW only, both tunnels alike; null
    leaves the AWS default, standard), or `type = "connect"` (TGW Connect: GRE + eBGP over the core VPC attachment,
    no EIP, no IPsec) with `connect_peers` and `transit_gateway_cidr_block` (where the TGW's GRE addresses come from).
  EOT
  type = object({
    type                       = optional(string, "vpn")
    tunnel_bandwidth           = optional(string)
    connect_peers              = optional(number)
    transit_gateway_cidr_block = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["vpn", "connect"], var.transport.type)
    error_message = "transport.type must be \"vpn\" or \"connect\"."
  }

  validation {
    condition     = var.transport.tunnel_bandwidth == null || contains(["standard", "large"], coalesce(var.transport.tunnel_bandwidth, "standard"))
    error_message = "transport.tunnel_bandwidth must be \"standard\", \"large\" or null."
  }

  validation {
    condition     = var.transport.type == "vpn" || can(cidrhost(var.transport.transit_gateway_cidr_block, 0))
    error_message = "transport.transit_gateway_cidr_block (an IPv4 CIDR) is required when transport.type is \"connect\"."
  }
}

variable "tunnel_inside_cidrs" {
  description = "The two VPN tunnels' inside /30s from the generator (contract `pods.<pod>.tunnel_inside_cidrs`); empty for the `connect` transport."
  type        = list(string)
  default     = []

  validation {
    condition = var.transport.type == "connect" ? length(var.tunnel_inside_cidrs) == 0 : (
      length(var.tunnel_inside_cidrs) == 2 && alltrue([for c in var.tunnel_inside_cidrs : can(cidrhost(c, 0)) && endswith(c, "/30") && startswith(c, "169.254.")])
    )
    error_message = "tunnel_inside_cidrs must be exactly two /30s inside 169.254.0.0/16 for the vpn transport, and empty for connect."
  }

  validation {
    # AWS reserves these inside CIDRs for its own use.
    condition = length(setintersection(toset(var.tunnel_inside_cidrs), toset([
      "169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30", "169.254.5.0/30", "169.254.169.252/30",
    ]))) == 0
    error_message = "tunnel_inside_cidrs must not use 169.254.0.0/30-169.254.5.0/30 or 169.254.169.252/30 (reserved by AWS)."
  }
}

variable "connect_peers" {
  description = "The pod's TGW Connect peers from the generator (contract `pods.<pod>.connect_peers`): each a BGP inside /29 and the TGW's GRE address (from `transport.transit_gateway_cidr_block`). 1-4 for the `connect` transport, empty for vpn."
  type = list(object({
    inside_cidr             = string
    transit_gateway_address = string
  }))
  default = []

  validation {
    condition     = var.transport.type == "connect" ? length(var.connect_peers) >= 1 && length(var.connect_peers) <= 4 : length(var.connect_peers) == 0
    error_message = "connect_peers must have 1 to 4 entries for the connect transport (a Connect attachment takes at most 4 peers), and none for vpn."
  }

  validation {
    condition     = alltrue([for p in var.connect_peers : can(cidrhost(p.inside_cidr, 0)) && endswith(p.inside_cidr, "/29") && startswith(p.inside_cidr, "169.254.") && can(cidrhost("${p.transit_gateway_address}/32", 0))])
    error_message = "Every connect_peers entry needs an inside_cidr that is a /29 inside 169.254.0.0/16 and an IPv4 transit_gateway_address."
  }

  validation {
    # AWS reserves these inside CIDRs for its own use.
    condition = length(setintersection(toset([for p in var.connect_peers : p.inside_cidr]), toset([
      "169.254.0.0/29", "169.254.1.0/29", "169.254.2.0/29", "169.254.3.0/29", "169.254.4.0/29", "169.254.5.0/29", "169.254.169.248/29",
    ]))) == 0
    error_message = "connect_peers inside_cidr must not be 169.254.0.0/29-169.254.5.0/29 or 169.254.169.248/29 (reserved by AWS)."
  }
}

variable "connect_address" {
  description = "The vpn instance's GRE outer address for the `connect` transport (contract `pods.<pod>.connect_address`): a fixed address in `subnets.internal`, reserved like the other fixed addresses. Null for vpn."
  type        = string
  default     = null

  validation {
    condition     = var.transport.type == "connect" ? can(cidrhost("${var.connect_address}/32", 0)) : var.connect_address == null
    error_message = "connect_address (an IPv4 address in the internal subnet) is required for the connect transport and must be null for vpn."
  }

  validation {
    condition = var.connect_address == null || try(
      cidrhost("${var.connect_address}/${split("/", var.subnets.internal.cidr)[1]}", 0) == cidrhost(var.subnets.internal.cidr, 0), false
    )
    error_message = "connect_address must be inside subnets.internal (the vpn's GRE ENI is placed there)."
  }
}

variable "transit_gateway_core_attachment_id" {
  description = "The core VPC's TGW attachment: the transport of the pod's Connect attachment. Required for the `connect` transport."
  type        = string
  default     = null

  validation {
    condition     = var.transport.type == "vpn" || var.transit_gateway_core_attachment_id != null
    error_message = "transit_gateway_core_attachment_id is required for the connect transport."
  }
}

variable "tunnel_options" {
  description = <<-EOT
    IKE/IPsec proposals the AWS side accepts (AWS names). Defaults allow only IKEv2, AES256-GCM, SHA2-384/512 and
    DH groups 20/21 (ECP-384/521). The one source of truth: the VPN connection's tunnels get these lists, and the
    vpn's strongSwan proposals, IKE version, rekey times and DPD timeout are rendered from the same lists.
  EOT
  type = object({
    ike_versions                 = optional(list(string), ["ikev2"])
    phase1_encryption_algorithms = optional(list(string), ["AES256-GCM-16"])
    phase1_integrity_algorithms  = optional(list(string), ["SHA2-384", "SHA2-512"])
    phase1_dh_group_numbers      = optional(list(number), [20, 21])
    phase1_lifetime_seconds      = optional(number, 28800)
    phase2_encryption_algorithms = optional(list(string), ["AES256-GCM-16"])
    phase2_integrity_algorithms  = optional(list(string), ["SHA2-384", "SHA2-512"])
    phase2_dh_group_numbers      = optional(list(number), [20, 21])
    phase2_lifetime_seconds      = optional(number, 3600)
    dpd_timeout_seconds          = optional(number, 30)
  })
  default = {}

  validation {
    condition     = length(var.tunnel_options.ike_versions) > 0 && alltrue([for v in var.tunnel_options.ike_versions : v == "ikev2"])
    error_message = "Only IKEv2 (ike_versions = [\"ikev2\"]) is allowed."
  }

  validation {
    condition = alltrue([for k in ["phase1_encryption_algorithms", "phase1_integrity_algorithms", "phase1_dh_group_numbers", "phase2_encryption_algorithms", "phase2_integrity_algorithms"] :
      length(var.tunnel_options[k]) > 0
    ])
    error_message = "Every phase 1 list and the phase 2 encryption and integrity lists need at least one entry."
  }

  validation {
    condition = alltrue([
      for a in concat(var.tunnel_options.phase1_encryption_algorithms, var.tunnel_options.phase2_encryption_algorithms) :
      a == "AES256-GCM-16"
    ])
    error_message = "Only AES256-GCM-16 encryption is allowed."
  }

  validation {
    condition = alltrue([
      for a in concat(var.tunnel_options.phase1_integrity_algorithms, var.tunnel_options.phase2_integrity_algorithms) :
      contains(["SHA2-384", "SHA2-512"], a)
    ])
    error_message = "Only SHA2-384 and SHA2-512 integrity are allowed."
  }

  validation {
    condition = alltrue([
      for g in concat(var.tunnel_options.phase1_dh_group_numbers, var.tunnel_options.phase2_dh_group_numbers) :
      contains([20, 21], g)
    ])
    error_message = "Only DH groups 20 and 21 (ECP-384, ECP-521) are allowed."
  }
}

variable "enable_tunnel_logs" {
  description = "Send both tunnels' IKE/IPsec logs to the pod's CloudWatch log group."
  type        = bool
  default     = true
}

variable "create_transit_gateway_routing" {
  description = "Associate the pod's TGW attachment (VPN or Connect) with `core` and (see `enable_workloads_propagation`) propagate it into `workloads` here. Set false when the transit-gateway module's `vpn_attachments` does it instead: exactly one of the two may."
  type        = bool
  default     = true
}

variable "transit_gateway_core_route_table_id" {
  description = "ID of the TGW route table `core`: the pod's VPN or Connect attachment is associated with it (replies reach workloads through it). Required when `create_transit_gateway_routing`."
  type        = string
  default     = null
}

variable "transit_gateway_workloads_route_table_id" {
  description = "ID of the TGW route table `workloads`: the pod's VPN or Connect attachment propagates its BGP default route into it. Required when `create_transit_gateway_routing`."
  type        = string
  default     = null
}

variable "enable_workloads_propagation" {
  description = "Propagate the pod's attachment (VPN or Connect) into `workloads` (joins the ECMP set). Set false to drain the pod, for blue/green of a whole core, or between transports."
  type        = bool
  default     = true
}

################################################################################
# What the appliances enforce
################################################################################

variable "workload_supernet" {
  description = "The pool workload CIDRs come from (contract `workload_supernet`). Workload CIDRs pinned outside it (brownfield, in `workloads`) are carried too: fw routes, nftables, security groups and the BGP in-filter take the supernet plus each of them (output `workload_cidrs`)."
  type        = string

  validation {
    condition     = can(cidrhost(var.workload_supernet, 0))
    error_message = "workload_supernet must be an IPv4 CIDR."
  }
}

variable "workloads" {
  description = "Every workload (contract `workloads`; extra attributes are ignored): its CIDR, per-pod QoS rate and whether it may reach the internet."
  type = map(object({
    cidr             = string
    qos_mbps_per_pod = number
    internet_egress  = optional(bool, false)
  }))
  default = {}
}

variable "flows" {
  description = "The approved flows (contract `flows`); everything else is denied by the fw."
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

variable "health_probes" {
  description = <<-EOT
    What the pod-health Lambda (source: the bridge subnet) probes through the fw, so the fw can allow exactly that:
    TCP `internet_ports` to the internet and the `workload_targets` (host/port) through the TGW. Anything else
    from the bridge subnet is dropped, which the Lambda's denied probe verifies. Keep it equal to pod-health's
    `workload_probes`.
  EOT
  type = object({
    internet_ports = optional(list(number), [443])
    workload_targets = optional(list(object({
      host = string
      port = number
    })), [])
  })
  default = {}
}

################################################################################
# Instances
################################################################################

variable "vpn_instance_type" {
  description = "Instance type of the vpn instance (2 ENIs)."
  type        = string
  default     = "c6in.large"
}

variable "fw_instance_type" {
  description = "Instance type of the fw instance. It needs 4 ENIs (management, bridge, internal, public): c6in.large allows only 3, so the default is c6in.xlarge."
  type        = string
  default     = "c6in.xlarge"
}

variable "ami_id" {
  description = "AMI of both instances. Null: the latest AMI named by `ami_ssm_parameter`."
  type        = string
  default     = null
}

variable "ami_ssm_parameter" {
  description = "Public SSM parameter holding the AMI ID when `ami_id` is null. Default: Debian 12 (bookworm), whose archive has strongSwan, FRR and nftables."
  type        = string
  default     = "/aws/service/debian/release/bookworm/latest/amd64"
}

variable "root_volume_size" {
  description = "Root volume size in GiB (gp3, encrypted with `kms_key_arn`)."
  type        = number
  default     = 20
}

variable "enable_detailed_monitoring" {
  description = "One-minute EC2 metrics (the observability alarms evaluate 1-minute periods)."
  type        = bool
  default     = true
}

variable "user_data_replace_on_change" {
  description = "Replace an instance when its rendered user_data changes (immutable pods). False: the provider stops, updates and starts it. Roll pods one at a time either way."
  type        = bool
  default     = false
}

variable "vpn_user_data_template" {
  description = "Path of the vpn cloud-init template. Null: the module's templates/vpn.yaml.tftpl."
  type        = string
  default     = null
}

variable "fw_user_data_template" {
  description = "Path of the fw cloud-init template. Null: the module's templates/fw.yaml.tftpl."
  type        = string
  default     = null
}

variable "management_egress_cidrs" {
  description = "Where the fw management ENI may open TCP/80 and TCP/443 (bootstrap and licensing; the management NAT's proxy allow-list is the real control)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

################################################################################
# Encryption, logs and health
################################################################################

variable "kms_key_arn" {
  description = "KMS key for the root volumes, the PSK SecureStrings and the log group. Its policy must allow EBS (via the EC2 service) and CloudWatch Logs (see README)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the pod's log group (a bank keeps at least a year)."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention value of at least 365."
  }
}

variable "health_poll_seconds" {
  description = "How often the vpn's health agent reads the pod's health parameter."
  type        = number
  default     = 10
}

variable "fast_check_interval_seconds" {
  description = "How often the vpn's health agent checks its fw itself (ICMP to the fw bridge address, TCP through the fw to `health_probes.workload_targets`). With `fast_check_failures` it bounds how long a broken fw keeps its share of the flows (default: withdrawn within ~6 s)."
  type        = number
  default     = 2

  validation {
    condition     = var.fast_check_interval_seconds >= 1
    error_message = "fast_check_interval_seconds must be at least 1."
  }
}

variable "fast_check_failures" {
  description = "Consecutive failed local checks before the agent withdraws the pod (and passes before it may rejoin, with the Lambda's record healthy too)."
  type        = number
  default     = 2

  validation {
    condition     = var.fast_check_failures >= 1 && floor(var.fast_check_failures) == var.fast_check_failures
    error_message = "fast_check_failures must be a whole number, at least 1."
  }
}

variable "metric_namespace" {
  description = "The only CloudWatch namespace the instance roles may write metrics into."
  type        = string
  default     = "microseg/pods"
}
