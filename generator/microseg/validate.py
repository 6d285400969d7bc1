"""Cross-checks between inputs (flows vs inventory, settings vs lock) and warnings near AWS quotas."""

from __future__ import annotations

from microseg.errors import Collector
from microseg.model import FlowSet, Settings, Workload
from microseg.netaddr import cidr_span, parse_network, span
from microseg.state import LockState, VpcAlloc

NEAR = 0.8  # warn at 80% of a quota


def check_lock(settings: Settings, lock: LockState, lock_file: str, problems: Collector) -> None:
    if lock.core_cidr is not None and lock.core_cidr != settings.core_cidr:
        problems.error(
            settings.file,
            settings.line_of("core_cidr"),
            "core_cidr",
            f"{lock_file} was generated with core {lock.core_cidr}; changing it renumbers every pod and core "
            "subnet (start from an empty output directory to do that deliberately)",
        )


def check_flows(flows: FlowSet, workloads: dict[str, Workload], problems: Collector) -> None:
    # Unpacked in the loop header: named-tuple attributes cost a descriptor call each, 50k flows.
    for line, (src_kind, src_value), dst, *_ in flows.flows:
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
) -> None:
    lo, hi = span(*parse_network(settings.workload_supernet))
    for name, a in allocs.items():
        if a.pinned:
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


def quota_warnings(
    settings: Settings,
    pods: int,
    prefixes: int,
    workload_count: int,
    ingress: dict[str, list[object]],
    problems: Collector,
) -> None:
    def check(value: int, quota: int, key: str, what: str) -> None:
        if value > quota:
            problems.warn(
                settings.file,
                settings.line_of(f"quotas.{key}"),
                f"quotas.{key}",
                f"{what}: {value} exceeds the AWS default of {quota}; request a quota increase first",
            )
        elif value >= NEAR * quota:
            problems.warn(
                settings.file,
                settings.line_of(f"quotas.{key}"),
                f"quotas.{key}",
                f"{what}: {value} is near the AWS default of {quota}",
            )

    check(pods, settings.quota_vpn_connections, "vpn_connections_per_region", "VPN connections (one per pod)")
    check(
        pods,
        settings.quota_customer_gateways,
        "customer_gateways_per_region",
        "customer gateways (one per pod)",
    )
    check(
        prefixes,
        settings.quota_routes_per_cgw,
        "routes_per_customer_gateway",
        "routes on each pod's BGP session (workload CIDRs + core)",
    )
    check(workload_count + pods + 2, settings.quota_tgw_attachments, "tgw_attachments", "TGW attachments")
    worst = max(((len(r), n) for n, r in ingress.items()), default=(0, ""))
    if worst[0]:
        check(
            worst[0],
            settings.quota_sg_rules,
            "security_group_rules",
            f"inbound rules in {worst[1]}'s security group",
        )
