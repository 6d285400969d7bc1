"""The validated inputs: plain frozen dataclasses, no behaviour beyond small derived values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# What one pod carries on each transport, per tunnel or Connect peer (AWS: a VPN tunnel 1.25 Gbps,
# a large tunnel 5 Gbps, a Connect peer 5 Gbps). Both tunnels carry traffic both ways (issue 9).
TUNNEL_MBPS = {"standard": 1250.0, "large": 5000.0}
CONNECT_PEER_MBPS = 5000.0
CONNECT_PEERS_MAX = 4  # AWS: Connect peers per Connect attachment (one attachment per pod)
DEFAULT_CONNECT_PEERS = 2
# The top /24 of the shared address space (RFC 6598): outside the RFC 1918 plans that on-premises
# networks and the default pools use, and never link-local (AWS refuses 169.254.0.0/16).
DEFAULT_CONNECT_CIDR_BLOCK = "100.127.255.0/24"

# Sustained (baseline) network bandwidth in Mbps and vCPUs of the shipped instance types and common
# network-optimised sizes. Source: the AWS EC2 User Guide's network specifications (baseline, not
# the "up to" burst figure), November 2026; a pod must carry its capacity all day, so the baseline
# is what counts. Override or extend under [throughput] for other types.
NETWORK_MBPS = {
    "t3.small": 128.0,
    "c6in.large": 6250.0,
    "c6in.xlarge": 12500.0,
    "c6in.2xlarge": 25000.0,
    "c6in.4xlarge": 50000.0,
    "c6in.8xlarge": 50000.0,
    "c5n.large": 3000.0,
    "c5n.xlarge": 5000.0,
    "c5n.2xlarge": 10000.0,
    "c5n.4xlarge": 15000.0,
    "c5n.9xlarge": 50000.0,
    "m6in.large": 6250.0,
    "m6in.xlarge": 12500.0,
    "m6in.2xlarge": 25000.0,
    "m6in.4xlarge": 50000.0,
    "m6in.8xlarge": 50000.0,
}
VCPUS = {
    "t3.small": 2,
    "c6in.large": 2,
    "c6in.xlarge": 4,
    "c6in.2xlarge": 8,
    "c6in.4xlarge": 16,
    "c6in.8xlarge": 32,
    "c5n.large": 2,
    "c5n.xlarge": 4,
    "c5n.2xlarge": 8,
    "c5n.4xlarge": 16,
    "c5n.9xlarge": 36,
    "m6in.large": 2,
    "m6in.xlarge": 4,
    "m6in.2xlarge": 8,
    "m6in.4xlarge": 16,
    "m6in.8xlarge": 32,
}
# An estimate, not a measurement: the kernel's XFRM with AES-GCM and AES-NI moves roughly one AWS
# tunnel's worth (1.25 Gbps) per vCPU at a typical mix of packet sizes (one SA is decrypted on one
# CPU). Measure your own instance (iperf3 through a pod) and set [throughput] ipsec_mbps_per_vcpu.
IPSEC_MBPS_PER_VCPU = 1250.0


@dataclass(frozen=True, slots=True)
class Prices:
    source: str = "AWS public price list, us-east-1 on-demand, checked 2026-11"
    hours_per_month: float = 730.0
    tgw_attachment_hour: float = 0.05
    tgw_data_per_gb: float = 0.02
    vpn_connection_hour: float = 0.05
    public_ipv4_hour: float = 0.005
    interface_endpoint_hour: float = 0.01
    interface_endpoint_per_gb: float = 0.01
    internet_egress_per_gb: float = 0.09
    log_ingestion_per_gb: float = 0.50  # CloudWatch Logs: VPC flow logs and the fw's flow log
    cloudwatch_alarm_month: float = 0.10  # standard-resolution alarm
    ebs_gb_month: float = 0.08  # gp3
    kms_key_month: float = 1.00
    lambda_request: float = 0.0000002
    lambda_gb_second: float = 0.0000166667
    instance_hour: dict[str, float] = field(
        default_factory=lambda: {"c6in.large": 0.1134, "c6in.xlarge": 0.2268, "t3.small": 0.0208}
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in microseg.toml; defaults are the documented ones (docs/generator.md)."""

    name: str = "microseg"
    region: str = "us-east-1"
    azs: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1c")
    default_workload_azs: int = 3
    network_account_id: str | None = None
    workload_supernet: str = "10.64.0.0/10"
    core_cidr: str = "10.0.0.0/20"
    pod_capacity_mbps: float = 2500.0  # derived from the transport unless [pods] capacity_mbps is set
    transport: str = "vpn"  # "vpn" | "connect"
    tunnel_bandwidth: str | None = "standard"  # vpn: "standard" | "large"; connect: None
    connect_peers: int | None = None  # connect: 1-4 Connect peers per pod; vpn: None
    connect_cidr_block: str | None = None  # connect: the TGW CIDR block for GRE outer addresses
    spare_pods: int = 1
    survive_az_loss: bool = True
    asn_pools: tuple[tuple[int, int], ...] = ((64512, 65534), (4200000000, 4294967294))
    asn_used_elsewhere: frozenset[int] = frozenset()
    asn_pins: dict[str, int] = field(default_factory=dict)
    instance_types: dict[str, str] = field(
        default_factory=lambda: {"vpn": "c6in.large", "fw": "c6in.xlarge", "nat": "t3.small"}
    )
    prices: Prices = field(default_factory=Prices)
    tags: dict[str, str] = field(default_factory=lambda: {"managed-by": "microseg"})
    allowed_domains: tuple[str, ...] = (".amazonaws.com",)
    interface_endpoints: tuple[str, ...] = ("ec2messages", "logs", "monitoring", "ssm", "ssmmessages")
    tgw_passes: int = 2
    internet_fraction: float = 1.0
    log_gb_per_traffic_gb: float = 0.01  # flow-log records per GB through the core (assumption)
    alarms_per_pod: int = 5  # two tunnels, health, CPU, network
    alarms_fixed: int = 4  # TGW bytes, NAT, shared-dependency health, Lambda errors
    ebs_gb_per_instance: int = 20
    kms_keys: int = 1
    health_checks_per_hour: int = 60  # per pod
    health_check_gb_seconds: float = 0.64  # 128 MB for 5 s
    quota_vpn_connections: int = 50
    quota_customer_gateways: int = 50
    # Prefixes a TGW accepts from one customer gateway (or Connect peer); 100 is a VGW's limit.
    quota_routes_per_cgw: int = 1000
    quota_tgw_attachments: int = 5000
    quota_sg_rules: int = 60
    quota_sg_per_eni: int = 5  # AWS: rules per group x groups per ENI <= 1,000
    quota_eips: int = 5
    quota_lambda_concurrency: int = 1000  # AWS keeps 100 of it unreserved
    # Sustained (baseline) network bandwidth and vCPUs per instance type, and the IPsec estimate,
    # for the throughput warnings.
    network_mbps: dict[str, float] = field(default_factory=lambda: dict(NETWORK_MBPS))
    vcpus: dict[str, int] = field(default_factory=lambda: dict(VCPUS))
    ipsec_mbps_per_vcpu: float = IPSEC_MBPS_PER_VCPU
    # A flow CIDR wider than this (a smaller prefix) needs the row's `broad` justification.
    broadest_flow_prefix: int = 16
    # Where each settings key was written (for file:line: column messages about cross-checks).
    file: str = "<defaults>"
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, 0)

    @property
    def transport_mbps(self) -> float:
        """What one pod's transport carries: the derived capacity, and the ceiling of a set one."""
        if self.transport == "connect":
            return (self.connect_peers or DEFAULT_CONNECT_PEERS) * CONNECT_PEER_MBPS
        return 2 * TUNNEL_MBPS[self.tunnel_bandwidth or "standard"]


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    line: int
    bandwidth_mbps: float
    azs: int
    vpc_prefix: int | None  # from prefix_length or hosts; None when only a cidr pin sizes it
    hosts: int | None
    prefix_explicit: bool
    internet_egress: bool = False
    cidr: str | None = None
    account_id: str | None = None
    environment: str = ""
    owner: str = ""
    cost_center: str = ""
    monthly_gb: float = 0.0


class Endpoint(NamedTuple):
    """One side of a flow: a workload, a CIDR or the internet. A named tuple, not a dataclass:
    flows are deduplicated and grouped by endpoint, and tuple hashing runs in C."""

    kind: str  # "workload" | "cidr" | "internet"
    value: str  # workload name, canonical CIDR, or "internet"


class Flow(NamedTuple):
    """One approved flow; a named tuple so ``flow[1:]`` is its identity without the line."""

    line: int
    source: Endpoint
    destination: Endpoint
    protocol: str  # tcp | udp | icmp | any
    from_port: int
    to_port: int
    reference: str
    broad: str = ""  # the justification of a row that opts in to a broad CIDR endpoint (audited)


@dataclass(frozen=True, slots=True)
class Inventory:
    file: str
    workloads: tuple[Workload, ...]
    # Every name written in the file, valid row or not, so flows do not report a second error.
    names: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class BroadFlow:
    """A flow row that opted in to a CIDR endpoint the segmentation guard would refuse."""

    line: int
    endpoint: str
    reasons: tuple[str, ...]
    justification: str


@dataclass(frozen=True, slots=True)
class FlowSet:
    file: str
    flows: tuple[Flow, ...]
