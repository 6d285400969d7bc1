"""Each pod's transport addresses, stable against the lock (pure: no I/O).

vpn: two /30 inside CIDRs per pod. connect: one /29 inside CIDR and one TGW GRE address (from the
TGW CIDR block) per Connect peer, and the pod's own GRE address (`connect_address`): a fixed host in
its AZ's internal subnet of the core, counted down from the subnet's last usable address so it never
meets the fw internal addresses counted up from host 11 (see allocate.core). A pod keeps what it has
for the transport in use; the other transport's addresses are dropped, because a switch destroys
those AWS objects (VPN connections or Connect peers) and nothing holds their addresses any more.
"""

from __future__ import annotations

from collections.abc import Iterator

from microseg.allocate.core import CoreLayout
from microseg.errors import ExhaustedError, Problem
from microseg.model import Settings
from microseg.netaddr import cidr_span, fmt, fmt_ip, parse_network
from microseg.state import ConnectPeer, PodAlloc

# AWS reserves these inside CIDRs; we also start at 169.254.10.0 to leave the low /30s alone.
INSIDE_POOL = ("169.254.10.0", "169.254.255.252")
INSIDE_RESERVED = (("169.254.0.0", 21), ("169.254.169.252", 30))  # 0.0/21 covers 0.0-5.3
# AWS refuses Connect inside /29s in 169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29; the low
# /21 is left alone as for the VPN /30s (INSIDE_RESERVED).
CONNECT_INSIDE_RESERVED = (("169.254.0.0", 21), ("169.254.169.248", 29))


def _reserved(ranges: tuple[tuple[str, int], ...]) -> list[tuple[int, int]]:
    return [cidr_span(f"{a}/{p}") for a, p in ranges]


def inside_blocks(prefix: int, reserved: tuple[tuple[str, int], ...]) -> Iterator[int]:
    """Every aligned /prefix of the inside pool that touches no reserved range, lowest first."""
    step = 1 << (32 - prefix)
    start = parse_network(INSIDE_POOL[0] + "/30")[0]
    end = cidr_span("169.254.0.0/16")[1]
    blocked = _reserved(reserved)
    for addr in range(start, end, step):
        if not any(addr < hi and lo < addr + step for lo, hi in blocked):
            yield addr


def connect_inside_capacity() -> int:
    """How many Connect inside /29s the pool offers."""
    return sum(1 for _ in inside_blocks(29, CONNECT_INSIDE_RESERVED))


def tgw_addresses(block: str) -> range:
    """The GRE addresses a TGW CIDR block offers: all but its first and last address (kept free as
    in a subnet; AWS documents no reservation, so this errs on the safe side)."""
    lo, hi = cidr_span(block)
    return range(lo + 1, hi - 1)


def assign_transport(pods: dict[int, PodAlloc], settings: Settings, core: CoreLayout) -> dict[int, PodAlloc]:
    if settings.transport == "connect":
        return _assign_connect(pods, settings, core)
    return _assign_vpn(pods, settings)


def _exhausted(settings: Settings, key: str, what: str) -> ExhaustedError:
    return ExhaustedError([Problem(settings.file, settings.line_of(key), key, what)])


def _assign_vpn(pods: dict[int, PodAlloc], settings: Settings) -> dict[int, PodAlloc]:
    """Two unique /30s per pod, never AWS's reserved ones; kept ones stay."""
    kept = {i: p.tunnel_inside_cidrs for i, p in pods.items() if len(p.tunnel_inside_cidrs) == 2}
    taken = {t for ts in kept.values() for t in ts}
    free = (fmt(a, 30) for a in inside_blocks(30, INSIDE_RESERVED) if fmt(a, 30) not in taken)
    out: dict[int, PodAlloc] = {}
    for index, pod in pods.items():
        tunnels = kept.get(index)
        if tunnels is None:
            pair = (next(free, None), next(free, None))
            if None in pair:
                raise _exhausted(settings, "pods", "no free VPN inside /30 left in 169.254.0.0/16")
            tunnels = pair  # type: ignore[assignment]
        out[index] = PodAlloc(index, pod.az, tuple(tunnels))  # type: ignore[arg-type]
    return out


def _assign_connect(pods: dict[int, PodAlloc], settings: Settings, core: CoreLayout) -> dict[int, PodAlloc]:
    """Per pod: its first `connect_peers` peers kept (extra ones dropped), new ones from the lowest
    free /29 and TGW address; its GRE address kept, or the highest free host of its AZ's range."""
    assert settings.connect_cidr_block is not None and settings.connect_peers is not None
    n = settings.connect_peers
    kept = {i: p.connect_peers[:n] for i, p in pods.items()}
    used_inside = {c.inside_cidr for peers in kept.values() for c in peers}
    used_tgw = {c.transit_gateway_address for peers in kept.values() for c in peers}
    free_inside = (
        fmt(a, 29) for a in inside_blocks(29, CONNECT_INSIDE_RESERVED) if fmt(a, 29) not in used_inside
    )
    free_tgw = (fmt_ip(a) for a in tgw_addresses(settings.connect_cidr_block) if fmt_ip(a) not in used_tgw)
    used_hosts = {p.connect_address for p in pods.values() if p.connect_address}
    out: dict[int, PodAlloc] = {}
    for index, pod in pods.items():
        peers = list(kept[index])
        while len(peers) < n:
            inside, tgw = next(free_inside, None), next(free_tgw, None)
            if inside is None:
                raise _exhausted(
                    settings, "pods.connect_peers", "no free Connect inside /29 left in 169.254.0.0/16"
                )
            if tgw is None:
                raise _exhausted(
                    settings,
                    "pods.connect_cidr_block",
                    f"the TGW CIDR block {settings.connect_cidr_block} has no free GRE address left",
                )
            peers.append(ConnectPeer(inside, tgw))
        address = pod.connect_address
        if address is None:
            lo, hi = core.connect_range(pod.az)
            address = next((fmt_ip(a) for a in range(hi, lo - 1, -1) if fmt_ip(a) not in used_hosts), None)
            if address is None:
                raise _exhausted(
                    settings,
                    "core_cidr",
                    f"the internal subnet of {pod.az} ({core.subnets[pod.az]['internal']}) has no free "
                    f"address left for {pod.name}'s GRE endpoint; use a larger core_cidr",
                )
            used_hosts.add(address)
        out[index] = PodAlloc(index, pod.az, (), tuple(peers), address)
    return out
