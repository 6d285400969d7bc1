data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_ssm_parameter" "ami" {
  count = var.ami_id == null ? 1 : 0

  name = var.ami_ssm_parameter
}

# Read the ENI limits so a too-small instance type fails at plan time, not at attach time.
data "aws_ec2_instance_type" "this" {
  for_each = { vpn = var.vpn_instance_type, fw = var.fw_instance_type }

  instance_type = each.value
}

locals {
  prefix    = "${var.name}-${var.pod_name}"
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region
  account   = data.aws_caller_identity.current.account_id
  ami_id    = var.ami_id != null ? var.ami_id : data.aws_ssm_parameter.ami[0].insecure_value

  tags = merge(var.tags, { "microseg:pod" = var.pod_name })

  parameter_prefix = "/${var.name}/pods/${var.pod_name}"
  # vpn: an IPsec VPN connection (EIP, customer gateway, two tunnels). connect: a TGW Connect
  # attachment over the core VPC attachment, GRE + eBGP from the vpn's internal ENI (no EIP, no IPsec).
  vpn_transport = var.transport.type == "vpn"
  tunnels       = local.vpn_transport ? ["tunnel1", "tunnel2"] : []
  psk_parameter_names = {
    for t in local.tunnels : t => "${local.parameter_prefix}/${t}/psk"
  }
  health_parameter_name = "${local.parameter_prefix}/health"
  log_group_name        = "/${var.name}/pods/${var.pod_name}"

  # Fixed host numbers of the contract ("Fixed host numbers" in docs/tfvars-contract.md).
  bridge = {
    cidr          = var.subnets.bridge.cidr
    prefix_length = tonumber(split("/", var.subnets.bridge.cidr)[1])
    gateway       = cidrhost(var.subnets.bridge.cidr, 1)
    fw_ip         = cidrhost(var.subnets.bridge.cidr, 4)
    vpn_ip        = cidrhost(var.subnets.bridge.cidr, 5)
  }
  fw_internal_ip = cidrhost(var.subnets.internal.cidr, 10 + var.pod_index)

  # Every ENI of the pod. Only the bridge ENIs forward traffic that is not their own
  # (the fw SNATs whatever leaves internal/public), so only they turn source_dest_check off.
  # With Connect the vpn's primary ENI is in the internal subnet at the fixed GRE address instead.
  enis = merge(local.vpn_transport ? {
    vpn-public = { instance = "vpn", role = "public", subnet = "public", device_index = 0, ip = null, source_dest_check = true }
    } : {
    vpn-internal = { instance = "vpn", role = "internal", subnet = "internal", device_index = 0, ip = var.connect_address, source_dest_check = true }
    }, {
    vpn-bridge    = { instance = "vpn", role = "bridge", subnet = "bridge", device_index = 1, ip = local.bridge.vpn_ip, source_dest_check = false }
    fw-management = { instance = "fw", role = "management", subnet = "management", device_index = 0, ip = null, source_dest_check = true }
    fw-bridge     = { instance = "fw", role = "bridge", subnet = "bridge", device_index = 1, ip = local.bridge.fw_ip, source_dest_check = false }
    fw-internal   = { instance = "fw", role = "internal", subnet = "internal", device_index = 2, ip = local.fw_internal_ip, source_dest_check = true }
    fw-public     = { instance = "fw", role = "public", subnet = "public", device_index = 3, ip = null, source_dest_check = true }
  })
  vpn_primary_eni = local.vpn_transport ? "vpn-public" : "vpn-internal"
  eni_count       = { for i in ["vpn", "fw"] : i => length([for e in values(local.enis) : e if e.instance == i]) }

  # Every workload address the pod carries: the supernet and every workload CIDR pinned outside it
  # (brownfield). The fw routes, nftables sets, security groups and the BGP in-filter all take this list.
  supernet_prefix = tonumber(split("/", var.workload_supernet)[1])
  workload_cidrs = concat([var.workload_supernet], sort(distinct([
    for w in values(var.workloads) : w.cidr
    if tonumber(split("/", w.cidr)[1]) < local.supernet_prefix ||
    cidrsubnet("${cidrhost(w.cidr, 0)}/${local.supernet_prefix}", 0, 0) != cidrsubnet(var.workload_supernet, 0, 0)
  ])))

  tunnel_outside_ips = local.vpn_transport ? {
    tunnel1 = aws_vpn_connection.this[0].tunnel1_address
    tunnel2 = aws_vpn_connection.this[0].tunnel2_address
  } : {}
  # distinct(): both tunnels never share an endpoint on AWS, but an emulator may return one
  # address twice, and a duplicate CIDR in one rule is rejected.
  tunnel_peer_cidrs = distinct([for t in local.tunnels : "${local.tunnel_outside_ips[t]}/32"])

  # Connect peers: in each inside /29 AWS gives the peer (us) the first host and the TGW the second
  # and third, two BGP sessions per peer (AWS TGW Connect peer documentation).
  connect_peers = [
    for n, p in var.connect_peers : {
      number               = n + 1
      inside_cidr          = p.inside_cidr
      inside_prefix_length = 29
      local_inside_ip      = cidrhost(p.inside_cidr, 1)
      peer_inside_ips      = [cidrhost(p.inside_cidr, 2), cidrhost(p.inside_cidr, 3)]
      outside_ip           = p.transit_gateway_address
    }
  ]

  transit_gateway_attachment_id = local.vpn_transport ? aws_vpn_connection.this[0].transit_gateway_attachment_id : aws_ec2_transit_gateway_connect.this[0].id
}

