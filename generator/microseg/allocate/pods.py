"""Fleet sizing and placement: how many pods, in which AZ, with which VPN inside CIDRs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from microseg.errors import ExhaustedError, Problem
from microseg.model import Settings
from microseg.netaddr import fmt, parse_network, span
from microseg.state import PodAlloc

# AWS reserves these inside CIDRs; we also start at 169.254.10.0 to leave the low /30s alone.
INSIDE_POOL = ("169.254.10.0", "169.254.255.252")
INSIDE_RESERVED = (("169.254.0.0", 21), ("169.254.169.252", 30))  # 0.0/21 covers 0.0-5.3


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
        (max_core_pods, f"core_cidr {settings.core_cidr} has room for {max_core_pods} pods", "core_cidr"),
        (
            inside_cidr_capacity() // 2,
            "169.254.0.0/16 has VPN inside /30s for {n} pods (two each)",
            "pods.capacity_mbps",
        ),
    ]
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


def check_quotas(total: int, workloads: int, settings: Settings) -> None:
    """Quotas the settings state (the account's real ones) are limits like the pools: exit 3 before
    any allocation. Quotas left at AWS's defaults only warn (they can be raised; see validate)."""
    found = []
    for key, need, quota, what in (
        (
            "vpn_connections_per_region",
            total,
            settings.quota_vpn_connections,
            "VPN connections (one per pod)",
        ),
        (
            "customer_gateways_per_region",
            total,
            settings.quota_customer_gateways,
            "customer gateways (one per pod)",
        ),
        ("tgw_attachments", workloads + total + 2, settings.quota_tgw_attachments, "TGW attachments"),
        (
            "routes_per_customer_gateway",
            workloads + 1,
            settings.quota_routes_per_cgw,
            "routes per BGP session",
        ),
    ):
        line = settings.line_of(f"quotas.{key}")
        if line and need > quota:
            found.append(
                Problem(
                    settings.file,
                    line,
                    f"quotas.{key}",
                    f"{what}: {_count(need)} needed, the quota is {quota:,}",
                )
            )
    if found:
        raise ExhaustedError(found)


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
            placed[i] = PodAlloc(i, az, ("", ""))
    return dict(sorted(placed.items()))


def assign_tunnels(pods: dict[int, PodAlloc], settings: Settings) -> dict[int, PodAlloc]:
    """Two unique /30s per pod from 169.254.0.0/16, never AWS's reserved ones; kept ones stay."""
    taken = {t for p in pods.values() for t in p.tunnel_inside_cidrs if t}
    start = parse_network(INSIDE_POOL[0] + "/30")[0]
    end = parse_network(INSIDE_POOL[1] + "/30")[0]
    reserved = [span(*parse_network(f"{a}/{p}")) for a, p in INSIDE_RESERVED]
    cursor = start
    out: dict[int, PodAlloc] = {}

    def next_free() -> str:
        nonlocal cursor
        while cursor <= end:
            cidr = fmt(cursor, 30)
            blocked = any(lo <= cursor < hi for lo, hi in reserved)
            cursor += 4
            if not blocked and cidr not in taken:
                taken.add(cidr)
                return cidr
        raise ExhaustedError(
            [Problem(settings.file, 0, "pods", "no free VPN inside /30 left in 169.254.0.0/16")]
        )

    for index, pod in pods.items():
        if all(pod.tunnel_inside_cidrs):
            out[index] = pod
        else:
            out[index] = PodAlloc(index, pod.az, (next_free(), next_free()))
    return out
