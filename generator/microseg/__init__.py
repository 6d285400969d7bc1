"""microseg: inventory CSV -> CIDR/ASN allocation, pod fleet, QoS, policy, cost, tfvars and reports."""

__version__ = "0.1.0"