################################################################################
# Logs and parameters
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = merge(local.tags, { Name = local.prefix })
}

# The tunnel PSKs are generated by AWS (no PSK in the configuration, the `random` provider is not
# used) and copied into SecureStrings encrypted with the pod's KMS key, which only this pod's vpn
# role may decrypt. They are never module outputs. They do live in the Terraform state (as
# sensitive attributes of the VPN connection): keep the state encrypted and access-controlled.
resource "aws_ssm_parameter" "psk" {
  for_each = local.psk_parameter_names

  name        = each.value
  description = "IPsec pre-shared key of ${local.prefix} ${each.key} (read by the vpn instance at boot)"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = each.key == "tunnel1" ? aws_vpn_connection.this[0].tunnel1_preshared_key : aws_vpn_connection.this[0].tunnel2_preshared_key

  tags = merge(local.tags, { Name = "${local.prefix}-${each.key}-psk" })
}

# Written by the pod-health Lambda, read by the vpn's health agent. Starts unhealthy so a new pod
# joins ECMP only once it has been proven.
resource "aws_ssm_parameter" "health" {
  #checkov:skip=CKV2_AWS_34:Health state (healthy/unhealthy + probe results) is not secret; a String lets the Lambda write it without KMS grants.
  name        = local.health_parameter_name
  description = "Health of ${local.prefix}: JSON with status healthy|unhealthy (written by pod-health)"
  type        = "String"
  value       = jsonencode({ status = "unhealthy", reason = "not checked yet" })

  tags = merge(local.tags, { Name = "${local.prefix}-health" })

  lifecycle {
    ignore_changes = [value, insecure_value]
  }
}

################################################################################
# Public addresses, customer gateway and VPN connection
################################################################################

resource "aws_eip" "this" {
  #checkov:skip=CKV2_AWS_19:Associated with the instance's ENI by aws_eip_association (the EIP must exist before the ENI's security group, which needs the VPN endpoints).
  # The vpn needs a public address only as the IPsec customer gateway.
  for_each = toset(local.vpn_transport ? ["vpn", "fw"] : ["fw"])

  domain = "vpc"

  tags = merge(local.tags, { Name = "${local.prefix}-${each.key}" })
}

