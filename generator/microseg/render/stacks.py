"""DIR/stacks/*.auto.tfvars.json: one file per root module a pipeline applies (docs/stacks.md).

`network.auto.tfvars.json` feeds stacks/network (the network account) and
`workloads-<account_id>.auto.tfvars.json` feeds one stacks/workloads instance per account that owns
workloads (`workloads-network` for rows without account_id). Each holds what its stack needs and
nothing more: a workload account's file names other accounts' workloads only through the CIDRs its
security-group rules admit or reach. The policy the HCL once derived (egress grouping, CIDRs outside
the supernet, required pods) is decided here, so the stacks only consume values.
"""

from __future__ import annotations

import re
from typing import Any

from microseg.netaddr import cidr_span
from microseg.plan import Plan
from microseg.render.flowlines import tfvars_flow
from microseg.render.jsonfmt import Lines, Record
from microseg.render.records import ingress_rule
from microseg.render.tfvars import pod_json, transport_json

STACKS_DIR = "stacks"
NETWORK_FILE = "network.auto.tfvars.json"
# What AWS accepts in a security-group rule description (the policy's ingress rules use the same).
_SG_DESC = re.compile(r"[^A-Za-z0-9. _:/()#,@\[\]+=&;{}!$*-]")


def stack_name(account_id: str | None) -> str:
    """The stack a workload row belongs to (microseg.diff names the same stacks)."""
    return f"workloads-{account_id or 'network'}"


def stack_file(account_id: str | None) -> str:
    return f"{stack_name(account_id)}.auto.tfvars.json"


def egress_rules(plan: Plan) -> dict[str, list[str]]:
    """Each workload's security-group egress: the approved flows it is the source of, one rule per
    (protocol, ports, destination CIDR); a rule approved by several flows names each distinct
    `<reference> <source> to <destination>` once, joined by ", " (at most 255 characters)."""
    grouped: dict[str, dict[str, tuple[tuple[str, int, int, str], list[str]]]] = {}
    for f in plan.policy.flows:
        if f.source not in plan.workloads:
            continue  # a CIDR source: no security group of ours sends it
        key = f"{f.protocol}-{f.from_port}-{f.to_port}-{f.destination_cidr}"
        by_key = grouped.setdefault(f.source, {})
        entry = by_key.get(key)
        desc = _SG_DESC.sub("_", f"{f.reference} {f.source} to {f.destination}")
        if entry is None:
            by_key[key] = ((f.protocol, f.from_port, f.to_port, f.destination_cidr), [desc])
        elif desc not in entry[1]:
            entry[1].append(desc)
    return {
        name: [
            ingress_rule(proto, lo, hi, cidr, ", ".join(descs)[:255])
            for _, ((proto, lo, hi, cidr), descs) in sorted(by_key.items())
        ]
        for name, by_key in grouped.items()
    }


def outside_supernet(plan: Plan) -> list[str]:
    """Workload CIDRs (brownfield pins) not inside workload_supernet: the core routes them to the TGW too."""
    lo, hi = cidr_span(plan.settings.workload_supernet)
    out = set()
    for a in plan.allocations.values():
        start, end = cidr_span(a.cidr)
        if start < lo or end > hi:
            out.add(a.cidr)
    return sorted(out, key=cidr_span)


def _common(plan: Plan) -> dict[str, Any]:
    s = plan.settings
    return {"name": s.name, "region": s.region, "tags": dict(s.tags)}


def render_network(plan: Plan) -> dict[str, Any]:
    """stacks/network: the TGW, core VPC, pods, health, management, observability, RAM share."""
    s = plan.settings
    return {
        **_common(plan),
        "azs": list(s.azs),
        "asn": dict(plan.asn),
        "workload_supernet": s.workload_supernet,
        "outside_supernet_cidrs": outside_supernet(plan),
        "core": {"cidr": plan.core.cidr, "subnets": {az: Record(v) for az, v in plan.core.subnets.items()}},
        "transport": transport_json(s),
        "pods": {p.name: pod_json(plan, p) for p in plan.pods.values()},
        "required_pods": plan.fleet.required,
        "instance_types": dict(s.instance_types),
        # What the pods' firewalls and shaping need of every workload; the VPCs are the accounts' own.
        "workloads": {
            name: Record(
                account_id=w.account_id,
                cidr=plan.allocations[name].cidr,
                internet_egress=w.internet_egress,
                qos_mbps_per_pod=plan.qos[name],
            )
            for name, w in plan.workloads.items()
        },
        "ram_share_accounts": sorted({w.account_id for w in plan.workloads.values() if w.account_id}),
        "flows": Lines(map(tfvars_flow, plan.policy.flows)),
        "management": {"allowed_domains": list(s.allowed_domains)},
    }


def render_workload_stacks(plan: Plan) -> dict[str, dict[str, Any]]:
    """stacks/workloads inputs, keyed by file name: one per account that owns workloads."""
    egress = egress_rules(plan)
    ingress = plan.policy.ingress
    by_account: dict[str | None, dict[str, Any]] = {}
    for name, w in plan.workloads.items():
        a = plan.allocations[name]
        by_account.setdefault(w.account_id, {})[name] = {
            "cidr": a.cidr,
            "azs": list(a.subnets),
            "subnets": {az: Record(workload=wl, attachment=at) for az, (wl, at) in sorted(a.subnets.items())},
            "bandwidth_mbps": w.bandwidth_mbps,
            "environment": w.environment,
            "owner": w.owner,
            "cost_center": w.cost_center,
            "ingress_rules": Lines(ingress.get(name, [])),
            "egress_rules": Lines(egress.get(name, [])),
        }
    return {
        stack_file(account): {
            **_common(plan),
            "account_id": account,
            "transit_gateway_asn": plan.asn["transit_gateway"],
            "workloads": workloads,
        }
        for account, workloads in sorted(by_account.items(), key=lambda kv: kv[0] or "")
    }


def render_stacks(plan: Plan) -> dict[str, dict[str, Any]]:
    """Every file of DIR/stacks/, keyed by file name."""
    return {NETWORK_FILE: render_network(plan), **render_workload_stacks(plan)}
