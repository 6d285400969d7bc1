"""What a new inventory would change against the state in an output directory (for change review)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from microseg.io.outdir import read_lock
from microseg.plan import Plan
from microseg.render.tfvars import render_tfvars

_FIELDS = (
    "azs",
    "subnets",
    "internet_egress",
    "bandwidth_mbps",
    "qos_mbps_per_pod",
    "account_id",
    "environment",
    "owner",
    "cost_center",
    "ingress_rules",
)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def compute_diff(directory: Path, plan: Plan) -> dict[str, Any]:
    lock, _ = read_lock(directory) if directory.is_dir() else (None, None)
    old_tf = _read_json(directory / "microseg.auto.tfvars.json") or {}
    old_report = _read_json(directory / "report.json") or {}
    new_tf = render_tfvars(plan)
    old_w: dict[str, Any] = old_tf.get("workloads") or {}
    locked = lock.workloads if lock else {}
    tombs = lock.tombstones if lock else {}
    new_w = new_tf["workloads"]

    added = [{"name": n, "cidr": new_w[n]["cidr"]} for n in new_w if n not in locked and n not in tombs]
    restored = [{"name": n, "cidr": new_w[n]["cidr"]} for n in new_w if n in tombs]
    removed = [{"name": n, "cidr": a.cidr} for n, a in locked.items() if n not in new_w]
    changed = []
    for n, new in new_w.items():
        old = old_w.get(n)
        if old is None:
            continue
        delta = {f: {"old": old.get(f), "new": new.get(f)} for f in _FIELDS if old.get(f) != new.get(f)}
        if f"{old.get('cidr')}" != new["cidr"]:
            delta["cidr"] = {"old": old.get("cidr"), "new": new["cidr"]}
        if delta:
            changed.append({"name": n, "changes": delta})

    old_pods: dict[str, Any] = {p.name: {"az": p.az} for p in lock.pods.values()} if lock else {}
    new_pods = {name: {"az": p["az"]} for name, p in new_tf["pods"].items()}

    def fkey(f: dict[str, Any]) -> tuple[Any, ...]:
        return (f["source"], f["destination"], f["protocol"], f["from_port"], f["to_port"], f["reference"])

    old_flows = {fkey(f): f for f in old_tf.get("flows") or []}
    new_flows = {fkey(f): f for f in (r._asdict() for r in plan.policy.flows)}  # tfvars holds them as text
    strip = ("source", "destination", "protocol", "from_port", "to_port", "reference")
    old_cost = (old_report.get("cost") or {}).get("monthly_usd")
    new_cost = plan.cost["monthly_usd"]
    result = {
        "directory": str(directory),
        "has_lock": lock is not None and not lock.empty,
        "workloads": {"added": added, "restored": restored, "removed": removed, "changed": changed},
        "tombstones": {
            "new": [r["name"] for r in removed],
            "released": list(plan.released),
            "kept": sorted(n for n in plan.tombstones if n in tombs),
        },
        "pods": {
            "added": [{"name": n, **v} for n, v in new_pods.items() if n not in old_pods],
            "removed": [{"name": n, **v} for n, v in old_pods.items() if n not in new_pods],
            "moved": [
                {"name": n, "old_az": old_pods[n]["az"], "new_az": v["az"]}
                for n, v in new_pods.items()
                if n in old_pods and old_pods[n]["az"] != v["az"]
            ],
            "total": {"old": len(old_pods), "new": len(new_pods)},
        },
        "asn": {
            r: {"old": (lock.asn if lock else {}).get(r), "new": v}
            for r, v in plan.asn.items()
            if (lock.asn if lock else {}).get(r) != v
        },
        "flows": {
            "added": [{k: new_flows[f][k] for k in strip} for f in new_flows if f not in old_flows],
            "removed": [{k: old_flows[f][k] for k in strip} for f in old_flows if f not in new_flows],
        },
        "cost": {
            "old_monthly_usd": old_cost,
            "new_monthly_usd": new_cost,
            "delta_usd": round(new_cost - old_cost, 2) if isinstance(old_cost, int | float) else None,
        },
    }
    result["changes"] = (
        sum(len(v) for k in ("workloads", "flows") for v in result[k].values())
        + len(result["tombstones"]["released"])
        + len(result["pods"]["added"])
        + len(result["pods"]["removed"])
        + len(result["asn"])
    )
    return result
