"""The validated inputs: plain frozen dataclasses, no behaviour beyond small derived values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


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
    pod_capacity_mbps: float = 2500.0
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
    quota_routes_per_cgw: int = 100
    quota_tgw_attachments: int = 5000
    quota_sg_rules: int = 60
    # A flow CIDR wider than this (a smaller prefix) needs the row's `broad` justification.
    broadest_flow_prefix: int = 16
    # Where each settings key was written (for file:line: column messages about cross-checks).
    file: str = "<defaults>"
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, 0)


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
