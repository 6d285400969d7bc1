"""microseg.lock.json -> LockState, checked, because a hand-edited lock must not corrupt allocations."""

from __future__ import annotations

import json
from typing import Any

from microseg.errors import Collector
from microseg.netaddr import is_canonical_cidr
from microseg.state import LOCK_VERSION, LockState, PodAlloc, VpcAlloc


def parse_lock(text: str, label: str, problems: Collector) -> LockState:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.error(label, exc.lineno, f"char {exc.colno}", f"invalid JSON: {exc.msg}")
        return LockState()
    before = len(problems.errors)

    def err(path: str, msg: str) -> None:
        problems.error(label, 0, path, msg)

    if not isinstance(data, dict):
        err("-", "must be a JSON object")
        return LockState()
    if data.get("version") != LOCK_VERSION:
        err("version", f"unsupported lock version {data.get('version')!r} (expected {LOCK_VERSION})")
        return LockState()
    core = data.get("core_cidr")
    if core is not None and not _cidr_ok(core):
        err("core_cidr", f"{core!r} is not a CIDR")
    asn: dict[str, int] = {}
    for role, v in (data.get("asn") or {}).items():
        if isinstance(v, int) and not isinstance(v, bool):
            asn[role] = v
        else:
            err(f"asn.{role}", "must be an integer")
    vpcs = {k: _vpcs(data.get(k), k, err) for k in ("workloads", "tombstones")}
    pods: dict[int, PodAlloc] = {}
    for name, p in (data.get("pods") or {}).items():
        try:
            tunnels = tuple(p["tunnel_inside_cidrs"])
            if len(tunnels) != 2 or not all(_cidr_ok(t) for t in tunnels):
                raise ValueError
            pods[int(p["index"])] = PodAlloc(int(p["index"]), str(p["az"]), (tunnels[0], tunnels[1]))
        except (KeyError, TypeError, ValueError):
            err(f"pods.{name}", "needs index, az and two tunnel_inside_cidrs")
    if len(problems.errors) > before:
        return LockState()
    return LockState(core, vpcs["workloads"], vpcs["tombstones"], asn, pods)


def _cidr_ok(text: Any) -> bool:
    return is_canonical_cidr(text)


def _vpcs(raw: Any, key: str, err) -> dict[str, VpcAlloc]:  # type: ignore[no-untyped-def]
    out: dict[str, VpcAlloc] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        err(key, "must be an object")
        return out
    for name, v in raw.items():
        try:
            subnets = {az: (s["workload"], s["attachment"]) for az, s in v["subnets"].items()}
            if not _cidr_ok(v["cidr"]) or not all(_cidr_ok(a) and _cidr_ok(b) for a, b in subnets.values()):
                raise ValueError
            out[name] = VpcAlloc(v["cidr"], int(v["subnet_prefix"]), subnets, bool(v.get("pinned", False)))
        except (KeyError, TypeError, ValueError, AttributeError):
            err(f"{key}.{name}", "needs cidr, subnet_prefix and subnets {az: {workload, attachment}}")
    return out
