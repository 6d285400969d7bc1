"""flows.csv -> Flows: the approved connections; everything else is denied."""

from __future__ import annotations

import re
from pathlib import Path

from microseg.errors import Collector
from microseg.io.csvfile import read_table
from microseg.io.textfile import read_text
from microseg.model import Endpoint, Flow, FlowSet, Inventory
from microseg.netaddr import fmt, parse_network

COLUMNS = ("source", "destination", "protocol", "ports", "reference")
PROTOCOLS = ("tcp", "udp", "icmp", "any")
_PORTS = re.compile(r"^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#@+=-]{0,63}$")


def load_flows(path: Path, inventory: Inventory, problems: Collector, label: str | None = None) -> FlowSet:
    label = label or str(path)
    text = read_text(path, label, problems)
    if text is None:
        return FlowSet(label, ())
    return parse_flows(text, label, inventory, problems)


def parse_flows(text: str, label: str, inventory: Inventory, problems: Collector) -> FlowSet:
    table = read_table(text, label, COLUMNS, problems)
    if table is None:
        return FlowSet(label, ())
    missing = [c for c in COLUMNS if c not in table.header and c != "ports"]
    for col in missing:
        problems.error(label, table.header_line, col, "required column is missing")
    if missing:
        return FlowSet(label, ())
    names = inventory.names or frozenset(w.name for w in inventory.workloads)
    cache: dict[str, Endpoint | None] = {}
    flows: list[Flow] = []
    seen: dict[tuple[object, ...], int] = {}
    for line, row in table.rows:
        flow = _row(row, line, label, names, cache, problems)
        if flow is None:
            continue
        key = (flow.source, flow.destination, flow.protocol, flow.from_port, flow.to_port, flow.reference)
        if key in seen:
            problems.warn(label, line, "-", f"same flow as line {seen[key]}, ignored")
            continue
        seen[key] = line
        flows.append(flow)
    return FlowSet(label, tuple(flows))


def _row(
    row: dict[str, str],
    line: int,
    label: str,
    names: frozenset[str],
    cache: dict[str, Endpoint | None],
    problems: Collector,
) -> Flow | None:
    before = len(problems.errors)

    def err(col: str, msg: str) -> None:
        problems.error(label, line, col, msg)

    src_text, dst_text = row.get("source", ""), row.get("destination", "")
    # Endpoints repeat a lot (50k flows over 10k workloads): resolve each text once.
    src = (
        cache[src_text]
        if src_text in names and src_text in cache
        else _endpoint(src_text, "source", names, err)
    )
    dst = (
        cache[dst_text]
        if dst_text in names and dst_text in cache
        else _endpoint(dst_text, "destination", names, err)
    )
    if src is not None and src.kind == "workload":
        cache[src_text] = src
    if dst is not None and dst.kind == "workload":
        cache[dst_text] = dst
    if src and dst:
        if src.kind == "internet" and dst.kind == "internet":
            err("destination", "a flow from internet to internet never crosses the core")
        elif src.kind != "workload" and dst.kind != "workload":
            err("destination", "one side of a flow must be a workload of the inventory")

    protocol = row.get("protocol", "").lower()
    ports = row.get("ports", "")
    lo, hi = -1, -1
    if protocol in ("tcp", "udp"):
        lo, hi = 0, 65535
        if ports.isdigit() and len(ports) <= 5:
            lo = hi = int(ports)
            if lo > 65535:
                err("ports", f"{ports!r}: ports are 0..65535")
        elif ports:
            m = _PORTS.match(ports)
            if not m:
                err("ports", f"{ports!r} must be a port (443) or a range (8000-8100)")
            else:
                lo = int(m.group(1))
                hi = int(m.group(2) or lo)
                if not (0 <= lo <= 65535 and 0 <= hi <= 65535):
                    err("ports", f"{ports!r}: ports are 0..65535")
                elif lo > hi:
                    err("ports", f"{ports!r}: range start is after its end")
    elif protocol in ("icmp", "any"):
        if ports:
            err("ports", f"{protocol} flows take no ports (got {ports!r})")
    else:
        err("protocol", f"{row.get('protocol', '')!r} must be one of {', '.join(PROTOCOLS)}")

    reference = row.get("reference", "")
    if not reference:
        err("reference", "every approved flow needs its change ticket reference")
    elif not _REFERENCE.match(reference):
        err("reference", f"{reference!r}: a ticket id of letters, digits and . _ : / # @ + = - (max 64)")

    if len(problems.errors) > before or src is None or dst is None:
        return None
    return Flow(line, src, dst, protocol, lo, hi, reference)


def _endpoint(text: str, col: str, names: frozenset[str], err) -> Endpoint | None:  # type: ignore[no-untyped-def]
    if not text:
        err(col, "is empty (a workload name, a CIDR or internet)")
        return None
    if text.lower() == "internet":
        return Endpoint("internet", "internet")
    if "/" in text or text[:1].isdigit():
        try:
            addr, prefix = parse_network(text)
        except ValueError as exc:
            err(col, str(exc))
            return None
        return Endpoint("cidr", fmt(addr, prefix))
    if text not in names:
        err(col, f"unknown workload {text!r} (not in the inventory)")
        return None
    return Endpoint("workload", text)
