variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the workload."
  type        = string
  default     = "payments"
}

variable "cidr" {
  description = "CIDR of the workload VPC."
  type        = string
  default     = "10.64.0.0/20"
}

variable "subnets" {
  description = "Per-AZ workload and /28 attachment subnets."
  type = map(object({
    workload   = string
    attachment = string
  }))
  default = {
    "us-east-1a" = { workload = "10.64.0.0/22", attachment = "10.64.15.0/28" }
    "us-east-1b" = { workload = "10.64.4.0/22", attachment = "10.64.15.16/28" }
    "us-east-1c" = { workload = "10.64.8.0/22", attachment = "10.64.15.32/28" }
  }
}

variable "ingress_rules" {
  description = "Approved inbound flows."
  type = list(object({
    protocol    = string
    from_port   = number
    to_port     = number
    cidr        = string
    description = optional(string, "")
  }))
  default = [
    { protocol = "tcp", from_port = 443, to_port = 443, cidr = "10.65.0.0/20", description = "CHG-1234 orders->payments" },
    { protocol = "icmp", from_port = -1, to_port = -1, cidr = "10.0.0.0/20", description = "CHG-1300 pod health checks" },
  ]
}

variable "tags" {
  description = "Tags merged into every resource."
  type        = map(string)
  default     = { "managed-by" = "microseg" }
}
