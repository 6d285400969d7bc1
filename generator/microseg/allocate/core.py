"""The core VPC's subnets.

Laid out by function so each function's subnets aggregate into one block (the workloads' security
groups admit the pods' SNAT addresses with a single rule for the internal block):
    [0, 1/4)      internal    per AZ (fw internal ENIs at host 10 + pod index counted up, the connect
                              transport's vpn GRE addresses counted down from the last usable host,
                              interface endpoints)
    [1/4, 3/8)    public      per AZ (vpn EIPs, fw internet interface, NAT)
    [3/8, 7/16)   management  per AZ
    [7/16, 1/2)   tgw         one /28 per AZ
    [1/2, 1)      bridge      one /28 per pod, by pod index
"""

from __future__ import annotations

from dataclasses import dataclass

from microseg.errors import ExhaustedError, Problem
from microseg.model import Settings
from microseg.netaddr import fmt, fmt_ip, next_pow2, parse_network, prefix_for_size

FW_INTERNAL_HOST = 10  # cidrhost(internal, 10 + index): see docs/tfvars-contract.md
BRIDGE = 16


@dataclass(frozen=True, slots=True)
class CoreLayout:
    cidr: str
    subnets: dict[str, dict[str, str]]  # az -> {public, internal, management, tgw}
    internal_block: str  # all internal subnets: where SNATed east-west traffic comes from
    bridge_base: int
    internal_base: dict[str, int]
    internal_size: int = 0
    max_pods: int = 0  # the highest pod index this core holds (for the transport in use)

    def bridge(self, index: int) -> str:
        return fmt(self.bridge_base + BRIDGE * (index - 1), 28)

    def fw_internal_ip(self, az: str, index: int) -> str:
        return fmt_ip(self.internal_base[az] + FW_INTERNAL_HOST + index)

    def connect_range(self, az: str) -> tuple[int, int]:
        """[first, last] address an AZ's connect GRE endpoints may take: above every fw internal
        address this core can hold, up to the subnet's last usable one (AWS keeps the very last)."""
        base = self.internal_base[az]
        return base + FW_INTERNAL_HOST + self.max_pods + 1, base + self.internal_size - 2


def max_pods(core_cidr: str, az_count: int, transport: str = "vpn") -> int:
    _, prefix = parse_network(core_cidr)
    c = 1 << (32 - prefix)
    slots = next_pow2(az_count)
    internal = c // 4 // slots
    # AWS keeps the last address; leave a few for interface endpoints too.
    room = internal - FW_INTERNAL_HOST - 8
    pods = max(0, min(c // 2 // BRIDGE, room))
    if transport == "connect":
        # Each AZ's internal subnet also holds its pods' GRE addresses (pods are spread evenly):
        # pods + ceil(pods / azs) must fit the same room.
        while pods and pods + -(-pods // max(1, az_count)) > room:
            pods -= 1
    return pods


def layout_core(settings: Settings, pod_indexes: list[int]) -> CoreLayout:
    addr, prefix = parse_network(settings.core_cidr)
    c = 1 << (32 - prefix)
    slots = next_pow2(len(settings.azs))
    key = "core_cidr"
    problem = None
    if c // 16 // slots < BRIDGE or BRIDGE * len(settings.azs) > c // 16:
        need = prefix_for_size(256 * slots)
        problem = f"{settings.core_cidr} is too small for {len(settings.azs)} AZs; use a /{need} or larger"
    elif pod_indexes and max(pod_indexes) > max_pods(
        settings.core_cidr, len(settings.azs), settings.transport
    ):
        room = max_pods(settings.core_cidr, len(settings.azs), settings.transport)
        problem = (
            f"{settings.core_cidr} has room for {room} pods, "
            f"the fleet needs pod index {max(pod_indexes)}; use a larger core_cidr"
        )
    if problem:
        raise ExhaustedError([Problem(settings.file, settings.line_of(key), key, problem)])
    internal, public, mgmt = c // 4 // slots, c // 8 // slots, c // 16 // slots
    subnets: dict[str, dict[str, str]] = {}
    internal_base: dict[str, int] = {}
    for i, az in enumerate(settings.azs):
        base = addr + i * internal
        internal_base[az] = base
        subnets[az] = {
            "internal": fmt(base, prefix_for_size(internal)),
            "public": fmt(addr + c // 4 + i * public, prefix_for_size(public)),
            "management": fmt(addr + 3 * c // 8 + i * mgmt, prefix_for_size(mgmt)),
            "tgw": fmt(addr + 7 * c // 16 + i * BRIDGE, 28),
        }
    return CoreLayout(
        cidr=settings.core_cidr,
        subnets=subnets,
        internal_block=fmt(addr, prefix + 2),
        bridge_base=addr + c // 2,
        internal_base=internal_base,
        internal_size=internal,
        max_pods=max_pods(settings.core_cidr, len(settings.azs), settings.transport),
    )
