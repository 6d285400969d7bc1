output "transit_gateway_id" {
  description = "The network's Transit Gateway this account attaches to (found through the RAM share, or by its tags in the network account)."
  value       = data.aws_ec2_transit_gateway.network.id
}

output "workloads" {
  description = "Per workload: VPC, security group, Transit Gateway attachment, and whether its default route exists yet (false until the network account accepted the attachment)."
  value = {
    for k, m in module.workload : k => {
      vpc_id                        = m.vpc_id
      security_group_id             = m.security_group_id
      workload_route_table_id       = m.workload_route_table_id
      transit_gateway_attachment_id = m.transit_gateway_attachment_id
      default_route                 = length(data.aws_ec2_transit_gateway_attachments.accepted[k].ids) > 0
    }
  }
}
