"""Workload VPC CIDRs and subnets, stable against the lock.

Existing workloads never move; removed ones become tombstones that keep their addresses until
released; pins are honoured and checked; new workloads are packed largest first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from microseg.allocate.blocks import BlockPool
from microseg.allocate.layout import (
    AWS_RESERVED,
    attachment_slot,
    slots_fit,
    subnet_size,
    workload_slot,
)
from microseg.errors import Collector, ExhaustedError, Problem
from microseg.model import Settings, Workload
from microseg.netaddr import cidr_span, fmt, parse_network, size, span
from microseg.state import LockState, VpcAlloc

RELEASE = "--release"


@dataclass(frozen=True, slots=True)
class WorkloadAllocation:
    workloads: dict[str, VpcAlloc]  # every inventory workload
    tombstones: dict[str, VpcAlloc]
    released: tuple[str, ...]
    pooled: frozenset[str] = frozenset()  # allocated from workload_supernet in this run: inside it


def allocate_workloads(
    workloads: tuple[Workload, ...],
    settings: Settings,
    lock: LockState,
    release: tuple[str, ...],
    inventory_file: str,
    problems: Collector,
) -> WorkloadAllocation:
    names = {w.name for w in workloads}
    locked = dict(lock.workloads)
    tombs = dict(lock.tombstones)
    released: list[str] = []
    for name in dict.fromkeys(release):
        if name in names:
            problems.error(RELEASE, 0, name, "is still in the inventory; remove its row before releasing it")
        elif name in locked or name in tombs:
            locked.pop(name, None)
            tombs.pop(name, None)
            released.append(name)
        else:
            problems.error(RELEASE, 0, name, "is neither a workload nor a tombstone in the lock")

    result: dict[str, VpcAlloc] = {}
    fresh: list[Workload] = []
    for w in workloads:
        prior = locked.get(w.name) or tombs.get(w.name)
        if prior is None:
            fresh.append(w)
        else:
            kept = _keep(w, prior, settings, inventory_file, problems)
            if kept is not None:
                result[w.name] = kept
    for name in names:
        tombs.pop(name, None)  # a returning workload gets its tombstone back as a live allocation
    for name, alloc in locked.items():
        if name not in names:
            tombs[name] = alloc

    # Everything already holding addresses, with who holds it, for overlap checks on pins.
    held: list[tuple[int, int, str, Workload | None]] = []
    core = parse_network(settings.core_cidr)
    held.append((*span(*core), f"the core {settings.core_cidr}", None))
    if settings.connect_cidr_block is not None:
        block = settings.connect_cidr_block
        held.append((*cidr_span(block), f"the TGW CIDR block {block} ([pods] connect_cidr_block)", None))
    for name, alloc in result.items():
        held.append((*cidr_span(alloc.cidr), f"workload {name} ({alloc.cidr})", None))
    for name, alloc in tombs.items():
        held.append(
            (*cidr_span(alloc.cidr), f"tombstone {name} ({alloc.cidr}; free it with --release)", None)
        )
    for w in fresh:
        if w.cidr is not None:
            held.append((*span(*parse_network(w.cidr)), f"workload {w.name} ({w.cidr})", w))
    _overlaps(held, inventory_file, problems)

    pool_addr, pool_prefix = parse_network(settings.workload_supernet)
    _check_room(fresh, held, pool_addr, pool_prefix, settings, inventory_file)
    pool = BlockPool(pool_addr, pool_prefix, [(s, e) for s, e, _, _ in held])
    exhausted: list[Problem] = []
    pooled: set[str] = set()
    for w in sorted((w for w in fresh if w.cidr is None), key=lambda w: (w.vpc_prefix, w.name)):
        assert w.vpc_prefix is not None
        addr = pool.allocate(w.vpc_prefix)
        if addr is None:
            exhausted.append(
                Problem(
                    inventory_file,
                    w.line,
                    "name",
                    f"no free /{w.vpc_prefix} left for {w.name} "
                    f"in workload_supernet {settings.workload_supernet}",
                )
            )
            continue
        result[w.name] = _fresh(w, addr, w.vpc_prefix, settings, pinned=False)
        pooled.add(w.name)
    for w in fresh:
        if w.cidr is not None:
            addr, prefix = parse_network(w.cidr)
            result[w.name] = _fresh(w, addr, prefix, settings, pinned=True)
    if exhausted and not problems.errors:
        raise ExhaustedError(exhausted)
    problems.errors.extend(exhausted)
    return WorkloadAllocation(result, tombs, tuple(sorted(released)), frozenset(pooled))


def _check_room(
    fresh: list[Workload],
    held: list[tuple[int, int, str, Workload | None]],
    base: int,
    prefix: int,
    settings: Settings,
    file: str,
) -> None:
    """Exit 3 at once when the new blocks add up to more than the pool has free."""
    lo, hi = span(base, prefix)
    taken = 0
    reach = lo
    for s, e, _, _ in sorted(held):  # union of held ranges, clipped to the pool
        s, e = max(s, reach), min(e, hi)
        if s < e:
            taken += e - s
            reach = e
    need = sum(size(w.vpc_prefix) for w in fresh if w.cidr is None and w.vpc_prefix is not None)
    if need > hi - lo - taken:
        raise ExhaustedError(
            [
                Problem(
                    settings.file,
                    settings.line_of("workload_supernet"),
                    "workload_supernet",
                    f"new workloads need {need:,} addresses, {settings.workload_supernet} has "
                    f"{hi - lo - taken:,} free",
                )
            ]
        )


def _fresh(w: Workload, addr: int, prefix: int, settings: Settings, pinned: bool) -> VpcAlloc:
    sp, offsets = _cut(prefix, w.azs)
    subnets = {
        az: (fmt(addr + wo, sp), fmt(addr + ao, 28))
        for az, (wo, ao) in zip(settings.azs, offsets, strict=False)
    }
    return VpcAlloc(fmt(addr, prefix), sp, subnets, pinned)


@functools.lru_cache(maxsize=256)
def _cut(prefix: int, azs: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """A new VPC's subnet prefix and, per AZ, its workload and attachment subnet offsets from the
    VPC's start: the same few shapes recur over 10k workloads, so computed once per shape."""
    vsize = size(prefix)
    s = subnet_size(vsize, azs)
    offsets = tuple((workload_slot(0, s, j), attachment_slot(0, vsize, j)) for j in range(azs))
    return 32 - (s.bit_length() - 1), offsets


