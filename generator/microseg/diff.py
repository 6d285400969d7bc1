"""What a new inventory would change against the state in an output directory (for change review).

Every change names the stacks it touches (docs/tfvars-contract.md): `network` (TGW, core, pods,
firewall policy) and `workloads-<account_id>` (`workloads-network` for rows without account_id).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from microseg.errors import Problem
from microseg.io.outdir import read_lock
from microseg.plan import Plan
from microseg.render.jsonfmt import dumps
from microseg.render.stacks import STACKS_DIR, render_stacks
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
# Workload fields that live only in the workload account's stack; the rest also touch `network`
# (TGW attachment and routes, RAM share, per-pod shaping, firewall rules).
_WORKLOAD_ONLY = frozenset({"environment", "owner", "cost_center", "ingress_rules"})
# Top-level tfvars values that come from the settings (workloads, pods, flows are diffed apart).
_SETTINGS_KEYS = (
    "name",
    "region",
    "azs",
    "tags",
    "workload_supernet",
    "core",
    "instance_types",
    "management",
    "transport",
)
# Settings every stack reads (every resource is named and tagged with them).
_ALL_STACKS_KEYS = frozenset({"name", "region", "tags"})
_REPORT_PODS_KEYS = ("capacity_mbps", "spares", "survive_az_loss")
NETWORK = "network"


def stack_of(account_id: str | None) -> str:
    return f"workloads-{account_id or 'network'}"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def leaves(old: Any, new: Any, path: str) -> list[dict[str, Any]]:
    """Changed leaves of two JSON values, as {"key", "old", "new"}."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            out += leaves(old.get(k), new.get(k), f"{path}.{k}")
        return out
    return [] if old == new else [{"key": path, "old": old, "new": new}]