resource "aws_customer_gateway" "this" {
  count = local.vpn_transport ? 1 : 0

  # The API's BgpAsn is a signed 32-bit integer; 4-byte private ASNs go in BgpAsnExtended.
  bgp_asn          = var.pods_asn <= 2147483647 ? tostring(var.pods_asn) : null
  bgp_asn_extended = var.pods_asn > 2147483647 ? tostring(var.pods_asn) : null
  ip_address       = aws_eip.this["vpn"].public_ip
  type             = "ipsec.1"

  tags = merge(local.tags, { Name = local.prefix })
}

resource "aws_vpn_connection" "this" {
  count = local.vpn_transport ? 1 : 0

  customer_gateway_id = aws_customer_gateway.this[0].id
  transit_gateway_id  = var.transit_gateway_id
  type                = "ipsec.1"
  static_routes_only  = false
  # Large (5 Gbps) tunnels: TGW attachments only, one setting for both tunnels. Null: AWS's default (standard).
  tunnel_bandwidth = var.transport.tunnel_bandwidth

  tunnel1_inside_cidr                  = var.tunnel_inside_cidrs[0]
  tunnel1_ike_versions                 = var.tunnel_options.ike_versions
  tunnel1_phase1_encryption_algorithms = var.tunnel_options.phase1_encryption_algorithms
  tunnel1_phase1_integrity_algorithms  = var.tunnel_options.phase1_integrity_algorithms
  tunnel1_phase1_dh_group_numbers      = var.tunnel_options.phase1_dh_group_numbers
  tunnel1_phase1_lifetime_seconds      = var.tunnel_options.phase1_lifetime_seconds
  tunnel1_phase2_encryption_algorithms = var.tunnel_options.phase2_encryption_algorithms
  tunnel1_phase2_integrity_algorithms  = var.tunnel_options.phase2_integrity_algorithms
  tunnel1_phase2_dh_group_numbers      = var.tunnel_options.phase2_dh_group_numbers
  tunnel1_phase2_lifetime_seconds      = var.tunnel_options.phase2_lifetime_seconds
  tunnel1_dpd_timeout_seconds          = var.tunnel_options.dpd_timeout_seconds

  tunnel2_inside_cidr                  = var.tunnel_inside_cidrs[1]
  tunnel2_ike_versions                 = var.tunnel_options.ike_versions
  tunnel2_phase1_encryption_algorithms = var.tunnel_options.phase1_encryption_algorithms
  tunnel2_phase1_integrity_algorithms  = var.tunnel_options.phase1_integrity_algorithms
  tunnel2_phase1_dh_group_numbers      = var.tunnel_options.phase1_dh_group_numbers
  tunnel2_phase1_lifetime_seconds      = var.tunnel_options.phase1_lifetime_seconds
  tunnel2_phase2_encryption_algorithms = var.tunnel_options.phase2_encryption_algorithms
  tunnel2_phase2_integrity_algorithms  = var.tunnel_options.phase2_integrity_algorithms
  tunnel2_phase2_dh_group_numbers      = var.tunnel_options.phase2_dh_group_numbers
  tunnel2_phase2_lifetime_seconds      = var.tunnel_options.phase2_lifetime_seconds
  tunnel2_dpd_timeout_seconds          = var.tunnel_options.dpd_timeout_seconds

  dynamic "tunnel1_log_options" {
    for_each = var.enable_tunnel_logs ? [1] : []
    content {
      cloudwatch_log_options {
        log_enabled       = true
        log_group_arn     = aws_cloudwatch_log_group.this.arn
        log_output_format = "json"
      }
    }
  }

  dynamic "tunnel2_log_options" {
    for_each = var.enable_tunnel_logs ? [1] : []
    content {
      cloudwatch_log_options {
        log_enabled       = true
        log_group_arn     = aws_cloudwatch_log_group.this.arn
        log_output_format = "json"
      }
    }
  }

  tags = merge(local.tags, { Name = local.prefix })
}

moved {
  from = aws_customer_gateway.this
  to   = aws_customer_gateway.this[0]
}

moved {
  from = aws_vpn_connection.this
  to   = aws_vpn_connection.this[0]
}

################################################################################
# TGW Connect: GRE + eBGP over the core VPC attachment
################################################################################

