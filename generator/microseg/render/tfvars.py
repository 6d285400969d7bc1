"""microseg.auto.tfvars.json, exactly as docs/tfvars-contract.md describes it."""

from __future__ import annotations

from typing import Any

from microseg.plan import Plan
from microseg.render.flowlines import tfvars_flow
from microseg.render.jsonfmt import Lines, Record


def render_tfvars(plan: Plan) -> dict[str, Any]:
    s = plan.settings
    workloads: dict[str, Any] = {}
    for name, w in plan.workloads.items():
        a = plan.allocations[name]
        workloads[name] = {
            "cidr": a.cidr,
            "azs": list(a.subnets),
            "subnets": {az: Record(workload=wl, attachment=at) for az, (wl, at) in a.subnets.items()},
            "internet_egress": w.internet_egress,
            "bandwidth_mbps": w.bandwidth_mbps,
            "qos_mbps_per_pod": plan.qos[name],
            "account_id": w.account_id,
            "environment": w.environment,
            "owner": w.owner,
            "cost_center": w.cost_center,
            "ingress_rules": plan.policy.ingress.get(name, []),
        }
    return {
        "name": s.name,
        "region": s.region,
        "azs": list(s.azs),
        "tags": dict(s.tags),
        "asn": dict(plan.asn),
        "workload_supernet": s.workload_supernet,
        "core": {"cidr": plan.core.cidr, "subnets": {az: Record(v) for az, v in plan.core.subnets.items()}},
        "pods": {
            p.name: Record(
                index=p.index,
                az=p.az,
                bridge_cidr=plan.core.bridge(p.index),
                tunnel_inside_cidrs=list(p.tunnel_inside_cidrs),
            )
            for p in plan.pods.values()
        },
        "instance_types": dict(s.instance_types),
        "workloads": workloads,
        "ram_share_accounts": sorted({w.account_id for w in plan.workloads.values() if w.account_id}),
        "flows": Lines(map(tfvars_flow, plan.policy.flows)),
        "management": {"allowed_domains": list(s.allowed_domains)},
    }
