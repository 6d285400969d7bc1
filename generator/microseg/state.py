"""The allocation state kept between runs (what microseg.lock.json holds)."""

from __future__ import annotations

from dataclasses import dataclass, field

LOCK_VERSION = 1


@dataclass(frozen=True, slots=True)
class VpcAlloc:
    """A workload VPC's addresses. Subnets map AZ -> (workload subnet, attachment /28)."""

    cidr: str
    subnet_prefix: int
    subnets: dict[str, tuple[str, str]]
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class ConnectPeer:
    """One TGW Connect peer of a pod: its BGP inside /29 and the TGW's GRE outer address."""

    inside_cidr: str
    transit_gateway_address: str


@dataclass(frozen=True, slots=True)
class PodAlloc:
    """A pod's place and its transport addresses: two VPN inside /30s (vpn transport), or Connect
    peers and the vpn instance's GRE outer address (connect transport); the other transport's are empty."""

    index: int
    az: str
    tunnel_inside_cidrs: tuple[str, ...] = ()
    connect_peers: tuple[ConnectPeer, ...] = ()
    connect_address: str | None = None

    @property
    def name(self) -> str:
        return pod_name(self.index)


def pod_name(index: int) -> str:
    return f"pod-{index:02d}"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """Which file a run read: its path (relative to the output directory), content hash and rows."""

    path: str
    sha256: str
    rows: int


INPUT_KINDS = ("inventory", "flows", "settings")


@dataclass(frozen=True, slots=True)
class LockState:
    core_cidr: str | None = None
    workloads: dict[str, VpcAlloc] = field(default_factory=dict)
    tombstones: dict[str, VpcAlloc] = field(default_factory=dict)
    asn: dict[str, int] = field(default_factory=dict)
    pods: dict[int, PodAlloc] = field(default_factory=dict)
    # kind -> the file of the last run, None when that run had none; a kind missing = not recorded.
    inputs: dict[str, InputRecord | None] = field(default_factory=dict)
    # The TGW CIDR block the Connect peers' GRE addresses come from (connect transport only).
    connect_cidr_block: str | None = None
    # The lock's text, to point later checks (against the settings) at a key's line.
    source: str = field(default="", compare=False, repr=False)

    @property
    def empty(self) -> bool:
        return not (self.workloads or self.tombstones or self.asn or self.pods)
