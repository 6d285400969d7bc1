"""Cross-checks between inputs (flows vs inventory, settings vs lock); AWS quotas are in microseg.limits."""

from __future__ import annotations

from collections.abc import Collection

from microseg.allocate.core import layout_core
from microseg.errors import Collector, ExhaustedError
from microseg.model import FlowSet, Settings, Workload
from microseg.netaddr import cidr_span, fmt_ip, parse_network, span
from microseg.state import LockState, VpcAlloc


def check_lock(settings: Settings, lock: LockState, lock_file: str, problems: Collector) -> None:
    if lock.core_cidr is not None and lock.core_cidr != settings.core_cidr:
        problems.error(
            settings.file,
            settings.line_of("core_cidr"),
            "core_cidr",
            f"{lock_file} was generated with core {lock.core_cidr}; changing it renumbers every pod and core "
            "subnet (start from an empty output directory to do that deliberately)",
        )


def check_transport_lock(settings: Settings, lock: LockState, lock_file: str, problems: Collector) -> None:
    """What the lock's transport addresses must mean under these settings: the TGW CIDR block is the
    one the lock's Connect peers came from, and each pod's GRE address lies in its own AZ's
    internal subnet, above every fw internal address and below the subnet's last (AWS's)."""
    block = lock.connect_cidr_block
    if settings.transport == "connect" and block is not None and block != settings.connect_cidr_block:
        key = "pods.connect_cidr_block" if settings.line_of("pods.connect_cidr_block") else "pods.transport"
        problems.error(
            settings.file,
            settings.line_of(key),
            key,
            f"{lock_file} has Connect peers from the TGW CIDR block {block}; changing it renumbers every "
            f'Connect peer (set connect_cidr_block = "{block}", or start from an empty output directory)',
        )
    if settings.transport != "connect" or lock.core_cidr != settings.core_cidr:
        return  # the other transport's addresses are dropped; a core change is refused above
    try:
        core = layout_core(settings, [])
    except ExhaustedError:
        return  # a core too small for its AZs is reported (exit 3) when the fleet is laid out
    lines: dict[str, int] | None = None
    for p in lock.pods.values():
        if p.connect_address is None or p.az not in core.internal_base:
            continue
        lo, hi = core.connect_range(p.az)
        if not lo <= cidr_span(f"{p.connect_address}/32")[0] <= hi:
            from microseg.parse.lockfile import key_lines, line_of  # a bad lock only: not on every run

            lines = key_lines(lock.source) if lines is None else lines
            problems.error(
                lock_file,
                line_of(f"pods.{p.name}.connect_address", lines),
                f"pods.{p.name}.connect_address",
                f"{p.connect_address} is not a GRE address of {p.az}: those are {fmt_ip(lo)}-{fmt_ip(hi)} "
                f"in its internal subnet {core.subnets[p.az]['internal']}",
            )


def check_flows(flows: FlowSet, workloads: dict[str, Workload], problems: Collector) -> None:
    # Unpacked in the loop header: named-tuple attributes cost a descriptor call each, 50k flows
    # (and a starred target a list each).
    for line, (src_kind, src_value), dst, _, _, _, _, _ in flows.flows:
        if src_kind != "workload":
            continue
        if dst[0] == "internet":
            w = workloads.get(src_value)
            if w is not None and not w.internet_egress:
                problems.error(
                    flows.file,
                    line,
                    "destination",
                    f"{w.name} has internet_egress=false in the inventory; a flow to internet needs it",
                )
        elif dst[0] == "workload" and dst[1] == src_value:
            problems.warn(
                flows.file,
                line,
                "destination",
                "flow stays inside one VPC: only its security group applies",
            )


def check_supernet(
    settings: Settings,
    allocs: dict[str, VpcAlloc],
    workloads: dict[str, Workload],
    inv_file: str,
    problems: Collector,
    inside: Collection[str] = (),
) -> None:
    """``inside``: workloads known to lie inside the supernet (allocated from it in this run)."""
    lo, hi = span(*parse_network(settings.workload_supernet))
    for name, a in allocs.items():
        if a.pinned or name in inside:
            continue
        s, e = cidr_span(a.cidr)
        if s < lo or e > hi:
            problems.warn(
                inv_file,
                workloads[name].line,
                "name",
                f"{name} keeps {a.cidr}, outside workload_supernet {settings.workload_supernet} "
                "(allocations never move)",
            )