resource "aws_ec2_transit_gateway_connect" "this" {
  count = local.vpn_transport ? 0 : 1

  transit_gateway_id      = var.transit_gateway_id
  transport_attachment_id = var.transit_gateway_core_attachment_id
  protocol                = "gre"
  # Wired on purpose below, like the VPN attachment (the TGW has no default route tables).
  transit_gateway_default_route_table_association = false
  transit_gateway_default_route_table_propagation = false

  tags = merge(local.tags, { Name = local.prefix })
}

resource "aws_ec2_transit_gateway_connect_peer" "this" {
  for_each = { for p in local.connect_peers : tostring(p.number) => p }

  transit_gateway_attachment_id = aws_ec2_transit_gateway_connect.this[0].id
  peer_address                  = var.connect_address
  transit_gateway_address       = each.value.outside_ip
  inside_cidr_blocks            = [each.value.inside_cidr]
  # Every pod peers with the same ASN: equal AS paths are what make ECMP work.
  bgp_asn = tostring(var.pods_asn)

  tags = merge(local.tags, { Name = "${local.prefix}-peer${each.key}" })
}

resource "aws_ec2_transit_gateway_route_table_association" "core" {
  count = var.create_transit_gateway_routing ? 1 : 0

  transit_gateway_attachment_id  = local.vpn_transport ? aws_vpn_connection.this[0].transit_gateway_attachment_id : aws_ec2_transit_gateway_connect.this[0].id
  transit_gateway_route_table_id = var.transit_gateway_core_route_table_id

  lifecycle {
    precondition {
      condition     = var.transit_gateway_core_route_table_id != null
      error_message = "transit_gateway_core_route_table_id is required when create_transit_gateway_routing is true."
    }
  }
}

resource "aws_ec2_transit_gateway_route_table_propagation" "workloads" {
  count = var.create_transit_gateway_routing && var.enable_workloads_propagation ? 1 : 0

  transit_gateway_attachment_id  = local.vpn_transport ? aws_vpn_connection.this[0].transit_gateway_attachment_id : aws_ec2_transit_gateway_connect.this[0].id
  transit_gateway_route_table_id = var.transit_gateway_workloads_route_table_id

  lifecycle {
    precondition {
      condition     = var.transit_gateway_workloads_route_table_id != null
      error_message = "transit_gateway_workloads_route_table_id is required when create_transit_gateway_routing and enable_workloads_propagation are true."
    }
  }
}

################################################################################
# Security groups: default deny, only the packet path
################################################################################

resource "aws_security_group" "vpn_public" {
  #checkov:skip=CKV2_AWS_5:Attached to its ENI by aws_network_interface.this (through local.eni_security_groups, which the checkov graph does not follow).
  count = local.vpn_transport ? 1 : 0

  name        = "${local.prefix}-vpn-public"
  description = "vpn public ENI: IKE and ESP with the two TGW tunnel endpoints only"
  vpc_id      = var.vpc_id

  ingress {
    description = "IKE from the TGW tunnel endpoints"
    protocol    = "udp"
    from_port   = 500
    to_port     = 500
    cidr_blocks = local.tunnel_peer_cidrs
  }
  ingress {
    description = "IKE NAT-T from the TGW tunnel endpoints"
    protocol    = "udp"
    from_port   = 4500
    to_port     = 4500
    cidr_blocks = local.tunnel_peer_cidrs
  }
  ingress {
    description = "ESP from the TGW tunnel endpoints"
    protocol    = "50"
    from_port   = 0
    to_port     = 0
    cidr_blocks = local.tunnel_peer_cidrs
  }
  egress {
    description = "IKE to the TGW tunnel endpoints"
    protocol    = "udp"
    from_port   = 500
    to_port     = 500
    cidr_blocks = local.tunnel_peer_cidrs
  }
  egress {
    description = "IKE NAT-T to the TGW tunnel endpoints"
    protocol    = "udp"
    from_port   = 4500
    to_port     = 4500
    cidr_blocks = local.tunnel_peer_cidrs
  }
  egress {
    description = "ESP to the TGW tunnel endpoints"
    protocol    = "50"
    from_port   = 0
    to_port     = 0
    cidr_blocks = local.tunnel_peer_cidrs
  }
  egress {
    description = "HTTPS to the interface endpoints (ssm, logs, monitoring) in the core VPC"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = [var.core_cidr]
  }

  tags = merge(local.tags, { Name = "${local.prefix}-vpn-public" })
}

