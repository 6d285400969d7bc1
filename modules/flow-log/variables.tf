variable "create" {
  description = "Whether to create the flow log and everything it needs (false: nothing is created)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the VPC: the log group is `/aws/vpc-flow-logs/<name>`, and the prefix of every Name tag."
  type        = string

  validation {
    condition     = length(var.name) > 0 && length(var.name) <= 200
    error_message = "name must be 1-200 characters (it becomes part of the log group name)."
  }
}

variable "vpc_id" {
  description = "ID of the VPC whose traffic (ALL: accepted and rejected) is logged."
  type        = string
}

variable "create_kms_key" {
  description = "Whether to create the log group's KMS key (its policy lets only this log group use it). Set false and pass `kms_key_arn` to use a key of your own."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for the log group, used when `create_kms_key` is false."
  type        = string
  default     = null
}

variable "retention_in_days" {
  description = "Retention of the log group in days."
  type        = number
  default     = 365
}

variable "max_aggregation_interval" {
  description = "Aggregation interval in seconds (60 or 600)."
  type        = number
  default     = 60

  validation {
    condition     = contains([60, 600], var.max_aggregation_interval)
    error_message = "max_aggregation_interval must be 60 or 600."
  }
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = {}
}
