# Renders the pod's user_data templates exactly as modules/pod does (same templatefile() calls,
# same template data), for every pod at once, so the appliance checks and the lab run the real output.

variable "pods" {
  description = "Template data per pod key, as documented in modules/pod/TEMPLATE_DATA.md (without health_agent_py and fw_audit_py)."
  type        = any
}

locals {
  templates = "${path.module}/../../../modules/pod/templates"
  agent     = file("${path.module}/../../../modules/pod/agent/health_agent.py")
  audit     = file("${path.module}/../../../modules/pod/agent/fw_audit.py")
  data      = { for k, v in var.pods : k => merge(v, { health_agent_py = local.agent, fw_audit_py = local.audit }) }
}

output "vpn" {
  description = "Rendered vpn user_data per pod."
  value       = { for k, v in local.data : k => templatefile("${local.templates}/vpn.yaml.tftpl", merge(v, { role = "vpn" })) }
}

output "fw" {
  description = "Rendered fw user_data per pod."
  value       = { for k, v in local.data : k => templatefile("${local.templates}/fw.yaml.tftpl", merge(v, { role = "fw" })) }
}
