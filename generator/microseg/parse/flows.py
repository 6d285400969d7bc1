"""flows.csv -> Flows: the approved connections; everything else is denied."""

from __future__ import annotations

import functools
import re
from operator import itemgetter
from pathlib import Path

from microseg.errors import Collector
from microseg.io.csvfile import read_table
from microseg.io.textfile import read_text
from microseg.model import Endpoint, Flow, FlowSet, Inventory
from microseg.netaddr import fmt, parse_network

COLUMNS = ("source", "destination", "protocol", "ports", "reference", "broad")
PROTOCOLS = ("tcp", "udp", "icmp", "any")
# Words that read as "everything" in a flow; never workload names (see parse.inventory.RESERVED).
WILDCARDS = frozenset({"any", "all", "default", "everything", "*"})
_NOT_WORKLOADS = WILDCARDS | {"internet"}  # names _endpoint never reads as a workload
_PORTS = re.compile(r"^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/#@+=-]{0,63}$")
# A justification is prose for the audit trail, but must stay one readable table cell.
_JUSTIFICATION = re.compile(r"^[^|\x00-\x1f\x7f]{10,200}$")


def load_flows(path: Path, inventory: Inventory, problems: Collector, label: str | None = None) -> FlowSet:
    label = label or str(path)
    text = read_text(path, label, problems)
    if text is None:
        return FlowSet(label, ())
    return parse_flows(text, label, inventory, problems)


def parse_flows(text: str, label: str, inventory: Inventory, problems: Collector) -> FlowSet:
    table = read_table(text, label, COLUMNS, problems, raw=True)
    if table is None:
        return FlowSet(label, ())
    missing = [c for c in COLUMNS if c not in table.header and c not in ("ports", "broad")]
    for col in missing:
        problems.error(label, table.header_line, col, "required column is missing")
    if missing:
        return FlowSet(label, ())
    names = inventory.names or frozenset(w.name for w in inventory.workloads)
    new_endpoint = tuple.__new__
    # Every inventory name that _endpoint would read as a workload, resolved up front, so rows
    # naming two workloads take the fast path from their first occurrence on.
    cache: dict[str, Endpoint] = {
        name: new_endpoint(Endpoint, ("workload", name))
        for name in names
        if name and "/" not in name and not name[:1].isdigit() and name.lower() not in _NOT_WORKLOADS
    }
    flows: list[Flow] = []
    seen: dict[tuple[object, ...], int] = {}
    new_flow = tuple.__new__
    match_reference = _REFERENCE.match
    # Rows come as value lists (no dict per row); a duplicate column reads as its last one, as in a dict.
    at = {name: i for i, name in enumerate(table.header) if name}
    i_src, i_dst, i_proto, i_ref = at["source"], at["destination"], at["protocol"], at["reference"]
    i_ports, i_broad = at.get("ports"), at.get("broad")
    # A flow's reference is part of its identity: when no two rows share one (tickets are usually
    # one per flow), no flow can repeat another and the duplicate check is left out.
    references = list(map(itemgetter(i_ref), map(itemgetter(1), table.rows)))
    unique = len(set(references)) == len(references)
    for line, values in table.rows:
        # Fast path for the common row (two known workloads, valid protocol/ports/ticket, not
        # broad): the same checks as _row, without its per-row set-up. Anything else takes _row.
        src = cache.get(values[i_src])
        dst = cache.get(values[i_dst])
        flow = None
        if src is not None and dst is not None and not (i_broad is not None and values[i_broad]):
            ports = values[i_ports] if i_ports is not None else ""
            protocol, lo, hi, found = _protocol_ports(values[i_proto], ports)
            reference = values[i_ref]
            if not found and reference and match_reference(reference):
                flow = new_flow(Flow, (line, src, dst, protocol, lo, hi, reference, ""))
        if flow is None:
            flow = _row(table.row_dict(values), line, label, names, cache, problems)
        if flow is None:
            continue
        if unique:
            flows.append(flow)
            continue
        key = flow[1:]  # everything but the line
        first = seen.setdefault(key, line)
        if first != line:
            problems.warn(label, line, "-", f"same flow as line {first}, ignored")
            continue
        flows.append(flow)
    return FlowSet(label, tuple(flows))


