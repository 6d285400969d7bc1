"""LockState <-> the JSON document kept in microseg.lock.json."""

from __future__ import annotations

from typing import Any

from microseg.io.outdir import PLACEHOLDER
from microseg.render.jsonfmt import Raw, Record
from microseg.render.records import vpc_json
from microseg.state import LOCK_VERSION, LockState, PodAlloc, VpcAlloc


def render_lock(lock: LockState, subnets: dict[str, str] | None = None) -> dict[str, Any]:
    """``subnets``: workload -> its subnets' JSON text, if the caller has it (render.shared)."""
    texts = subnets or {}
    return {
        "version": LOCK_VERSION,
        "generation": PLACEHOLDER,
        "core_cidr": lock.core_cidr,
        "asn": dict(lock.asn),
        "workloads": {n: _vpc(a, texts.get(n)) for n, a in lock.workloads.items()},
        "tombstones": {n: _vpc(a) for n, a in lock.tombstones.items()},
        "connect_cidr_block": lock.connect_cidr_block,
        "pods": {p.name: pod_record(p) for p in lock.pods.values()},
        "inputs": {
            k: (None if r is None else Record(path=r.path, sha256=r.sha256, rows=r.rows))
            for k, r in lock.inputs.items()
        },
    }


def pod_record(p: PodAlloc) -> Record:
    """A pod's allocations on one line (the same keys in the lock and the tfvars)."""
    return Record(
        index=p.index,
        az=p.az,
        tunnel_inside_cidrs=list(p.tunnel_inside_cidrs),
        connect_peers=[
            {"inside_cidr": c.inside_cidr, "transit_gateway_address": c.transit_gateway_address}
            for c in p.connect_peers
        ],
        connect_address=p.connect_address,
    )


def _vpc(a: VpcAlloc, subnets_text: str | None = None) -> Raw:
    return Raw(vpc_json(a.cidr, a.pinned, a.subnet_prefix, a.subnets, subnets_text))
