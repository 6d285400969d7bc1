"""The segmentation guard: a flow CIDR that would open segmentation is an error unless its row
opts in with a `broad` justification, which the report then lists for audit."""

from __future__ import annotations

import bisect

from microseg.errors import Collector
from microseg.model import BroadFlow, FlowSet, Settings, Workload
from microseg.netaddr import cidr_span, parse_network, span
from microseg.state import LockState


class _Held:
    """Named address ranges, searchable for overlaps in O(log n) per query."""

    def __init__(self, ranges: list[tuple[int, int, str]]) -> None:
        self.ranges = sorted(ranges)
        self.starts = [r[0] for r in self.ranges]
        # Longest range seen so far, so a wide early range is found from any later start.
        self.reach: list[int] = []
        top = -1
        for _, e, _ in self.ranges:
            top = max(top, e)
            self.reach.append(top)

    def hits(self, start: int, end: int, limit: int = 3) -> list[str]:
        out: list[str] = []
        i = bisect.bisect_left(self.starts, end) - 1
        while i >= 0 and self.reach[i] > start and len(out) < limit:
            s, e, what = self.ranges[i]
            if s < end and start < e:
                out.append(what)
            i -= 1
        return sorted(out)


def held_ranges(settings: Settings, workloads: dict[str, Workload], lock: LockState) -> _Held:
    pool = settings.workload_supernet
    ranges = [
        (*span(*parse_network(settings.core_cidr)), f"the core {settings.core_cidr}"),
        (*span(*parse_network(pool)), f"workload_supernet {pool}"),
    ]
    for name, a in lock.workloads.items():
        ranges.append((*cidr_span(a.cidr), f"workload {name} ({a.cidr})"))
    for name, a in lock.tombstones.items():
        ranges.append((*cidr_span(a.cidr), f"tombstone {name} ({a.cidr})"))
    for w in workloads.values():
        if w.cidr is not None and w.name not in lock.workloads:
            ranges.append((*cidr_span(w.cidr), f"workload {w.name} ({w.cidr})"))
    return _Held(ranges)


def check_flow_cidrs(
    flows: FlowSet,
    settings: Settings,
    workloads: dict[str, Workload],
    lock: LockState,
    problems: Collector,
) -> tuple[BroadFlow, ...]:
    """Errors for broad CIDR endpoints without a justification; the justified ones, for the report."""
    held = held_ranges(settings, workloads, lock)
    limit = settings.broadest_flow_prefix
    verdicts: dict[str, tuple[str, ...]] = {}
    broad: list[BroadFlow] = []
    for f in flows.flows:
        # Most flows name two workloads: skip them without building anything (50k flows, twice a run).
        if f[1][0] != "cidr" and f[2][0] != "cidr" and not f[7]:
            continue
        found: list[tuple[str, str, tuple[str, ...]]] = []
        for col, ep in (("source", f.source), ("destination", f.destination)):
            if ep.kind != "cidr":
                continue
            reasons = verdicts.get(ep.value)
            if reasons is None:
                reasons = verdicts[ep.value] = _reasons(ep.value, held, limit)
            if reasons:
                found.append((col, ep.value, reasons))
        if found and not f.broad:
            for col, cidr, reasons in found:
                problems.error(
                    flows.file,
                    f.line,
                    col,
                    f"{cidr} would open segmentation: {'; '.join(reasons)}. Name the workload instead, "
                    "or opt in with a justification in the broad column",
                )
        elif found:
            for _, cidr, reasons in found:
                broad.append(BroadFlow(f.line, cidr, reasons, f.broad))
        elif f.broad:
            problems.warn(flows.file, f.line, "broad", "justification on a flow that is not broad; ignored")
    return tuple(broad)


def _reasons(cidr: str, held: _Held, limit: int) -> tuple[str, ...]:
    start, end = cidr_span(cidr)
    prefix = int(cidr.rpartition("/")[2])
    reasons = []
    if prefix < limit:
        reasons.append(f"wider than /{limit} (segmentation.broadest_prefix)")
    hits = held.hits(start, end)
    if hits:
        reasons.append("overlaps " + ", ".join(hits))
    return tuple(reasons)
