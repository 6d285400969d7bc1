"""Pure allocation: workload CIDRs and subnets, core subnets, ASNs, the pod fleet."""
