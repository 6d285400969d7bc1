"""Present the traced paths: a rich table for people, a JSON document for pipelines."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

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
        "counts": {k: counts.get(k, 0) for k in (INSPECTED, DROPPED, BYPASS)},
        "paths": [asdict(p) for p in paths],
        "bypasses": bypasses,
        "notes": list(dict.fromkeys(net.notes)),
    }


def print_human(net: Network, paths: list[PathResult], console: Console) -> None:
    table = Table(title=f"microseg verify: {net.name} in {net.region}", show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("from", overflow="fold")
    table.add_column("to", overflow="fold")
    table.add_column("path followed", overflow="fold", ratio=3)
    table.add_column("verdict", no_wrap=True)
    for n, p in enumerate(paths, 1):
        src = f"{p.source}\n{p.route_table}\n({', '.join(p.subnets)})"
        dst = (
            p.destination
            if p.destination_prefix in ("*", p.destination)
            else f"{p.destination}\n{p.destination_prefix}"
        )
        # Text, not markup: route table names like [microseg-workloads] must print as they are.
        table.add_row(
            str(n),
            Text(src),
            Text(dst),
            Text(path_text(p) + f"\n= {p.reason}"),
            Text(p.verdict, style=STYLE[p.verdict]),
        )
    console.print(table)

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
