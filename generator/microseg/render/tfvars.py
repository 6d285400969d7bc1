"""microseg.auto.tfvars.json, exactly as docs/tfvars-contract.md describes it."""

from __future__ import annotations

from typing import Any

from microseg.model import Settings
from microseg.plan import Plan
from microseg.render.jsonfmt import Raw, Record
from microseg.render.lockfile import pod_record
from microseg.render.records import TFVARS_WORKLOAD_KEYS, keyed_json
from microseg.render.shared import Shared, render_shared
from microseg.state import PodAlloc


def render_tfvars(plan: Plan, shared: Shared | None = None) -> dict[str, Any]:
    """``shared``: what this run already wrote for the stacks' tfvars too (render_shared)."""
    s = plan.settings
    shared = shared or render_shared(plan)
    workloads = {name: Raw(keyed_json(f, TFVARS_WORKLOAD_KEYS)) for name, f in shared.workloads.items()}
    return {
        "name": s.name,
        "region": s.region,
        "azs": list(s.azs),
        "tags": dict(s.tags),
        "asn": dict(plan.asn),
        "workload_supernet": s.workload_supernet,
        "outside_supernet_cidrs": list(plan.outside),
        "required_pods": plan.fleet.required,
        "core": {"cidr": plan.core.cidr, "subnets": {az: Record(v) for az, v in plan.core.subnets.items()}},
        "transport": transport_json(s),
        "pods": {p.name: pod_json(plan, p) for p in plan.pods.values()},
        "instance_types": dict(s.instance_types),
        "workloads": workloads,
        "ram_share_accounts": sorted({w.account_id for w in plan.workloads.values() if w.account_id}),
        "flows": shared.flows,
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
