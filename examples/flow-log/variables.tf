variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the VPC (the log group is /aws/vpc-flow-logs/<name>)."
  type        = string
  default     = "flow-log-example"
}

variable "cidr" {
  description = "CIDR of the example VPC."
  type        = string
  default     = "10.99.0.0/24"
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = { managed-by = "microseg" }
}
