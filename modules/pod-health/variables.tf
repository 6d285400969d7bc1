variable "name" {
  description = "Deployment prefix (the contract's `name`): used in function, role and alarm names."
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

variable "vpc_id" {
  description = "ID of the core VPC (the functions' security groups live in it)."
  type        = string
}

variable "pods" {
  description = <<-EOT
    One health-check function per pod, keyed by pod name: `bridge_subnet_id` (the function's ENI goes there, so its
    probes cross that pod's fw), `health_parameter_name` (pod module output) and optionally `expected_public_ip`
    (the fw EIP: the internet probe then also proves SNAT to it).
  EOT
  type = map(object({
    bridge_subnet_id      = string
    health_parameter_name = string
    expected_public_ip    = optional(string)
  }))

  validation {
    condition     = alltrue([for p in values(var.pods) : startswith(p.health_parameter_name, "/")])
    error_message = "Every health_parameter_name must be a full path starting with /."
  }
}

variable "lambda_zip_path" {
  description = "Path of the function package built by `scripts/build_lambda.py` (default output build/pod-health.zip)."
  type        = string
}

variable "runtime" {
  description = "Lambda Python runtime."
  type        = string
  default     = "python3.12"
}

variable "internet_url" {
  description = "HTTPS URL the internet probe GETs through the fw. The default answers with the caller's public address, which is compared with `expected_public_ip`."
  type        = string
  default     = "https://checkip.amazonaws.com/"

  validation {
    condition     = startswith(var.internet_url, "https://")
    error_message = "internet_url must be an https:// URL."
  }
}

variable "workload_probes" {
  description = "One TCP target per workload (IPv4 host and port) reached through the fw and the TGW; a connect or a refusal proves the path."
  type = map(object({
    host = string
    port = number
  }))
  default = {}

  validation {
    condition     = alltrue([for t in values(var.workload_probes) : can(cidrhost("${t.host}/32", 0)) && t.port >= 1 && t.port <= 65535])
    error_message = "workload_probes hosts must be IPv4 addresses and ports 1-65535."
  }
}

variable "denied_probe" {
  description = "A TCP target the fw policy must drop (the probe must time out). It should answer if allowed: the default is plain HTTP to the internet URL's host, which the fw does not allow from the bridge subnet. Null disables the check."
  type = object({
    host = string
    port = number
  })
  default = { host = "checkip.amazonaws.com", port = 80 }
}

variable "probe_timeout_seconds" {
  description = "Timeout of each probe."
  type        = number
  default     = 3
}

variable "healthy_threshold" {
  description = "Consecutive passing runs before an unhealthy pod becomes healthy."
  type        = number
  default     = 2
}

variable "unhealthy_threshold" {
  description = "Consecutive failing runs before a healthy pod becomes unhealthy."
  type        = number
  default     = 2
}

variable "withdraw_on_shared_failure" {
  description = "Also withdraw a pod when a shared dependency fails its probe (the internet probe, or DNS of the denied probe). Default false: such a failure hits every pod at once, so it raises the `shared-dependency` alarm and east-west traffic keeps flowing; only the pod's own faults withdraw it."
  type        = bool
  default     = false
}

variable "stale_record_minutes" {
  description = "Minutes without a written health record (metric `RecordWritten`) before a pod's `health-record-stale` alarm fires."
  type        = number
  default     = 3

  validation {
    condition     = var.stale_record_minutes >= 1 && floor(var.stale_record_minutes) == var.stale_record_minutes
    error_message = "stale_record_minutes must be a whole number of minutes, at least 1."
  }
}

variable "schedule_expression" {
  description = "EventBridge schedule of the checks."
  type        = string
  default     = "rate(1 minute)"
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the `Healthy`, `ProbesPassed`, `ProbeFailures`, `PodFaults`, `SharedDependencyFailures` (also without dimension) and `RecordWritten` metrics (dimension `Pod`)."
  type        = string
  default     = "microseg/pods"
}

variable "kms_key_arn" {
  description = "KMS key encrypting the functions' environment and log groups (its policy must allow CloudWatch Logs, see README)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups (a bank keeps at least a year)."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention value of at least 365."
  }
}

variable "enable_tracing" {
  description = "Active X-Ray tracing of the functions."
  type        = bool
  default     = true
}

variable "create_alarms" {
  description = "Create per pod an `unhealthy` alarm (Healthy < 1, missing data breaching), a function-errors alarm and a `health-record-stale` alarm, and one fleet-wide `shared-dependency` alarm."
  type        = bool
  default     = true
}

variable "alarm_evaluation_periods" {
  description = "One-minute periods a pod must be unhealthy before its alarm fires."
  type        = number
  default     = 3
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires (e.g. the observability module's SNS topic)."
  type        = list(string)
  default     = []
}

variable "ok_actions" {
  description = "ARNs notified when an alarm clears."
  type        = list(string)
  default     = []
}