def compute_diff(directory: Path, plan: Plan, omitted: list[Problem] | None = None) -> dict[str, Any]:
    lock, _ = read_lock(directory) if directory.is_dir() else (None, None)
    has_lock = lock is not None and not lock.empty
    old_tf = _read_json(directory / "microseg.auto.tfvars.json") or {}
    old_report = _read_json(directory / "report.json") or {}
    new_tf = json.loads(dumps(render_tfvars(plan)))
    new_report_pods = {k: getattr(plan.fleet, k, None) for k in ("capacity_mbps", "spares")}
    new_report_pods["survive_az_loss"] = plan.settings.survive_az_loss
    old_w: dict[str, Any] = old_tf.get("workloads") or {}
    locked = lock.workloads if lock else {}
    tombs = lock.tombstones if lock else {}
    new_w = new_tf["workloads"]
    every_stack = sorted(
        {NETWORK, *(stack_of(w.get("account_id")) for w in [*old_w.values(), *new_w.values()])}
    )

    def wl(n: str, cidr: str, acct: str | None) -> dict[str, Any]:
        return {"name": n, "cidr": cidr, "stacks": sorted({NETWORK, stack_of(acct)})}

    added = [
        wl(n, w["cidr"], w["account_id"]) for n, w in new_w.items() if n not in locked and n not in tombs
    ]
    restored = [wl(n, w["cidr"], w["account_id"]) for n, w in new_w.items() if n in tombs]
    removed = [
        wl(n, a.cidr, (old_w.get(n) or {}).get("account_id")) for n, a in locked.items() if n not in new_w
    ]
    changed = []
    for n, new in new_w.items():
        old = old_w.get(n)
        if old is None:
            continue
        delta = {f: {"old": old.get(f), "new": new.get(f)} for f in _FIELDS if old.get(f) != new.get(f)}
        if f"{old.get('cidr')}" != new["cidr"]:
            delta["cidr"] = {"old": old.get("cidr"), "new": new["cidr"]}
        if delta:
            stacks = {stack_of(old.get("account_id")), stack_of(new.get("account_id"))}
            if set(delta) - _WORKLOAD_ONLY:
                stacks.add(NETWORK)
            changed.append({"name": n, "changes": delta, "stacks": sorted(stacks)})

    settings = []
    for key in _SETTINGS_KEYS:
        if key not in old_tf:
            continue
        for leaf in leaves(old_tf.get(key), new_tf.get(key), key):
            leaf["stacks"] = every_stack if key in _ALL_STACKS_KEYS else [NETWORK]
            settings.append(leaf)
    old_pods_report = old_report.get("pods") or {}
    for k in _REPORT_PODS_KEYS:
        if k in old_pods_report and old_pods_report[k] != new_report_pods[k]:
            settings.append(
                {
                    "key": f"pods.{k}",
                    "old": old_pods_report[k],
                    "new": new_report_pods[k],
                    "stacks": [NETWORK],
                }
            )

    old_pods: dict[str, Any] = {p.name: {"az": p.az} for p in lock.pods.values()} if lock else {}
    new_pods = {name: {"az": p["az"]} for name, p in new_tf["pods"].items()}

    def fkey(f: dict[str, Any]) -> tuple[Any, ...]:
        return (f["source"], f["destination"], f["protocol"], f["from_port"], f["to_port"], f["reference"])

    acct_of = {n: w.get("account_id") for n, w in [*old_w.items(), *new_w.items()]}

    def flow_row(f: dict[str, Any]) -> dict[str, Any]:
        row = {k: f[k] for k in strip}
        stacks = {NETWORK}
        if f["destination"] in acct_of:  # the destination's security group admits it
            stacks.add(stack_of(acct_of[f["destination"]]))
        if f["source"] in acct_of:  # the source's security group lets it out
            stacks.add(stack_of(acct_of[f["source"]]))
        row["stacks"] = sorted(stacks)
        return row

    old_flows = {fkey(f): f for f in old_tf.get("flows") or []}
    new_flows = {fkey(f): f for f in (r._asdict() for r in plan.policy.flows)}  # tfvars holds them as text
    strip = ("source", "destination", "protocol", "from_port", "to_port", "reference")
    old_cost = (old_report.get("cost") or {}).get("monthly_usd")
    new_cost = plan.cost["monthly_usd"]
    old_asn = lock.asn if lock else {}
    result = {
        "directory": str(directory),
        "has_lock": has_lock,
        "inputs": {"omitted": [p.as_dict() for p in omitted or []]},
        "settings": settings,
        "workloads": {"added": added, "restored": restored, "removed": removed, "changed": changed},
        "tombstones": {
            "new": [r["name"] for r in removed],
            "released": list(plan.released),
            "kept": sorted(n for n in plan.tombstones if n in tombs),
        },
        "pods": {
            "added": [
                {"name": n, **v, "stacks": [NETWORK]} for n, v in new_pods.items() if n not in old_pods
            ],
            "removed": [
                {"name": n, **v, "stacks": [NETWORK]} for n, v in old_pods.items() if n not in new_pods
            ],
            "moved": [
                {"name": n, "old_az": old_pods[n]["az"], "new_az": v["az"], "stacks": [NETWORK]}
                for n, v in new_pods.items()
                if n in old_pods and old_pods[n]["az"] != v["az"]
            ],
            "total": {"old": len(old_pods), "new": len(new_pods)},
        },
        "asn": {
            r: {
                "old": old_asn.get(r),
                "new": v,
                "stacks": every_stack if r == "transit_gateway" else [NETWORK],
            }
            for r, v in plan.asn.items()
            if old_asn.get(r) != v
        },
        "flows": {
            "added": [flow_row(new_flows[f]) for f in new_flows if f not in old_flows],
            "removed": [flow_row(old_flows[f]) for f in old_flows if f not in new_flows],
        },
        "cost": {
            "old_monthly_usd": old_cost,
            "new_monthly_usd": new_cost,
            "delta_usd": round(new_cost - old_cost, 2) if isinstance(old_cost, int | float) else None,
        },
    }
    result["stack_files"] = stack_file_changes(directory, plan)
    result["changes"] = (
        sum(len(v) for k in ("workloads", "flows") for v in result[k].values())
        + len(result["tombstones"]["released"])
        + sum(len(result["pods"][k]) for k in ("added", "removed", "moved"))
        + len(result["asn"])
        + len(settings)
    )
    result["stacks"] = sorted(
        {
            s
            for group in (
                added,
                restored,
                removed,
                changed,
                settings,
                *result["pods"].values(),
                *result["flows"].values(),
            )
            if isinstance(group, list)
            for item in group
            for s in item["stacks"]
        }
        | {s for v in result["asn"].values() for s in v["stacks"]}
        | {_SUFFIX.sub("", n) for v in result["stack_files"].values() for n in v}
    )
    return result


