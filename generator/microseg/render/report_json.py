"""report.json: the machine-readable report (other tools and acceptance checks read it)."""

from __future__ import annotations

from typing import Any

from microseg.model import Settings
from microseg.parse.settings import QUOTA_FIELDS
from microseg.plan import Plan
from microseg.render.flowlines import firewall_rules
from microseg.render.jsonfmt import Lines, Raw, Record
from microseg.render.records import report_workload_json
from microseg.render.tfvars import pod_json


def firewall_policy(plan: Plan) -> dict[str, Any]:
    """The same ordered rule set on every pod (ECMP may send any flow to any pod), default deny last;
    per pod only the SNAT address differs. Rules name their endpoints; the CIDRs are in "workloads"
    and in the tfvars flows (repeating them here would double the report at 50k flows)."""
    rules = Lines(firewall_rules(plan.policy.flows))
    rules.append(Record(id="default", action="drop", reference="default-deny").json())
    return {
        "default_action": "drop",
        "rules": rules,
        "pods": {
            p.name: Record(
                az=p.az, snat_internal_ip=plan.core.fw_internal_ip(p.az, p.index), rules=len(rules)
            )
            for p in plan.pods.values()
        },
    }


def transport_report(s: Settings) -> dict[str, Any]:
    """pods.transport, and pods.tunnel_bandwidth (vpn) or pods.connect_peers and the TGW CIDR block
    (connect); transport_mbps is what the transport carries, capacity_mbps what the fleet is sized at."""
    out: dict[str, Any] = {
        "transport": s.transport,
        "transport_mbps": s.transport_mbps,
        "capacity_derived": not s.line_of("pods.capacity_mbps"),
    }
    if s.transport == "vpn":
        out["tunnel_bandwidth"] = s.tunnel_bandwidth
    else:
        out["connect_peers"] = s.connect_peers
        out["transit_gateway_cidr_block"] = s.connect_cidr_block
    return out


def quota_report(plan: Plan) -> dict[str, Any]:
    """Per [quotas] key: the largest need, the quota, and whether the settings state it (a limit)."""
    s = plan.settings
    out: dict[str, Any] = {}
    for n in plan.quotas:
        if n.key not in out or n.need > out[n.key]["need"]:
            out[n.key] = Record(
                need=n.need,
                quota=getattr(s, QUOTA_FIELDS[n.key]),
                stated=bool(s.line_of(f"quotas.{n.key}")),
                what=n.what,
            )
    return dict(sorted(out.items()))


def render_report_json(plan: Plan) -> dict[str, Any]:
    s = plan.settings
    return {
        "generation": plan.generation,
        "name": s.name,
        "region": s.region,
        "workload_supernet": s.workload_supernet,
        "workloads": {
            name: Raw(
                report_workload_json(
                    account_id=w.account_id,
                    azs=w.azs,
                    bandwidth=w.bandwidth_mbps,
                    cidr=plan.allocations[name].cidr,
                    cost_center=w.cost_center,
                    environment=w.environment,
                    internet_egress=w.internet_egress,
                    monthly_gb=w.monthly_gb,
                    owner=w.owner,
                    pinned=plan.allocations[name].pinned,
                    qos=plan.qos[name],
                )
            )
            for name, w in plan.workloads.items()
        },
        "tombstones": {name: a.cidr for name, a in plan.tombstones.items()},
        "released": list(plan.released),
        "core": {
            "cidr": plan.core.cidr,
            "internal_block": plan.core.internal_block,
            "subnets": {az: Record(v) for az, v in plan.core.subnets.items()},
        },
        "asn": dict(plan.asn),
        "pods": {
            **transport_report(s),
            "capacity_mbps": plan.fleet.capacity_mbps,
            "promised_mbps": plan.fleet.total_mbps,
            "required": plan.fleet.required,
            "spares": plan.fleet.spares,
            "total": plan.fleet.total,
            "survive_az_loss": s.survive_az_loss,
            "per_az": plan.fleet.per_az,
            "fleet": {p.name: pod_json(plan, p) for p in plan.pods.values()},
        },
        "vpn_inside_cidrs": [t for p in plan.pods.values() for t in p.tunnel_inside_cidrs],
        "connect_inside_cidrs": [c.inside_cidr for p in plan.pods.values() for c in p.connect_peers],
        "quotas": quota_report(plan),
        "firewall": firewall_policy(plan),
        "broad_flows": [
            Record(line=b.line, endpoint=b.endpoint, reasons=list(b.reasons), justification=b.justification)
            for b in plan.broad_flows
        ],
        "cost": plan.cost,
        "warnings": [str(w) for w in plan.warnings],
    }