def _row(
    row: dict[str, str],
    line: int,
    label: str,
    names: frozenset[str],
    cache: dict[str, Endpoint],
    problems: Collector,
) -> Flow | None:
    before = len(problems.errors)

    def err(col: str, msg: str) -> None:
        problems.error(label, line, col, msg)

    src_text, dst_text = row.get("source", ""), row.get("destination", "")
    # Endpoints repeat a lot (50k flows over 10k workloads): resolve each workload name once.
    src = cache.get(src_text) or _endpoint(src_text, "source", names, err)
    dst = cache.get(dst_text) or _endpoint(dst_text, "destination", names, err)
    if src is not None and src.kind == "workload":
        cache[src_text] = src
    if dst is not None and dst.kind == "workload":
        cache[dst_text] = dst
    if src is not None and src.kind == "internet":
        err(
            "source",
            "internet as a source needs an ingress design and microseg has none (the pods only SNAT "
            "outbound); publish the service outside microseg",
        )
    if src and dst:
        if src.kind == "internet" and dst.kind == "internet":
            err("destination", "a flow from internet to internet never crosses the core")
        elif src.kind != "workload" and dst.kind != "workload":
            err("destination", "one side of a flow must be a workload of the inventory")

    protocol, lo, hi, found = _protocol_ports(row.get("protocol", ""), row.get("ports", ""))
    for col, msg in found:
        err(col, msg)

    reference = row.get("reference", "")
    if not reference:
        err("reference", "every approved flow needs its change ticket reference")
    elif not _REFERENCE.match(reference):
        err("reference", f"{reference!r}: a ticket id of letters, digits and . _ : / # @ + = - (max 64)")

    broad = row.get("broad", "")
    if broad and not _JUSTIFICATION.match(broad):
        err("broad", "a justification is 10 to 200 characters of text (no | or control characters)")

    if len(problems.errors) > before or src is None or dst is None:
        return None
    return Flow(line, src, dst, protocol, lo, hi, reference, broad)


@functools.lru_cache(maxsize=1024)
def _protocol_ports(protocol_text: str, ports: str) -> tuple[str, int, int, tuple[tuple[str, str], ...]]:
    """(protocol, from_port, to_port, problems as (column, message)) of one row's protocol and ports
    cells. Pure, and a flows file repeats a handful of combinations, so it is cached."""
    found: list[tuple[str, str]] = []
    protocol = protocol_text.lower()
    lo, hi = -1, -1
    if protocol in ("tcp", "udp"):
        lo, hi = 0, 65535
        if ports.isdigit() and len(ports) <= 5:
            lo = hi = int(ports)
            if lo > 65535:
                found.append(("ports", f"{ports!r}: ports are 0..65535"))
        elif ports:
            m = _PORTS.match(ports)
            if not m:
                found.append(("ports", f"{ports!r} must be a port (443) or a range (8000-8100)"))
            else:
                lo = int(m.group(1))
                hi = int(m.group(2) or lo)
                if not (0 <= lo <= 65535 and 0 <= hi <= 65535):
                    found.append(("ports", f"{ports!r}: ports are 0..65535"))
                elif lo > hi:
                    found.append(("ports", f"{ports!r}: range start is after its end"))
    elif protocol in ("icmp", "any"):
        if ports:
            found.append(("ports", f"{protocol} flows take no ports (got {ports!r})"))
    else:
        found.append(("protocol", f"{protocol_text!r} must be one of {', '.join(PROTOCOLS)}"))
    return protocol, lo, hi, tuple(found)


def _endpoint(text: str, col: str, names: frozenset[str], err) -> Endpoint | None:  # type: ignore[no-untyped-def]
    if not text:
        err(col, "is empty (a workload name, a CIDR or internet)")
        return None
    if text.lower() == "internet":
        return Endpoint("internet", "internet")
    if text.lower() in WILDCARDS:
        err(col, f"{text!r} is not an endpoint: write the CIDR and justify it in the broad column")
        return None
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