_SUFFIX = re.compile(r"\.auto\.tfvars\.json$")


def stack_file_changes(directory: Path, plan: Plan) -> dict[str, list[str]]:
    """Which DIR/stacks/ files the new plan adds, removes or changes: exactly the stacks whose
    pipelines will plan something (a file that does not change leaves its stack's plan empty)."""
    old_dir = directory / STACKS_DIR
    old = (
        {p.name: _read_json(p) for p in sorted(old_dir.glob("*.auto.tfvars.json"))}
        if old_dir.is_dir()
        else {}
    )
    new = {n: json.loads(dumps(v)) for n, v in render_stacks(plan).items()}
    return {
        "added": sorted(n for n in new if n not in old),
        "removed": sorted(n for n in old if n not in new),
        "changed": sorted(n for n in new if n in old and old[n] != new[n]),
    }


def _short(value: Any, width: int = 48) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def diff_lines(d: dict[str, Any]) -> list[str]:
    """The diff as one change per line (old -> new, and the stacks it touches): readable at any
    width and in a CI log, where a table would squeeze its columns."""
    lines = []
    if not d["has_lock"]:
        lines.append(f"no lock found in {d['directory']}: everything below is new")
    lines.append(f"changes against {d['directory']}: {d['changes']}; stacks: {', '.join(d['stacks']) or '-'}")
    for sign, key in (("+", "added"), ("-", "removed"), ("~", "changed")):
        for n in d["stack_files"][key]:
            lines.append(f"{sign} stacks/{n}")
    for p in d["inputs"]["omitted"]:
        lines.append(f"! {p['column']}: {p['message']}")

    def add(sign: str, what: str, detail: str, stacks: list[str]) -> None:
        lines.append(f"{sign} {what}: {detail}  [{', '.join(stacks)}]")

    for s in d["settings"]:
        add("~", f"setting {s['key']}", f"{_short(s['old'])} -> {_short(s['new'])}", s["stacks"])
    w = d["workloads"]
    for r in w["added"]:
        add("+", f"workload {r['name']}", r["cidr"], r["stacks"])
    for r in w["restored"]:
        add("+", f"workload {r['name']}", f"{r['cidr']} (from its tombstone)", r["stacks"])
    for r in w["removed"]:
        add("-", f"workload {r['name']}", f"{r['cidr']} (kept as a tombstone)", r["stacks"])
    for r in w["changed"]:
        for f, v in sorted(r["changes"].items()):
            for leaf in leaves(v["old"], v["new"], f):  # subnets: per AZ, not one long blob
                add(
                    "~",
                    f"workload {r['name']} {leaf['key']}",
                    f"{_short(leaf['old'])} -> {_short(leaf['new'])}",
                    r["stacks"],
                )
    for n in d["tombstones"]["released"]:
        lines.append(f"- tombstone {n}: released")
    for r in d["pods"]["added"]:
        add("+", f"pod {r['name']}", r["az"], r["stacks"])
    for r in d["pods"]["removed"]:
        add("-", f"pod {r['name']}", r["az"], r["stacks"])
    for r in d["pods"]["moved"]:
        add("~", f"pod {r['name']}", f"{r['old_az']} -> {r['new_az']} (its flows reset)", r["stacks"])
    for role, v in d["asn"].items():
        add("~", f"asn {role}", f"{v['old']} -> {v['new']}", v["stacks"])
    for sign, key in (("+", "added"), ("-", "removed")):
        for r in d["flows"][key]:
            lo, hi = r["from_port"], r["to_port"]
            ports = "" if lo == -1 else f" {lo}" if lo == hi else f" {lo}-{hi}"
            add(
                sign,
                f"flow {r['source']} -> {r['destination']}",
                f"{r['protocol']}{ports} {r['reference']}",
                r["stacks"],
            )
    c = d["cost"]
    if c["delta_usd"] is not None:
        lines.append(f"~ cost: monthly USD {c['old_monthly_usd']:,.2f} -> {c['new_monthly_usd']:,.2f}")
    return lines
