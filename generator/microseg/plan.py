"""The pure core: validated inputs + the previous lock -> a complete Plan (no I/O here)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from microseg import limits, validate
from microseg.allocate.asn import allocate_asns
from microseg.allocate.core import CoreLayout, layout_core, max_pods
from microseg.allocate.pods import FleetSize, check_fleet, place_pods, size_fleet
from microseg.allocate.transport import assign_transport
from microseg.allocate.workloads import allocate_workloads
from microseg.cost import estimate
from microseg.errors import Collector, Problem
from microseg.model import BroadFlow, FlowSet, Inventory, Settings, Workload
from microseg.netaddr import cidr_span, parse_network, span
from microseg.policy import Policy, build_policy
from microseg.segmentation import check_flow_cidrs
from microseg.state import InputRecord, LockState, PodAlloc, VpcAlloc


@dataclass(frozen=True, slots=True)
class Plan:
    settings: Settings
    workloads: dict[str, Workload]  # sorted by name
    allocations: dict[str, VpcAlloc]  # sorted by name
    tombstones: dict[str, VpcAlloc]
    released: tuple[str, ...]
    asn: dict[str, int]
    fleet: FleetSize
    pods: dict[int, PodAlloc]
    core: CoreLayout
    policy: Policy
    cost: dict[str, object]
    qos: dict[str, float]
    warnings: list[Problem] = field(default_factory=list)
    broad_flows: tuple[BroadFlow, ...] = ()  # opted-in broad flow endpoints, listed for audit
    inputs: dict[str, InputRecord | None] = field(default_factory=dict)  # recorded in the lock
    quotas: tuple[limits.Need, ...] = ()  # what the fleet takes of each AWS quota (for the report)
    outside: tuple[str, ...] = ()  # outside_supernet(settings, allocations), worked out once
    generation: str = ""  # id of the written set (empty until written)

    def lock(self) -> LockState:
        return LockState(
            self.settings.core_cidr,
            self.allocations,
            self.tombstones,
            self.asn,
            self.pods,
            self.inputs,
            self.settings.connect_cidr_block,
        )


def build_plan(
    settings: Settings,
    inventory: Inventory,
    flows: FlowSet | None,
    lock: LockState,
    release: tuple[str, ...] = (),
    lock_file: str = "microseg.lock.json",
    problems: Collector | None = None,
) -> Plan:
    """Raises InputError (exit 1) or ExhaustedError (exit 3); warnings end up in Plan.warnings."""
    problems = problems or Collector()
    flows = flows or FlowSet("flows.csv", ())
    workloads = {w.name: w for w in sorted(inventory.workloads, key=lambda w: w.name)}
    validate.check_lock(settings, lock, lock_file, problems)
    validate.check_transport_lock(settings, lock, lock_file, problems)
    validate.check_flows(flows, workloads, problems)
    broad = check_flow_cidrs(flows, settings, workloads, lock, problems)
    problems.raise_if_errors()

    # Sizes first: an impossible fleet answers exit 3 before anything is allocated.
    total_mbps = sum(w.bandwidth_mbps for w in workloads.values())
    required, total = size_fleet(total_mbps, settings)
    check_fleet(
        required, total, settings, max_pods(settings.core_cidr, len(settings.azs), settings.transport)
    )
    needs = limits.fleet_needs(settings, total, len(workloads))
    limits.enforce(settings, needs)

    alloc = allocate_workloads(inventory.workloads, settings, lock, release, inventory.file, problems)
    asn = allocate_asns(settings, lock.asn, problems)
    problems.raise_if_errors()
    allocations = dict(sorted(alloc.workloads.items()))
    validate.check_supernet(settings, allocations, workloads, inventory.file, problems, alloc.pooled)

    placed = place_pods(total, settings, lock.pods)
    core = layout_core(settings, list(placed))
    pods = assign_transport(placed, settings, core)
    per_az = {az: sum(1 for p in pods.values() if p.az == az) for az in settings.azs}
    fleet = FleetSize(settings.pod_capacity_mbps, total_mbps, required, settings.spare_pods, total, per_az)
    qos = {name: round(w.bandwidth_mbps / required, 3) for name, w in workloads.items()}
    for name, w in workloads.items():
        if w.bandwidth_mbps / required > settings.pod_capacity_mbps:
            problems.warn(
                inventory.file,
                w.line,
                "bandwidth_mbps",
                f"{name}'s share per pod ({qos[name]} Mbps) exceeds one pod's capacity",
            )

    cidrs = {name: a.cidr for name, a in allocations.items()}
    policy = build_policy(flows, cidrs, core.internal_block)
    cost = estimate(settings, list(workloads.values()), total)
    # Security-group rules need the policy: still before anything is written (exit 3 all the same).
    outside = outside_supernet(settings, allocations, alloc.pooled)
    # The supernet plus every distinct workload CIDR outside it: what the pod's fw groups list.
    sg = limits.sg_needs(settings, policy.rules, 1 + len(outside))
    limits.enforce(settings, sg)
    limits.warn(settings, needs + sg, problems)
    limits.throughput_warnings(settings, problems)
    return Plan(
        settings=settings,
        workloads=workloads,
        allocations=allocations,
        tombstones=dict(sorted(alloc.tombstones.items())),
        released=alloc.released,
        asn=asn,
        fleet=fleet,
        pods=pods,
        core=core,
        policy=policy,
        cost=cost,
        qos=qos,
        warnings=sorted(set(problems.warnings), key=lambda p: (p.file, p.line, p.column, p.message)),
        broad_flows=broad,
        quotas=tuple(needs + sg),
        outside=tuple(outside),
    )


def outside_supernet(
    settings: Settings, allocations: dict[str, VpcAlloc], inside: Collection[str] = ()
) -> list[str]:
    """Workload CIDRs (brownfield pins) not inside workload_supernet, sorted by address: the core
    routes them to the TGW too, and the pods' fw groups list them beside the supernet. ``inside``:
    workloads known to lie inside it (allocated from it in this run)."""
    lo, hi = span(*parse_network(settings.workload_supernet))
    outside = set()
    for name, a in allocations.items():
        if name in inside:
            continue
        s, e = cidr_span(a.cidr)
        if s < lo or e > hi:
            outside.add(a.cidr)
    return sorted(outside, key=cidr_span)
