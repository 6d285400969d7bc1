"""Fleet sizing and placement: how many pods, in which AZ (their transport addresses: allocate.transport)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from microseg.allocate.transport import (
    INSIDE_POOL,
    INSIDE_RESERVED,
    connect_inside_capacity,
    tgw_addresses,
)
from microseg.errors import ExhaustedError, Problem
from microseg.model import Settings
from microseg.netaddr import parse_network, span
from microseg.state import PodAlloc


@dataclass(frozen=True, slots=True)
class FleetSize:
    capacity_mbps: float
    total_mbps: float
    required: int
    spares: int
    total: int
    per_az: dict[str, int]


def size_fleet(total_mbps: float, settings: Settings) -> tuple[int, int]:
    """(required, total), computed in closed form so any magnitude answers at once.

    Total = required + spares, raised to the fewest pods t with t - ceil(t / azs) >= required,
    i.e. floor(t (azs-1) / azs) >= required, i.e. t >= ceil(required * azs / (azs - 1)).
    """
    ratio = total_mbps / settings.pod_capacity_mbps
    # An overflowing sum is "more pods than anything can hold": any huge int says so.
    required = max(1, math.ceil(ratio - 1e-9)) if math.isfinite(ratio) else 1 << 64
    total = required + settings.spare_pods
    azs = len(settings.azs)
    if settings.survive_az_loss and azs > 1:
        total = max(total, -(-required * azs // (azs - 1)))
    return required, total


def inside_cidr_capacity() -> int:
    """How many /30s the VPN inside pool offers (AWS's reserved ones excluded)."""
    start = parse_network(INSIDE_POOL[0] + "/30")[0]
    end = parse_network(INSIDE_POOL[1] + "/30")[0] + 4
    blocked = sum(
        max(0, min(hi, end) - max(lo, start))
        for lo, hi in (span(*parse_network(f"{a}/{p}")) for a, p in INSIDE_RESERVED)
    )
    return (end - start - blocked) // 4


def check_fleet(required: int, total: int, settings: Settings, max_core_pods: int) -> None:
    """Exit 3 before any allocation when the computed fleet cannot exist, with need vs room."""
    limits = [
        (max_core_pods, f"core_cidr {settings.core_cidr} has room for {max_core_pods} pods", "core_cidr")
    ]
    if settings.transport == "connect":
        peers = settings.connect_peers or 1
        block = settings.connect_cidr_block or ""
        limits += [
            (
                connect_inside_capacity() // peers,
                f"169.254.0.0/16 has Connect inside /29s for {{n}} pods ({peers} each)",
                "pods.connect_peers",
            ),
            (
                len(tgw_addresses(block)) // peers,
                f"the TGW CIDR block {block} has GRE addresses for {{n}} pods ({peers} each)",
                "pods.connect_cidr_block",
            ),
        ]
    else:
        limits.append(
            (
                inside_cidr_capacity() // 2,
                "169.254.0.0/16 has VPN inside /30s for {n} pods (two each)",
                "pods.capacity_mbps",
            )
        )
    problems = []
    for room, what, key in limits:
        if total > room:
            problems.append(
                Problem(
                    settings.file,
                    settings.line_of(key),
                    key,
                    f"the fleet needs {_count(total)} pods ({_count(required)} required for the promised "
                    f"bandwidth at {settings.pod_capacity_mbps:g} Mbps per pod, plus spares); "
                    + what.format(n=room),
                )
            )
    if problems:
        raise ExhaustedError(problems)


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"more than {10**15:,}"


def place_pods(total: int, settings: Settings, locked: dict[int, PodAlloc]) -> dict[int, PodAlloc]:
    """Spread ``total`` pods evenly; existing pods keep AZ and index, new ones take the lowest free index."""
    azs = list(settings.azs)
    current: dict[str, list[int]] = {az: [] for az in azs}
    for index, pod in sorted(locked.items()):
        if pod.az in current:
            current[pod.az].append(index)
    base, extra = divmod(total, len(azs))
    # The AZs that get one more pod are those already holding the most, so nothing moves needlessly.
    ranked = sorted(azs, key=lambda az: (-len(current[az]), azs.index(az)))
    target = {az: base + (1 if az in ranked[:extra] else 0) for az in azs}
    keep: dict[int, str] = {}
    for az in azs:
        for index in current[az][: target[az]]:
            keep[index] = az
    free = (i for i in range(1, total + len(locked) + 2) if i not in keep)
    placed = {i: locked[i] for i in keep}
    for az in azs:
        for _ in range(target[az] - min(len(current[az]), target[az])):
            i = next(free)
            placed[i] = PodAlloc(i, az)
    return dict(sorted(placed.items()))
