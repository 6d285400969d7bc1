"""DIR/stacks/*.auto.tfvars.json: one file per root module a pipeline applies (docs/stacks.md).

`network.auto.tfvars.json` feeds stacks/network (the network account) and
`workloads-<account_id>.auto.tfvars.json` feeds one stacks/workloads instance per account that owns
workloads (`workloads-network` for rows without account_id). Each holds what its stack needs and
nothing more: a workload account's file names other accounts' workloads only through the CIDRs its
security-group rules admit or reach. The policy the HCL once derived (egress grouping, CIDRs outside
the supernet, required pods) is decided here, so the stacks only consume values.
"""

from __future__ import annotations

from typing import Any

from microseg.plan import Plan
from microseg.render.flowlines import tfvars_flows
from microseg.render.jsonfmt import Lines, Raw, Record
from microseg.render.records import TFVARS_WORKLOAD_KEYS, keyed_json
from microseg.render.shared import Shared, render_shared
from microseg.render.tfvars import pod_json, transport_json

STACKS_DIR = "stacks"
NETWORK_FILE = "network.auto.tfvars.json"


def stack_name(account_id: str | None) -> str:
    """The stack a workload row belongs to (microseg.diff names the same stacks)."""
    return f"workloads-{account_id or 'network'}"


def stack_file(account_id: str | None) -> str:
    return f"{stack_name(account_id)}.auto.tfvars.json"


def _common(plan: Plan) -> dict[str, Any]:
    s = plan.settings
    return {"name": s.name, "region": s.region, "tags": dict(s.tags)}


# A workload stack's record is the main tfvars' without what only the network stack needs (the
# pods' firewalls and shaping): the same text, written once by render_shared.
STACK_WORKLOAD_KEYS = tuple(
    k for k in TFVARS_WORKLOAD_KEYS if k not in ("account_id", "internet_egress", "qos_mbps_per_pod")
)


def render_network(plan: Plan, flows: Lines | Raw | None = None) -> dict[str, Any]:
    """stacks/network: the TGW, core VPC, pods, health, management, observability, RAM share.
    ``flows``: the flows' lines, when this run already wrote them for the main tfvars."""
    s = plan.settings
    return {
        **_common(plan),
        "azs": list(s.azs),
        "asn": dict(plan.asn),
        "workload_supernet": s.workload_supernet,
        "outside_supernet_cidrs": list(plan.outside),
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
        "flows": Lines(tfvars_flows(plan.policy.flows)) if flows is None else flows,
        "management": {"allowed_domains": list(s.allowed_domains)},
    }


def render_workload_stacks(plan: Plan, shared: Shared) -> dict[str, dict[str, Any]]:
    """stacks/workloads inputs, keyed by file name: one per account that owns workloads."""
    by_account: dict[str | None, dict[str, Any]] = {}
    for name, w in plan.workloads.items():
        record = keyed_json(shared.workloads[name], STACK_WORKLOAD_KEYS)
        by_account.setdefault(w.account_id, {})[name] = Raw(record)
    return {
        stack_file(account): {
            **_common(plan),
            "account_id": account,
            "transit_gateway_asn": plan.asn["transit_gateway"],
            "workloads": workloads,
        }
        for account, workloads in sorted(by_account.items(), key=lambda kv: kv[0] or "")
    }


def render_stacks(plan: Plan, shared: Shared | None = None) -> dict[str, dict[str, Any]]:
    """Every file of DIR/stacks/, keyed by file name. ``shared``: what this run already wrote for
    the main tfvars too (render_shared)."""
    shared = shared or render_shared(plan)
    return {NETWORK_FILE: render_network(plan, shared.flows), **render_workload_stacks(plan, shared)}
