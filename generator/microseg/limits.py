"""AWS quotas and instance throughput against the computed fleet.

A quota written in [quotas] states the account's real quota and is a limit like the address pools:
exceeding it exits 3 before anything is allocated or written. A quota left at AWS's default only
warns (it can be raised), from 80 % of it. Instance types that cannot carry a pod's capacity warn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sized
from dataclasses import dataclass

from microseg.errors import Collector, ExhaustedError, Problem
from microseg.model import Settings
from microseg.parse.settings import QUOTA_FIELDS, SG_RULES_TIMES_GROUPS

NEAR = 0.8  # warn at 80 % of a quota
UNRESERVED_LAMBDA = 100  # AWS keeps this much of the account's Lambda concurrency unreserved
ADVERTISED_PREFIXES = 1  # a pod advertises only 0.0.0.0/0 (modules/pod: prefix-list MICROSEG-OUT)


@dataclass(frozen=True, slots=True)
class Need:
    key: str  # [quotas] key
    need: int
    what: str


def eips_per_pod(settings: Settings) -> int:
    """vpn: the vpn instance's tunnel endpoint and the fw's SNAT address; connect: the fw's only
    (the vpn instance speaks GRE over the core's VPC attachment, no public address)."""
    return 2 if settings.transport == "vpn" else 1


def fleet_needs(settings: Settings, pods: int, workloads: int) -> list[Need]:
    """What the fleet takes of each region-wide quota, known before allocation."""
    needs = [
        Need(
            "tgw_attachments",
            workloads + pods + 2,
            "TGW attachments (workloads, one per pod, core, management)",
        ),
        Need(
            "elastic_ips_per_region",
            eips_per_pod(settings) * pods + 1,
            f"Elastic IPs ({eips_per_pod(settings)} per pod on {settings.transport} transport + the NAT)",
        ),
        Need(
            "lambda_concurrent_executions",
            pods + UNRESERVED_LAMBDA,
            f"Lambda concurrency (1 reserved per pod + the {UNRESERVED_LAMBDA} AWS keeps unreserved)",
        ),
        Need(
            "routes_per_customer_gateway",
            ADVERTISED_PREFIXES,
            "prefixes each pod advertises to the TGW (0.0.0.0/0)",
        ),
    ]
    if settings.transport == "vpn":
        needs += [
            Need("vpn_connections_per_region", pods, "VPN connections (one per pod)"),
            Need("customer_gateways_per_region", pods, "customer gateways (one per pod)"),
        ]
    return needs


def sg_needs(settings: Settings, ingress: Mapping[str, Sized], workload_ranges: int) -> list[Need]:
    """Security-group rules, counted as AWS counts them (one per CIDR, port range and protocol) after
    the policy merged adjacent and overlapping ports: the busiest workload group's inbound rules, and
    the fw groups that list every workload range (modules/pod: fw-bridge in, fw-internal out)."""
    worst = max(((len(r), n) for n, r in ingress.items()), default=(0, ""))
    needs = [
        Need(
            "security_group_rules",
            workload_ranges + 1,
            "rules in each pod's fw-bridge and fw-internal groups",
        )
    ]
    if worst[0]:
        needs.append(Need("security_group_rules", worst[0], f"inbound rules in {worst[1]}'s security group"))
    return needs


def enforce(settings: Settings, needs: list[Need]) -> None:
    """Exit 3 for every need above a quota the settings state."""
    found = []
    for n in needs:
        quota = getattr(settings, QUOTA_FIELDS[n.key])
        line = settings.line_of(f"quotas.{n.key}")
        if line and n.need > quota:
            found.append(
                Problem(
                    settings.file,
                    line,
                    f"quotas.{n.key}",
                    f"{n.what}: {_count(n.need)} needed, the quota is {quota:,}",
                )
            )
    if found:
        raise ExhaustedError(found)


def warn(settings: Settings, needs: list[Need], problems: Collector) -> None:
    for n in needs:
        quota = getattr(settings, QUOTA_FIELDS[n.key])
        key = f"quotas.{n.key}"
        line = settings.line_of(key)
        whose = "your quota" if line else "the AWS default"
        if n.need > quota:
            hint = "; request a quota increase first"
            if n.key == "security_group_rules":
                ceiling = SG_RULES_TIMES_GROUPS // settings.quota_sg_per_eni
                hint += f" (at most {ceiling} with {settings.quota_sg_per_eni} groups per network interface)"
            problems.warn(
                settings.file, line, key, f"{n.what}: {_count(n.need)} exceeds {whose} of {quota:,}{hint}"
            )
        elif n.need >= NEAR * quota:
            problems.warn(
                settings.file, line, key, f"{n.what}: {_count(n.need)} is near {whose} of {quota:,}"
            )


def throughput_warnings(settings: Settings, problems: Collector) -> None:
    """Where an instance type's sustained network bandwidth, or the vpn's IPsec estimate, cannot
    reach one pod's capacity (both directions cross each instance, each within its own duplex half)."""
    capacity = settings.pod_capacity_mbps
    for role in ("vpn", "fw"):
        itype = settings.instance_types[role]
        key = f"instance_types.{role}"
        line = settings.line_of(key)
        network = settings.network_mbps.get(itype)
        if network is None:
            problems.warn(
                settings.file,
                line,
                key,
                f"no baseline bandwidth known for {itype}: add it under [throughput.network_mbps] "
                f"to check it carries {capacity:g} Mbps",
            )
            continue
        if network < capacity:
            problems.warn(
                settings.file,
                line,
                key,
                f"{itype} sustains {network:g} Mbps, less than a pod's capacity of {capacity:g} Mbps; "
                "choose a larger type or lower [pods] capacity_mbps",
            )
        if role == "vpn" and settings.transport == "vpn":
            vcpus = settings.vcpus.get(itype)
            if vcpus is None:
                problems.warn(
                    settings.file,
                    line,
                    key,
                    f"no vCPU count known for {itype}: add it under [throughput.vcpus]",
                )
            elif vcpus * settings.ipsec_mbps_per_vcpu < capacity:
                problems.warn(
                    settings.file,
                    line,
                    key,
                    f"{itype}'s IPsec estimate is {vcpus} vCPUs x {settings.ipsec_mbps_per_vcpu:g} Mbps "
                    f"= {vcpus * settings.ipsec_mbps_per_vcpu:g} Mbps, less than a pod's capacity "
                    f"of {capacity:g} Mbps",
                )


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"more than {10**15:,}"