moved {
  from = aws_security_group.vpn_public
  to   = aws_security_group.vpn_public[0]
}

# Connect: only GRE with the TGW's GRE addresses. The BGP sessions run inside the GRE tunnels
# (169.254.x inside addresses), so the security group never sees them: no TCP/179 rule is needed.
resource "aws_security_group" "vpn_internal" {
  #checkov:skip=CKV2_AWS_5:Attached to its ENI by aws_network_interface.this (through local.eni_security_groups, which the checkov graph does not follow).
  count = local.vpn_transport ? 0 : 1

  name        = "${local.prefix}-vpn-internal"
  description = "vpn internal ENI: GRE (TGW Connect, BGP inside) with the TGW CIDR block only"
  vpc_id      = var.vpc_id

  ingress {
    description = "GRE from the TGW Connect peers"
    protocol    = "47"
    from_port   = 0
    to_port     = 0
    cidr_blocks = [var.transport.transit_gateway_cidr_block]
  }
  egress {
    description = "GRE to the TGW Connect peers"
    protocol    = "47"
    from_port   = 0
    to_port     = 0
    cidr_blocks = [var.transport.transit_gateway_cidr_block]
  }
  egress {
    description = "HTTPS to the interface endpoints (ssm, logs, monitoring) in the core VPC"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = [var.core_cidr]
  }

  tags = merge(local.tags, { Name = "${local.prefix}-vpn-internal" })
}

