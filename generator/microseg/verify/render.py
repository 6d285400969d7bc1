"""Present the traced paths: a rich table for people, a JSON document for pipelines."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from rich.console import Console

from microseg.textout import print_rows

from .model import BYPASS, DROPPED, INSPECTED, Network
from .trace import PathResult

STYLE = {INSPECTED: "green", DROPPED: "yellow", BYPASS: "bold red"}


def path_text(p: PathResult) -> str:
    return " => ".join(f"{h.at}: {h.match} -> {h.to}" + (f" [{h.note}]" if h.note else "") for h in p.hops)


def to_json(net: Network, paths: list[PathResult]) -> dict[str, Any]:
    counts = Counter(p.verdict for p in paths)
    bypasses = [asdict(p) for p in paths if p.verdict == BYPASS]
    return {
        "network": net.name,
        "region": net.region,
        "ok": not bypasses,
        "workloads": sorted(v.workload or v.id for v in net.workloads()),
        "accounts": net.accounts,  # other accounts whose VPCs were read (--role-name)
        "counts": {k: counts.get(k, 0) for k in (INSPECTED, DROPPED, BYPASS)},
        "paths": [asdict(p) for p in paths],
        "bypasses": bypasses,
        "notes": list(dict.fromkeys(net.notes)),
    }


def print_human(net: Network, paths: list[PathResult], console: Console) -> None:
    rows = []
    for n, p in enumerate(paths, 1):
        src = f"{p.source}\n{p.route_table}\n({', '.join(p.subnets)})"
        dst = (
            p.destination
            if p.destination_prefix in ("*", p.destination)
            else f"{p.destination}\n{p.destination_prefix}"
        )
        rows.append([str(n), src, dst, path_text(p) + f"\n= {p.reason}", p.verdict])
    print_rows(
        console,
        f"microseg verify: {net.name} in {net.region}",
        ["#", "from", "to", "path followed", "verdict"],
        rows,
        styles=[STYLE[p.verdict] if p.verdict == BYPASS else None for p in paths],
        show_lines=True,
    )

    counts = Counter(p.verdict for p in paths)
    for note in dict.fromkeys(net.notes):
        console.print(f"note: {note}", style="dim", markup=False, soft_wrap=True)
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in (INSPECTED, DROPPED, BYPASS))
    bypasses = [p for p in paths if p.verdict == BYPASS]
    if not bypasses:
        console.print(
            f"OK: {len(paths)} paths from {len(net.workloads())} workloads, none bypasses a pod ({summary}).",
            style="green",
            soft_wrap=True,
        )
        return
    console.print(
        f"FAIL: {len(bypasses)} of {len(paths)} paths bypass inspection ({summary}):",
        style="bold red",
        soft_wrap=True,
    )
    for p in bypasses:
        console.print(
            f"  BYPASS {p.source} ({p.route_table}) -> {p.destination} {p.destination_prefix}: "
            f"{path_text(p)}: {p.reason}",
            style="red",
            soft_wrap=True,
            markup=False,
        )
