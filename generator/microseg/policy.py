"""Approved flows -> the default-deny policy: firewall rules for every pod and workload security-group rules.

East-west traffic reaches a workload after the fw SNATs it to its own internal address, so a
workload's security group admits the core's internal block (not the original source) on exactly
the approved protocols and ports; the fw keeps the per-source decision and logs the original source.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from microseg.model import Endpoint, FlowSet
from microseg.netaddr import cidr_span
from microseg.render.records import ingress_rule

ANY = "0.0.0.0/0"
_SG_DESC = re.compile(r"[^A-Za-z0-9. _:/()#,@\[\]+=&;{}!$*-]")  # what AWS accepts in a rule description


class FlowRule(NamedTuple):
    """One approved flow with its endpoints resolved: a tfvars flow, a firewall rule, a report row.
    A tuple, not a dict: 50k of them are built and each is read only by the renderers."""

    id: str
    source: str
    destination: str
    source_cidr: str
    destination_cidr: str
    protocol: str
    from_port: int
    to_port: int
    reference: str


@dataclass(frozen=True, slots=True)
class Policy:
    flows: list[FlowRule]  # in flows.csv order; ids f001, f002, ...
    # workload -> its tfvars "ingress_rules", each already one line of JSON (written once, not as a
    # dict that the renderer then writes)
    ingress: dict[str, list[str]]


def flow_id(i: int, count: int) -> str:
    return f"f{i:0{max(3, len(str(count)))}d}"


def build_policy(
    flows: FlowSet,
    cidrs: dict[str, str],
    internal_block: str,
) -> Policy:
    locator = _Locator(cidrs)
    out: list[FlowRule] = []
    # Per target workload and rule key: the first flow's description and how many flows share it
    # (a rule's description names the first and counts the rest).
    rules: dict[str, dict[tuple[str, int, int, str], list[Any]]] = {}
    flow_id_of = f"f{{:0{max(3, len(str(len(flows.flows))))}d}}".format
    new_rule = tuple.__new__
    # Endpoints repeat (50k flows over 10k workloads): a workload's CIDR is a lookup by name; any
    # other endpoint's CIDR and owners are resolved once.
    cidr_of: dict[Endpoint, str] = {}
    owners_of: dict[Endpoint, list[str]] = {}
    for i, (_, src, dst, protocol, lo, hi, reference, _) in enumerate(flows.flows, 1):
        # Unpacked, not f.source etc.: named-tuple attributes cost a descriptor call each, 50k times.
        src_kind, src_value = src
        dst_kind, dst_value = dst
        if src_kind == "workload":
            src_cidr = cidrs[src_value]
        else:
            src_cidr = cidr_of.get(src) or cidr_of.setdefault(src, _cidr(src, cidrs))
        if dst_kind == "workload":
            dst_cidr = cidrs[dst_value]
            owners: list[str] | tuple[str] = (dst_value,)
        else:
            dst_cidr = cidr_of.get(dst) or cidr_of.setdefault(dst, _cidr(dst, cidrs))
            owners = owners_of.get(dst) or owners_of.setdefault(dst, locator.owners(dst))
        out.append(
            new_rule(
                FlowRule,
                (flow_id_of(i), src_value, dst_value, src_cidr, dst_cidr, protocol, lo, hi, reference),
            )
        )
        for target in owners:
            same_vpc = src_kind == "workload" and src_value == target
            key = (protocol, lo, hi, src_cidr if same_vpc else internal_block)
            by_key = rules.get(target)
            if by_key is None:
                by_key = rules[target] = {}
            entry = by_key.get(key)
            if entry is None:
                by_key[key] = [f"{reference} {src_value} to {dst_value}", 1, i]
            else:
                entry[1] += 1
    ingress: dict[str, list[str]] = {}
    for target, by_key in rules.items():
        items = sorted(by_key.items())
        merged = _merge_ports(items) if len(items) > 1 else [(*k, *v) for k, v in items]
        ingress[target] = [
            ingress_rule("-1" if proto == "any" else proto, lo, hi, cidr, _describe(first, count))
            for proto, lo, hi, cidr, first, count, _ in merged
        ]
    return Policy(out, ingress)


def _merge_ports(items: list[tuple[tuple[str, int, int, str], list[Any]]]) -> list[Any]:
    """One rule per run of adjacent or overlapping ports of one protocol and CIDR, and a protocol-any
    rule absorbs its CIDR's other rules: AWS counts every rule against the group's quota, and the
    merged set admits exactly the same packets. The description names the earliest flow and counts
    every flow merged in. ``items`` are sorted, so "any" comes first and ports ascend."""
    out: list[list[Any]] = []  # [proto, lo, hi, cidr, first, count, order]
    last: dict[tuple[str, str], list[Any]] = {}
    for (proto, lo, hi, cidr), (first, count, order) in items:
        cur = last.get(("any", cidr)) if proto != "any" else None
        if cur is None:
            cur = last.get((proto, cidr))
            if cur is None or proto not in ("tcp", "udp") or lo > cur[2] + 1:
                cur = [proto, lo, hi, cidr, first, count, order]
                out.append(cur)
                last[(proto, cidr)] = cur
                continue
            cur[2] = max(cur[2], hi)
        cur[5] += count
        if order < cur[6]:
            cur[4], cur[6] = first, order
    if len(out) < len(items):
        out.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    return out


def _cidr(e: Endpoint, cidrs: dict[str, str]) -> str:
    if e.kind == "workload":
        return cidrs[e.value]
    if e.kind == "internet":
        return ANY
    return e.value


def _describe(first: str, count: int) -> str:
    text = _SG_DESC.sub("_", first)
    if count > 1:
        text += f" (+{count - 1} more)"
    return text[:255]


class _Locator:
    """Which workload a flow destination lands in: by name, or by a CIDR inside it (sorted, bisect)."""

    def __init__(self, cidrs: dict[str, str]) -> None:
        spans = sorted((*cidr_span(c), name) for name, c in cidrs.items())
        self.starts = [s for s, _, _ in spans]
        self.spans = spans

    def owners(self, e: Endpoint) -> list[str]:
        if e.kind == "workload":
            return [e.value]
        if e.kind == "internet":
            return []
        lo, hi = cidr_span(e.value)
        # Only a CIDR inside one workload addresses that workload; wider ones (0.0.0.0/0) address none.
        i = bisect.bisect_right(self.starts, lo) - 1
        if i >= 0 and hi <= self.spans[i][1]:
            return [self.spans[i][2]]
        return []