def _keep(
    w: Workload, prior: VpcAlloc, settings: Settings, file: str, problems: Collector
) -> VpcAlloc | None:
    """The locked allocation, with subnets added or dropped for a changed AZ count."""
    addr, end = cidr_span(prior.cidr)
    vsize, s = end - addr, size(prior.subnet_prefix)
    prefix = 32 - (vsize.bit_length() - 1)
    ok = True
    if w.cidr is not None and w.cidr != prior.cidr:
        problems.error(
            file, w.line, "cidr", f"{w.name} is locked to {prior.cidr}; a different pin would renumber it"
        )
        ok = False
    if w.vpc_prefix is not None and w.vpc_prefix < prefix:
        col = "prefix_length" if w.prefix_explicit else "hosts"
        problems.error(
            file,
            w.line,
            col,
            f"{w.name} is locked to {prior.cidr}; growing it to a /{w.vpc_prefix} would renumber it "
            "(add a secondary workload, or remove it, --release it and add it back)",
        )
        ok = False
    elif w.prefix_explicit and w.vpc_prefix is not None and w.vpc_prefix > prefix:
        problems.warn(file, w.line, "prefix_length", f"{w.name} keeps its locked /{prefix} ({prior.cidr})")
    fits_block = w.vpc_prefix is not None and w.vpc_prefix >= prefix
    if w.hosts is not None and fits_block and s - AWS_RESERVED < -(-w.hosts // w.azs):
        problems.error(
            file,
            w.line,
            "hosts",
            f"{w.hosts} hosts over {w.azs} AZ(s) do not fit {w.name}'s locked /{prior.subnet_prefix} subnets",
        )
        ok = False
    wanted = settings.azs[: w.azs]
    subnets = {az: prior.subnets[az] for az in wanted if az in prior.subnets}
    used_w = {(cidr_span(a)[0] - addr) // s for a, _ in subnets.values()}
    used_a = {(addr + vsize - cidr_span(b)[0]) // 16 - 1 for _, b in subnets.values()}
    for az in wanted:
        if az in subnets:
            continue
        j = min(set(range(len(wanted) + len(prior.subnets) + 1)) - used_w)
        k = min(set(range(len(wanted) + len(prior.subnets) + 1)) - used_a)
        used_w.add(j)
        used_a.add(k)
        subnets[az] = (
            fmt(workload_slot(addr, s, j), prior.subnet_prefix),
            fmt(attachment_slot(addr, vsize, k), 28),
        )
    if used_w and not slots_fit(vsize, s, max(used_w), max(used_a)):
        problems.error(
            file,
            w.line,
            "azs",
            f"{w.name} ({prior.cidr}, /{prior.subnet_prefix} subnets) has no room for {w.azs} AZs "
            "without renumbering its subnets",
        )
        ok = False
    return (
        VpcAlloc(prior.cidr, prior.subnet_prefix, dict(sorted(subnets.items())), prior.pinned) if ok else None
    )


def _overlaps(held: list[tuple[int, int, str, Workload | None]], file: str, problems: Collector) -> None:
    """One sweep over all held ranges, reporting each overlap once, on the inventory row if any."""
    held = sorted(held, key=lambda h: (h[0], -h[1]))
    reach: tuple[int, int, str, Workload | None] | None = None
    for item in held:
        if reach is not None and item[0] < reach[1]:
            row = item[3] or reach[3]
            other = reach[2] if row is item[3] else item[2]
            if row is not None:
                problems.error(file, row.line, "cidr", f"{row.cidr} overlaps {other}")
            else:
                problems.error(file, 0, "-", f"{item[2]} overlaps {reach[2]} (check the lock)")
        if reach is None or item[1] > reach[1]:
            reach = item
