"""microseg.auto.tfvars.json, exactly as docs/tfvars-contract.md describes it."""

from __future__ import annotations

from typing import Any

from microseg.model import Settings
from microseg.plan import Plan
from microseg.render.flowlines import tfvars_flow
from microseg.render.jsonfmt import Lines, Raw, Record
from microseg.render.lockfile import pod_record
from microseg.render.records import workload_json
from microseg.state import PodAlloc


def render_tfvars(plan: Plan) -> dict[str, Any]:
    s = plan.settings
    workloads: dict[str, Any] = {}
    ingress = plan.policy.ingress
    for name, w in plan.workloads.items():
        a = plan.allocations[name]
        workloads[name] = Raw(
            workload_json(
                account_id=w.account_id,
                azs=list(a.subnets),
                bandwidth=w.bandwidth_mbps,
                cidr=a.cidr,
                cost_center=w.cost_center,
                environment=w.environment,
                ingress_rules=ingress.get(name, []),
                internet_egress=w.internet_egress,
                owner=w.owner,
                qos=plan.qos[name],
                subnets=a.subnets,
            )
        )
    return {
        "name": s.name,
        "region": s.region,
        "azs": list(s.azs),
        "tags": dict(s.tags),
        "asn": dict(plan.asn),
        "workload_supernet": s.workload_supernet,
        "core": {"cidr": plan.core.cidr, "subnets": {az: Record(v) for az, v in plan.core.subnets.items()}},
        "transport": transport_json(s),
        "pods": {p.name: pod_json(plan, p) for p in plan.pods.values()},
        "instance_types": dict(s.instance_types),
        "workloads": workloads,
        "ram_share_accounts": sorted({w.account_id for w in plan.workloads.values() if w.account_id}),
        "flows": Lines(map(tfvars_flow, plan.policy.flows)),
        "management": {"allowed_domains": list(s.allowed_domains)},
    }


def transport_json(s: Settings) -> dict[str, Any]:
    """The fleet's transport, as docs/tfvars-contract.md describes it (null where it does not apply)."""
    return {
        "type": s.transport,
        "tunnel_bandwidth": s.tunnel_bandwidth if s.transport == "vpn" else None,
        "connect_peers": s.connect_peers if s.transport == "connect" else None,
        "transit_gateway_cidr_block": s.connect_cidr_block if s.transport == "connect" else None,
    }


def pod_json(plan: Plan, p: PodAlloc) -> Record:
    """A pod as the modules take it: its lock record plus the bridge subnet (one line)."""
    record = pod_record(p)
    record["bridge_cidr"] = plan.core.bridge(p.index)
    return record
