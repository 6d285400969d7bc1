"""LockState <-> the JSON document kept in microseg.lock.json."""

from __future__ import annotations

from typing import Any

from microseg.io.outdir import PLACEHOLDER
from microseg.render.jsonfmt import Raw, Record
from microseg.render.records import vpc_json
from microseg.state import LOCK_VERSION, LockState, VpcAlloc


def render_lock(lock: LockState) -> dict[str, Any]:
    return {
        "version": LOCK_VERSION,
        "generation": PLACEHOLDER,
        "core_cidr": lock.core_cidr,
        "asn": dict(lock.asn),
        "workloads": {n: _vpc(a) for n, a in lock.workloads.items()},
        "tombstones": {n: _vpc(a) for n, a in lock.tombstones.items()},
        "pods": {
            p.name: Record(index=p.index, az=p.az, tunnel_inside_cidrs=list(p.tunnel_inside_cidrs))
            for p in lock.pods.values()
        },
        "inputs": {
            k: (None if r is None else Record(path=r.path, sha256=r.sha256, rows=r.rows))
            for k, r in lock.inputs.items()
        },
    }


def _vpc(a: VpcAlloc) -> Raw:
    return Raw(vpc_json(a.cidr, a.pinned, a.subnet_prefix, a.subnets))
