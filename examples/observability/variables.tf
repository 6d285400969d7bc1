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

# The watched resources are given by ID: alarms and dashboards only name them as metric dimensions,
# so this example stands alone. examples/complete passes the real IDs from the other modules.
variable "vpn_connections" {
  description = "The pods' VPN connections and tunnel outside addresses (pod module outputs)."
  type = map(object({
    vpn_connection_id  = string
    tunnel_outside_ips = list(string)
  }))
  default = {
    "pod-01" = { vpn_connection_id = "vpn-0123456789abcdef0", tunnel_outside_ips = ["203.0.113.10", "203.0.113.11"] }
    "pod-02" = { vpn_connection_id = "vpn-0123456789abcdef1", tunnel_outside_ips = ["203.0.113.20", "203.0.113.21"] }
  }
}

variable "instances" {
  description = "Instances to alarm on (pod module `instance_ids`)."
  type = map(object({
    instance_id        = string
    network_alarm_mbps = optional(number)
  }))
  default = {
    "pod-01-vpn" = { instance_id = "i-0123456789abcdef0" }
    "pod-01-fw"  = { instance_id = "i-0123456789abcdef1" }
    "pod-02-vpn" = { instance_id = "i-0123456789abcdef2" }
    "pod-02-fw"  = { instance_id = "i-0123456789abcdef3", network_alarm_mbps = 600 }
  }
}

variable "transit_gateway_id" {
  description = "The Transit Gateway (transit-gateway module `id`)."
  type        = string
  default     = "tgw-0123456789abcdef0"
}

variable "transit_gateway_attachments" {
  description = "Attachments: workloads for chargeback (dashboard only) and the pods' VPN attachments (alarmed)."
  type = map(object({
    attachment_id = string
    alarm_mbps    = optional(number)
  }))
  default = {
    payments = { attachment_id = "tgw-attach-0123456789abcdef0" }
    orders   = { attachment_id = "tgw-attach-0123456789abcdef1" }
    "pod-01" = { attachment_id = "tgw-attach-0123456789abcdef2", alarm_mbps = 2000 }
    "pod-02" = { attachment_id = "tgw-attach-0123456789abcdef3", alarm_mbps = 2000 }
  }
}

variable "pods" {
  description = "Pod names (health metric)."
  type        = list(string)
  default     = ["pod-01", "pod-02"]
}

variable "required_pods" {
  description = "Pods needed for the promised bandwidth (report.json `pods.required`)."
  type        = number
  default     = 1
}

variable "log_groups" {
  description = "Extra log groups."
  type = map(object({
    retention_in_days = optional(number)
  }))
  default = {
    "/microseg/appliances" = {}
  }
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