resource "aws_security_group" "vpn_bridge" {
  #checkov:skip=CKV2_AWS_5:Attached to its ENI by aws_network_interface.this (through local.eni_security_groups, which the checkov graph does not follow).
  #checkov:skip=CKV_AWS_382:The vpn forwards decrypted workload traffic to any destination (workloads or internet) via the fw; the fw's nftables policy is the control.
  name        = "${local.prefix}-vpn-bridge"
  description = "vpn bridge ENI: forwards workload traffic to the fw; replies are tracked"
  vpc_id      = var.vpc_id

  egress {
    description = "Decrypted workload traffic to the fw (any destination, inspected there)"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(local.tags, { Name = "${local.prefix}-vpn-bridge" })
}

resource "aws_security_group" "fw_bridge" {
  #checkov:skip=CKV2_AWS_5:Attached to its ENI by aws_network_interface.this (through local.eni_security_groups, which the checkov graph does not follow).
  name        = "${local.prefix}-fw-bridge"
  description = "fw bridge ENI: workload traffic from the vpn and health probes from the bridge subnet"
  vpc_id      = var.vpc_id

  ingress {
    description = "Workload traffic handed over by the vpn (sources are workload addresses)"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = local.workload_cidrs
  }
  ingress {
    description = "Health-check probes from the bridge subnet"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = [var.subnets.bridge.cidr]
  }

  tags = merge(local.tags, { Name = "${local.prefix}-fw-bridge" })
}

resource "aws_security_group" "fw_internal" {
  #checkov:skip=CKV2_AWS_5:Attached to its ENI by aws_network_interface.this (through local.eni_security_groups, which the checkov graph does not follow).
  name        = "${local.prefix}-fw-internal"
  description = "fw internal ENI: east-west traffic (SNAT to the fw) to workloads, HTTPS to the interface endpoints"
  vpc_id      = var.vpc_id

  egress {
    description = "Inspected east-west traffic to workloads through the TGW"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = local.workload_cidrs
  }
  egress {
    description = "HTTPS to the interface endpoints (ssm, logs, monitoring) in the core VPC"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = [var.core_cidr]
  }

  tags = merge(local.tags, { Name = "${local.prefix}-fw-internal" })
}

resource "aws_security_group" "fw_public" {
  #checkov:skip=CKV2_AWS_5:Attached to its ENI by aws_network_interface.this (through local.eni_security_groups, which the checkov graph does not follow).
  #checkov:skip=CKV_AWS_382:North-south traffic leaves here after the fw's default-deny nftables policy allowed it (SNAT to the fw EIP); destinations are arbitrary internet hosts.
  name        = "${local.prefix}-fw-public"
  description = "fw public ENI: inspected north-south traffic (SNAT) to the internet"
  vpc_id      = var.vpc_id

  egress {
    description = "Inspected north-south traffic to the internet"
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(local.tags, { Name = "${local.prefix}-fw-public" })
}

resource "aws_security_group" "fw_management" {
  #checkov:skip=CKV2_AWS_5:Attached to its ENI by aws_network_interface.this (through local.eni_security_groups, which the checkov graph does not follow).
  name        = "${local.prefix}-fw-management"
  description = "fw management ENI: bootstrap/licensing through the management NAT, HTTPS to the interface endpoints"
  vpc_id      = var.vpc_id

  egress {
    description = "HTTPS: interface endpoints and bootstrap/licensing through the management NAT proxy"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = distinct(concat([var.core_cidr], var.management_egress_cidrs))
  }

  dynamic "egress" {
    for_each = length(var.management_egress_cidrs) > 0 ? [1] : []
    content {
      description = "HTTP: package mirrors through the management NAT proxy"
      protocol    = "tcp"
      from_port   = 80
      to_port     = 80
      cidr_blocks = var.management_egress_cidrs
    }
  }

  tags = merge(local.tags, { Name = "${local.prefix}-fw-management" })
}

locals {
  eni_security_groups = merge(local.vpn_transport ? {
    vpn-public = aws_security_group.vpn_public[0].id
    } : {
    vpn-internal = aws_security_group.vpn_internal[0].id
    }, {
    vpn-bridge    = aws_security_group.vpn_bridge.id
    fw-management = aws_security_group.fw_management.id
    fw-bridge     = aws_security_group.fw_bridge.id
    fw-internal   = aws_security_group.fw_internal.id
    fw-public     = aws_security_group.fw_public.id
  })
}

################################################################################
# Network interfaces
################################################################################

# The fixed addresses (bridge .4 fw / .5 vpn, the fw's internal address) as explicit CIDR
# reservations: AWS assigns no automatic address from them, so a Lambda or endpoint ENI created in
# the same subnet before (or while) a pod is replaced can never take them.
resource "aws_ec2_subnet_cidr_reservation" "this" {
  for_each = { for k, e in local.enis : k => e if e.ip != null }

  subnet_id        = var.subnets[each.value.subnet].id
  cidr_block       = "${each.value.ip}/32"
  reservation_type = "explicit"
  # No description: moto drops it (every re-plan would replace the reservation), and what it would
  # say is in the ENI's own description.
}

resource "aws_network_interface" "this" {
  for_each = local.enis

  description       = "${local.prefix} ${each.value.instance} ${each.value.role}"
  subnet_id         = var.subnets[each.value.subnet].id
  private_ips       = each.value.ip == null ? null : [each.value.ip]
  security_groups   = [local.eni_security_groups[each.key]]
  source_dest_check = each.value.source_dest_check

  tags = merge(local.tags, { Name = "${local.prefix}-${each.key}" })

  # The address is reserved first, so nothing else is given it in between.
  depends_on = [aws_ec2_subnet_cidr_reservation.this]
}

resource "aws_eip_association" "this" {
  for_each = aws_eip.this

  allocation_id        = each.value.id
  network_interface_id = aws_network_interface.this["${each.key}-public"].id
}

resource "aws_route" "bridge_default" {
  count = var.create_bridge_route ? 1 : 0

  route_table_id         = var.bridge_route_table_id
  destination_cidr_block = "0.0.0.0/0"
  network_interface_id   = aws_network_interface.this["fw-bridge"].id

  lifecycle {
    precondition {
      condition     = var.bridge_route_table_id != null
      error_message = "bridge_route_table_id is required when create_bridge_route is true."
    }
  }
}

################################################################################
# IAM: one role per instance, only this pod's resources
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "instance" {
  for_each = toset(["vpn", "fw"])

  # Session Manager (no SSH anywhere). ssmmessages has no resource-level permissions.
  statement {
    sid       = "SessionManagerRegistration"
    actions   = ["ssm:UpdateInstanceInformation"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account}:instance/*"]
  }
  statement {
    sid = "SessionManagerChannels"
    actions = [
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadOwnParameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = each.key == "vpn" ? concat([for p in aws_ssm_parameter.psk : p.arn], [aws_ssm_parameter.health.arn]) : [aws_ssm_parameter.health.arn]
  }

  dynamic "statement" {
    for_each = each.key == "vpn" && local.vpn_transport ? [1] : []
    content {
      sid       = "DecryptOwnPsks"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:PARAMETER_ARN"
        values   = [for p in aws_ssm_parameter.psk : p.arn]
      }
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [aws_cloudwatch_log_group.this.arn, "${aws_cloudwatch_log_group.this.arn}:log-stream:*"]
  }

  statement {
    sid       = "PutOwnMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = toset(["vpn", "fw"])

  name               = "${local.prefix}-${each.key}"
  description        = "${each.key} instance of ${local.prefix}"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = merge(local.tags, { Name = "${local.prefix}-${each.key}" })
}

resource "aws_iam_role_policy" "this" {
  for_each = toset(["vpn", "fw"])

  name   = "${local.prefix}-${each.key}"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.instance[each.key].json
}

resource "aws_iam_instance_profile" "this" {
  for_each = toset(["vpn", "fw"])

  name = "${local.prefix}-${each.key}"
  role = aws_iam_role.this[each.key].name

  tags = merge(local.tags, { Name = "${local.prefix}-${each.key}" })
}

################################################################################
# Instances
################################################################################

locals {
  interfaces = {
    for i in ["vpn", "fw"] : i => {
      for k, e in local.enis : e.role => {
        device_index  = e.device_index
        mac           = aws_network_interface.this[k].mac_address
        ip            = aws_network_interface.this[k].private_ip
        cidr          = var.subnets[e.subnet].cidr
        prefix_length = tonumber(split("/", var.subnets[e.subnet].cidr)[1])
        gateway       = cidrhost(var.subnets[e.subnet].cidr, 1)
      } if e.instance == i
    }
  }

  template_data = {
    name          = var.name
    region        = local.region
    pod           = var.pod_name
    pod_index     = var.pod_index
    az            = var.availability_zone
    asn           = { pods = var.pods_asn, transit_gateway = var.transit_gateway_asn }
    transport     = var.transport.type
    vpn_public_ip = local.vpn_transport ? aws_eip.this["vpn"].public_ip : null
    fw_public_ip  = aws_eip.this["fw"].public_ip
    tunnels = [
      for n, t in local.tunnels : {
        number               = n + 1
        inside_cidr          = var.tunnel_inside_cidrs[n]
        local_inside_ip      = cidrhost(var.tunnel_inside_cidrs[n], 2)
        peer_inside_ip       = cidrhost(var.tunnel_inside_cidrs[n], 1)
        inside_prefix_length = 30
        outside_ip           = local.tunnel_outside_ips[t]
        psk_parameter        = local.psk_parameter_names[t]
        ike_versions         = var.tunnel_options.ike_versions
        phase1 = {
          encryption = var.tunnel_options.phase1_encryption_algorithms
          integrity  = var.tunnel_options.phase1_integrity_algorithms
          dh_groups  = var.tunnel_options.phase1_dh_group_numbers
          lifetime   = var.tunnel_options.phase1_lifetime_seconds
        }
        phase2 = {
          encryption = var.tunnel_options.phase2_encryption_algorithms
          integrity  = var.tunnel_options.phase2_integrity_algorithms
          dh_groups  = var.tunnel_options.phase2_dh_group_numbers
          lifetime   = var.tunnel_options.phase2_lifetime_seconds
        }
        dpd_timeout_seconds = var.tunnel_options.dpd_timeout_seconds
      }
    ]
    connect = local.vpn_transport ? null : {
      address                    = var.connect_address
      transit_gateway_cidr_block = var.transport.transit_gateway_cidr_block
      peers                      = local.connect_peers
    }
    interfaces        = local.interfaces
    bridge            = local.bridge
    core_cidr         = var.core_cidr
    workload_supernet = var.workload_supernet
    workload_cidrs    = local.workload_cidrs
    workloads         = var.workloads
    flows             = var.flows
    psk_parameters    = [for t in local.tunnels : local.psk_parameter_names[t]]
    health_parameter  = local.health_parameter_name
    health_probes = {
      source_cidr      = var.subnets.bridge.cidr
      internet_ports   = var.health_probes.internet_ports
      workload_targets = var.health_probes.workload_targets
    }
    health_poll_seconds = var.health_poll_seconds
    fast_check = {
      interval_seconds = var.fast_check_interval_seconds
      failures         = var.fast_check_failures
    }
    log_group        = local.log_group_name
    metric_namespace = var.metric_namespace
  }

  user_data_templates = {
    vpn = coalesce(var.vpn_user_data_template, "${path.module}/templates/vpn.yaml.tftpl")
    fw  = coalesce(var.fw_user_data_template, "${path.module}/templates/fw.yaml.tftpl")
  }
  # cloud-init detects gzip; compressing keeps large flow lists under the 16 KiB user_data limit.
  user_data = {
    for i, tpl in local.user_data_templates : i => base64gzip(templatefile(tpl, merge(local.template_data, {
      role            = i
      health_agent_py = file("${path.module}/agent/health_agent.py")
      fw_audit_py     = file("${path.module}/agent/fw_audit.py")
    })))
  }
}

resource "aws_instance" "this" {
  for_each = toset(["vpn", "fw"])

  ami                         = local.ami_id
  instance_type               = data.aws_ec2_instance_type.this[each.key].instance_type
  availability_zone           = var.availability_zone
  iam_instance_profile        = aws_iam_instance_profile.this[each.key].name
  monitoring                  = var.enable_detailed_monitoring
  ebs_optimized               = true
  user_data_base64            = local.user_data[each.key]
  user_data_replace_on_change = var.user_data_replace_on_change

  primary_network_interface {
    network_interface_id = aws_network_interface.this[each.key == "vpn" ? local.vpn_primary_eni : "fw-management"].id
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    encrypted             = true
    kms_key_id            = var.kms_key_arn
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    delete_on_termination = true
  }

  tags        = merge(local.tags, { Name = "${local.prefix}-${each.key}", "microseg:role" = each.key })
  volume_tags = merge(local.tags, { Name = "${local.prefix}-${each.key}" })

  lifecycle {
    precondition {
      condition     = data.aws_ec2_instance_type.this[each.key].maximum_network_interfaces >= local.eni_count[each.key]
      error_message = "${each.key} needs ${local.eni_count[each.key]} network interfaces; ${data.aws_ec2_instance_type.this[each.key].instance_type} supports ${data.aws_ec2_instance_type.this[each.key].maximum_network_interfaces}."
    }
    precondition {
      # 16 KiB of raw (here: gzipped) user data, i.e. 21848 characters of base64.
      condition     = length(local.user_data[each.key]) <= 21848
      error_message = "The rendered ${each.key} user_data exceeds 16 KiB even gzipped; move flows into a parameter."
    }
  }
}

resource "aws_network_interface_attachment" "this" {
  for_each = { for k, e in local.enis : k => e if e.device_index > 0 }

  instance_id          = aws_instance.this[each.value.instance].id
  network_interface_id = aws_network_interface.this[each.key].id
  device_index         = each.value.device_index
}
