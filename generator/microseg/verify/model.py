"""A snapshot of a deployed network: only the facts the path tracer needs, no AWS client types.

Everything here is plain data so the tracer is a pure function of it (and testable without AWS).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

Prefix = ipaddress.IPv4Network | ipaddress.IPv6Network

# Tag keys: the contract between the modules and `microseg verify` (docs/tags.md).
TAG_NETWORK = "microseg:network"
TAG_ROLE = "microseg:role"
TAG_WORKLOAD = "microseg:workload"
TAG_POD = "microseg:pod"
TAG_ROUTE_TABLE = "microseg:route-table"  # on TGW route tables: workloads | core | management

ROLE_CORE = "core"
ROLE_WORKLOAD = "workload"
ROLE_MANAGEMENT = "management"
ROLE_FW = "fw"
ROLE_VPN = "vpn"

INSPECTED = "inspected"
DROPPED = "dropped"
BYPASS = "bypass"


def prefix(text: str) -> Prefix:
    return ipaddress.ip_network(text, strict=False)


@dataclass(frozen=True)
class Vpc:
    id: str
    cidrs: tuple[Prefix, ...]
    role: str | None = None
    workload: str | None = None
    name: str = ""
    foreign: bool = False  # in another account: seen only through its TGW attachment

    @property
    def label(self) -> str:
        if self.role == ROLE_WORKLOAD and self.workload:
            return f"workload {self.workload} ({self.id})"
        if self.role:
            return f"{self.role} VPC {self.id}"
        return f"VPC {self.id}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True)
class Route:
    """One route of a VPC route table. `destination` is None for a prefix-list route."""

    destination: Prefix | None
    target_kind: str  # local igw eigw nat pcx tgw eni instance vgw vpce other
    target_id: str
    state: str = "active"
    prefix_list: str | None = None

    @property
    def dest_text(self) -> str:
        return str(self.destination) if self.destination is not None else f"{self.prefix_list}"


@dataclass
class RouteTable:
    id: str
    vpc_id: str
    routes: list[Route]
    name: str = ""


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    cidr: Prefix
    az: str
    route_table_id: str | None  # explicit association, else the VPC's main table; None = no table at all
    name: str = ""


@dataclass(frozen=True)
class TgwAttachment:
    id: str
    tgw_id: str
    kind: str  # vpc vpn peering connect direct-connect-gateway tgw-peering ...
    resource_id: str
    subnet_ids: tuple[str, ...] = ()
    state: str = "available"


@dataclass(frozen=True)
class TgwRoute:
    destination: Prefix
    attachment_ids: tuple[str, ...]
    state: str  # active | blackhole
    kind: str  # static | propagated
    origin: str  # api | vpc-cidr | vpn-static | assumed-bgp
    # Route evaluation order for equal prefixes (AWS TGW docs): static, VPC-propagated, DX, Connect, VPN.
    rank: int = 0


@dataclass
class TgwRouteTable:
    id: str
    tgw_id: str
    name: str = ""
    routes: list[TgwRoute] = field(default_factory=list)


@dataclass(frozen=True)
class PodMember:
    """An ENI, instance or VPN connection that belongs to a pod."""

    pod: str
    role: str  # fw | vpn


@dataclass
class Network:
    region: str
    name: str
    vpcs: dict[str, Vpc] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    route_tables: dict[str, RouteTable] = field(default_factory=dict)
    attachments: dict[str, TgwAttachment] = field(default_factory=dict)
    tgw_route_tables: dict[str, TgwRouteTable] = field(default_factory=dict)
    # attachment id -> the TGW route table it is associated with (at most one in AWS)
    association: dict[str, str] = field(default_factory=dict)
    enis: dict[str, PodMember] = field(default_factory=dict)  # ENI id -> pod member
    instances: dict[str, PodMember] = field(default_factory=dict)  # instance id -> pod member
    vpns: dict[str, PodMember] = field(default_factory=dict)  # VPN connection id -> pod member
    peerings: dict[str, tuple[str, str]] = field(default_factory=dict)  # pcx -> (requester, accepter VPC)
    accounts: dict[str, list[str]] = field(default_factory=dict)  # other account read -> its VPC ids
    notes: list[str] = field(default_factory=list)

    def workloads(self) -> list[Vpc]:
        return sorted(
            (v for v in self.vpcs.values() if v.role == ROLE_WORKLOAD),
            key=lambda v: (v.workload or "", v.id),
        )

    def vpc_attachments(self, vpc_id: str, tgw_id: str | None = None) -> list[TgwAttachment]:
        return sorted(
            (
                a
                for a in self.attachments.values()
                if a.kind == "vpc" and a.resource_id == vpc_id and (tgw_id is None or a.tgw_id == tgw_id)
            ),
            key=lambda a: a.id,
        )
