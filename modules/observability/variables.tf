variable "name" {
  description = "Deployment prefix (the contract's `name`): used in alarm, topic and dashboard names."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.name))
    error_message = "name must match ^[a-z][a-z0-9-]{0,30}$."
  }
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "KMS key of the SNS topic and the log groups. Its policy must let CloudWatch Logs and CloudWatch alarms (publishing to the topic) use it (see README)."
  type        = string
}

################################################################################
# Alarm delivery
################################################################################

variable "create_sns_topic" {
  description = "Create the KMS-encrypted SNS topic every alarm notifies."
  type        = bool
  default     = true
}

variable "sns_subscriptions" {
  description = "Subscriptions of the alarm topic, e.g. `{ oncall = { protocol = \"https\", endpoint = \"https://...\" } }`."
  type = map(object({
    protocol = string
    endpoint = string
  }))
  default = {}
}

variable "alarm_actions" {
  description = "Extra ARNs notified by every alarm (besides the module's topic)."
  type        = list(string)
  default     = []
}

################################################################################
# What is watched
################################################################################

variable "vpn_connections" {
  description = "The pods' VPN connections keyed by pod: the connection ID and both tunnels' outside (AWS endpoint) addresses, alarmed on AWS/VPN TunnelState."
  type = map(object({
    vpn_connection_id  = string
    tunnel_outside_ips = list(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for v in values(var.vpn_connections) : length(v.tunnel_outside_ips) == 2])
    error_message = "Each VPN connection has exactly two tunnel_outside_ips."
  }
}

variable "instances" {
  description = "EC2 instances to alarm on (status check, CPU, network), keyed e.g. `pod-01-vpn`; `network_alarm_mbps` overrides `instance_network_alarm_mbps`."
  type = map(object({
    instance_id        = string
    network_alarm_mbps = optional(number)
  }))
  default = {}
}

variable "transit_gateway_id" {
  description = "ID of the transit gateway whose attachments are watched (AWS/TransitGateway dimension `TransitGateway`)."
  type        = string
  default     = null
}

variable "enable_tgw_alarms" {
  description = "Whether to watch `transit_gateway_attachments` of `transit_gateway_id` (BytesIn/BytesOut alarms, dashboard widgets). A static boolean so it holds when the TGW is created in the same apply."
  type        = bool
  default     = true
}

variable "transit_gateway_attachments" {
  description = "TGW attachments keyed by a readable name (workload name, `core`, `pod-01`...): BytesIn/BytesOut alarms and per-workload bytes on the dashboard for chargeback. `alarm_mbps` null: dashboard only."
  type = map(object({
    attachment_id = string
    alarm_mbps    = optional(number)
  }))
  default = {}
}

variable "pods" {
  description = "Pod names whose `Healthy` metric (written by pod-health) is shown on the dashboard and summed for the fleet-capacity alarm."
  type        = list(string)
  default     = []
}

variable "required_pods" {
  description = "Pods needed for the promised bandwidth (report.json `pods.required`): the fleet alarm fires when fewer are healthy. 0 disables it."
  type        = number
  default     = 0
}

variable "pod_metric_namespace" {
  description = "Namespace of the pod health metrics."
  type        = string
  default     = "microseg/pods"
}

variable "health_check_function_names" {
  description = "Health-check Lambda function names (pod-health output), shown on the dashboard."
  type        = map(string)
  default     = {}
}

################################################################################
# Thresholds
################################################################################

variable "tunnel_alarm_period" {
  description = "Period (s) of the TunnelState alarms; AWS/VPN publishes on a coarse interval, so keep it at 300 unless the account gets 1-minute VPN metrics."
  type        = number
  default     = 300
}

variable "tunnel_alarm_evaluation_periods" {
  description = "Periods a tunnel must be down before its alarm fires."
  type        = number
  default     = 2
}

variable "cpu_alarm_percent" {
  description = "Average CPUUtilization above which an instance alarms (5 one-minute periods)."
  type        = number
  default     = 80
}

variable "instance_network_alarm_mbps" {
  description = "NetworkIn/NetworkOut (per minute, as Mbps) above which an instance alarms: plan it at ~80% of the pod capacity."
  type        = number
  default     = 800
}

variable "evaluation_periods" {
  description = "One-minute periods of the EC2 and TGW alarms."
  type        = number
  default     = 5
}

################################################################################
# Log groups
################################################################################

variable "log_groups" {
  description = "Extra log groups to create with KMS and retention, keyed by name (e.g. `/microseg/flow-logs`)."
  type = map(object({
    retention_in_days = optional(number)
  }))
  default = {}
}

variable "log_retention_days" {
  description = "Default retention of `log_groups` (a bank keeps at least a year)."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention value of at least 365."
  }
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard."
  type        = bool
  default     = true
}
