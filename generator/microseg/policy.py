"""Approved flows -> the default-deny policy: firewall rules for every pod and workload security-group rules.

East-west traffic reaches a workload after the fw SNATs it to its own internal address, so a
workload's security group admits the core's internal block (not the original source) on exactly
the approved protocols and ports; the fw keeps the per-source decision and logs the original source.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import compress, repeat
from json.encoder import encode_basestring as _json_string  # the C encoder ingress_rule uses
from operator import getitem, itemgetter
from typing import Any, NamedTuple

from microseg.model import Endpoint, FlowSet
from microseg.netaddr import cidr_span
from microseg.render.records import check_ints, ingress_rule, verbatim

ANY = "0.0.0.0/0"
_MARK = "\0"  # a stand-in description that splits a rule's JSON around the real one
_MARK_JSON = _json_string(_MARK)
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


class FlowRules(list):  # type: ignore[type-arg]
    """The approved flows' FlowRules, in flows.csv order. ``verbatim``: every string in them is one
    the C string encoder writes as itself between quotes (build_policy checks it once), so the
    writers of their 50k lines may leave the encoder out (microseg.render.flowlines)."""

    __slots__ = ("verbatim",)

    def __init__(self, rules: Iterable[FlowRule] = (), verbatim: bool = False) -> None:
        super().__init__(rules)
        self.verbatim = verbatim


# A workload's security-group rule before it is written: its key (protocol, from, to, CIDR) and
# [reference, source, destination, flows merged in, order of the first flow].
Rule = tuple[tuple[str, int, int, str], list[Any]]


@dataclass(frozen=True)
class Policy:
    flows: list[FlowRule]  # in flows.csv order; ids f001, f002, ...
    rules: dict[str, list[Rule]]  # workload -> its inbound rules, merged and sorted

    @functools.cached_property
    def ingress(self) -> dict[str, list[str]]:
        """workload -> its tfvars "ingress_rules", each one line of JSON. Written on first use: the
        plan needs only how many there are, and at big runs this happens after the reports forked."""
        # A rule is its key's JSON with the description in the middle: each key's two halves are
        # written once (a handful of protocol/port pairs recur across 38k rules at 10k workloads).
        halves: dict[tuple[str, int, int, str], tuple[str, str]] = {}
        ingress: dict[str, list[str]] = {}
        for target, rules in self.rules.items():
            lines = ingress[target] = []
            for key, (reference, src_value, dst_value, count, _) in rules:
                half = halves.get(key)
                if half is None:
                    proto, lo, hi, cidr = key
                    head, _, tail = ingress_rule(
                        "-1" if proto == "any" else proto, lo, hi, cidr, _MARK
                    ).partition(_MARK_JSON)
                    half = halves[key] = (head, tail)
                # Made of the characters AWS accepts (_describe): nothing the encoder would escape.
                text = _describe(f"{reference} {src_value} to {dst_value}", count)
                lines.append(f'{half[0]}"{text}"{half[1]}')
        return ingress


def flow_id(i: int, count: int) -> str:
    return f"f{i:0{max(3, len(str(count)))}d}"


def build_policy(
    flows: FlowSet,
    cidrs: dict[str, str],
    internal_block: str,
) -> Policy:
    locator: _Locator | None = None  # built on the first CIDR destination (most flows name workloads)
    out = FlowRules()
    append = out.append
    # Per target workload and rule key: the first flow's reference, source and destination (a rule's
    # description names the first flow and counts the rest) and how many flows share the rule.
    rules: dict[str, dict[tuple[str, int, int, str], list[Any]]] = {}
    owner_of: dict[str, str | None] = {}  # a CIDR destination -> the workload it lies in, if any
    others: list[str] = []  # the endpoints that are not workloads (their value and CIDR)
    n = len(flows.flows)
    ids = map(f"f{{:0{max(3, len(str(n)))}d}}".format, range(1, n + 1))  # formatted without a call each
    new_rule = tuple.__new__
    # Unpacked in the loop header, not f.source etc.: named-tuple attributes cost a descriptor call
    # each, 50k times; a workload's CIDR is a lookup by name.
    for i, fid, (_, (src_kind, src_value), (dst_kind, dst_value), protocol, lo, hi, reference, _) in zip(
        range(1, n + 1), ids, flows.flows, strict=True
    ):
        if src_kind == "workload":
            src_cidr = cidrs[src_value]
        else:
            src_cidr = ANY if src_kind == "internet" else src_value
            others += (src_value, src_cidr)
        if dst_kind == "workload":
            dst_cidr = cidrs[dst_value]
            target = dst_value
        else:
            dst_cidr = ANY if dst_kind == "internet" else dst_value
            others += (dst_value, dst_cidr)
            target = owner_of.get(dst_value, "")
            if target == "":
                locator = locator or _Locator(cidrs)
                found = locator.owners(Endpoint(dst_kind, dst_value))
                target = owner_of[dst_value] = found[0] if found else None
        append(
            new_rule(
                FlowRule,
                (fid, src_value, dst_value, src_cidr, dst_cidr, protocol, lo, hi, reference),
            )
        )
        if target is None:
            continue
        same_vpc = src_kind == "workload" and src_value == target
        key = (protocol, lo, hi, src_cidr if same_vpc else internal_block)
        by_key = rules.get(target)
        if by_key is None:
            rules[target] = {key: [reference, src_value, dst_value, 1, i]}
            continue
        entry = by_key.get(key)
        if entry is None:
            by_key[key] = [reference, src_value, dst_value, 1, i]
        else:
            entry[3] += 1
    merged: dict[str, list[Rule]] = {}
    for target, by_key in rules.items():
        items = sorted(by_key.items())
        merged[target] = _merge_ports(items) if len(items) > 1 and _may_merge(items) else items
    # Every string of a FlowRule: an id (digits), a workload's name or CIDR, another endpoint's
    # value or CIDR, a protocol and a reference; each column scanned once.
    plain = verbatim(
        cidrs, cidrs.values(), others, map(itemgetter(3), flows.flows), map(itemgetter(6), flows.flows)
    )
    out.verbatim = plain
    return Policy(out, merged)


def egress_rules(flows: list[FlowRule], sources: Collection[str]) -> dict[str, list[str]]:
    """Each workload's security-group egress, each rule one line of JSON: the approved flows it is
    the source of, one rule per (protocol, ports, destination CIDR); a rule approved by several flows
    names each distinct `<reference> <source> to <destination>` once, joined by ", " (at most 255
    characters). Rules sort by `<protocol>-<from>-<to>-<cidr>`. ``sources``: the workloads (a CIDR
    source has no security group of ours)."""
    # Column by column through C-level map, zip and sort (no Python call per flow: at 50k flows that
    # costs more than the rules' JSON). A rule's key is "<source>\0<key text>", so sorting the keys
    # sorts by source, then key text.
    if not flows:
        return {}
    _, src, dst, _, dst_cidr, protocol, lo, hi, reference = zip(*flows, strict=True)
    if not all(map(sources.__contains__, src)):  # a CIDR source: no security group of ours sends it
        keep = list(map(sources.__contains__, src))
        src, dst, dst_cidr, protocol, lo, hi, reference = (
            tuple(compress(c, keep)) for c in (src, dst, dst_cidr, protocol, lo, hi, reference)
        )
        if not src:
            return {}
    check_ints(lo, hi)
    # f-strings in comprehensions: str.format parses its template again for every flow.
    descs = [f"{ref} {source} to {target}" for ref, source, target in zip(reference, src, dst, strict=True)]
    # Every rule's JSON in flow order; then each key's first flow's, in key order. Rules that
    # several flows approve are written again below with all their descriptions.
    plain = getattr(flows, "verbatim", False)
    text = rule_lines(dst_cidr, descs, lo, protocol, hi, plain)
    keys = [f"{s}\0{p}-{f}-{t}-{c}" for s, p, f, t, c in zip(src, protocol, lo, hi, dst_cidr, strict=True)]
    n = len(keys)
    first = dict(zip(reversed(keys), range(n - 1, -1, -1), strict=True))  # the last write wins
    order = sorted(first)
    at = list(map(first.__getitem__, order))
    names = list(map(src.__getitem__, at))
    text = list(map(text.__getitem__, at))
    if len(first) < n:  # each distinct description once, in flow order
        joined: dict[str, list[str]] = {k: [] for k, c in Counter(keys).items() if c > 1}
        for k, desc in zip(keys, descs, strict=True):
            same = joined.get(k)
            if same is not None and desc not in same:
                same.append(desc)
        for k, same in joined.items():
            j, i = bisect.bisect_left(order, k), first[k]
            if len(same) > 1:
                text[j] = rule_lines(
                    [dst_cidr[i]], [", ".join(same)], [lo[i]], [protocol[i]], [hi[i]], plain
                )[0]
    out: dict[str, list[str]] = {}
    pos = 0
    for name, count in Counter(names).items():  # names are sorted: each source's rules are a run
        out[name] = text[pos : pos + count]
        pos += count
    return out


def rule_lines(
    cidr: Sequence[str],
    description: list[str],
    lo: Sequence[int],
    protocol: Sequence[str],
    hi: Sequence[int],
    plain: bool = False,
) -> list[str]:
    """Security-group rules' JSON lines from their columns, descriptions made valid for AWS.
    ``plain``: the CIDRs and protocols need no escaping (FlowRules.verbatim)."""
    if _SG_DESC.search(" ".join(description)) is not None:  # one scan: the usual ones need nothing
        description = list(map(_SG_DESC.sub, repeat("_"), description))
    if max(map(len, description), default=0) > 255:
        description = list(map(getitem, description, repeat(slice(0, 255))))
    # A description is made of the characters AWS accepts: none that the encoder would escape.
    if plain:
        return [
            f'{{"cidr": "{c}", "description": "{d}", "from_port": {f}, "protocol": "{p}", "to_port": {t}}}'
            for c, d, f, p, t in zip(cidr, description, lo, protocol, hi, strict=True)
        ]
    q = _json_string
    return [
        f'{{"cidr": {q(c)}, "description": "{d}", "from_port": {f}, "protocol": {q(p)}, "to_port": {t}}}'
        for c, d, f, p, t in zip(cidr, description, lo, protocol, hi, strict=True)
    ]


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


def _may_merge(items: list[tuple[tuple[str, int, int, str], list[Any]]]) -> bool:
    """False when _merge_ports would return ``items`` as they are (checked without building
    anything: most workloads' rules are a few distinct ports). True for a protocol-any rule, or two
    rules of one protocol side by side whose ports touch: ``items`` sort by protocol, then port, so
    any rule between two touching rules of one CIDR touches the first of them."""
    last_proto, last_hi = "", -2
    for (proto, lo, hi, _), _ in items:
        if proto == "any":
            return True
        if proto == last_proto and proto in ("tcp", "udp") and lo <= last_hi + 1:
            return True
        last_proto, last_hi = proto, hi
    return False


def _merge_ports(items: list[tuple[tuple[str, int, int, str], list[Any]]]) -> list[Any]:
    """One rule per run of adjacent or overlapping ports of one protocol and CIDR, and a protocol-any
    rule absorbs its CIDR's other rules: AWS counts every rule against the group's quota, and the
    merged set admits exactly the same packets. The description names the earliest flow and counts
    every flow merged in. ``items`` are sorted, so "any" comes first and ports ascend; each value is
    [reference, source, destination, count, order of the first flow]."""
    out: list[list[Any]] = []  # [proto, lo, hi, cidr, value]
    last: dict[tuple[str, str], list[Any]] = {}
    for (proto, lo, hi, cidr), value in items:
        cur = last.get(("any", cidr)) if proto != "any" else None
        if cur is None:
            cur = last.get((proto, cidr))
            if cur is None or proto not in ("tcp", "udp") or lo > cur[2] + 1:
                cur = [proto, lo, hi, cidr, list(value)]
                out.append(cur)
                last[(proto, cidr)] = cur
                continue
            cur[2] = max(cur[2], hi)
        merged = cur[4]
        merged[3] += value[3]
        if value[4] < merged[4]:
            merged[0:3], merged[4] = value[0:3], value[4]
    if len(out) == len(items):
        return items
    out.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    return [((proto, lo, hi, cidr), value) for proto, lo, hi, cidr, value in out]
