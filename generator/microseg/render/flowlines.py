"""Each approved flow as one line of JSON, written straight from its FlowRule (no dict per flow).

At 50k flows these lines are most of tfvars "flows" and report.json "firewall.rules". Keys are in
sorted order and the bytes are those of the C encoder (see microseg.render.records).
"""

from __future__ import annotations

from json.encoder import encode_basestring as _s  # the C string encoder json.dumps uses too

from microseg.policy import FlowRule
from microseg.render.records import check_ints


def _quotable(rules: list[FlowRule]) -> list[FlowRule]:
    """The rules with every string as the C encoder writes it between its quotes, so one template
    serves both cases: as they are when build_policy found none that needs escaping (FlowRules.verbatim,
    the usual policy: no call per field), else escaped once per distinct string."""
    if getattr(rules, "verbatim", False):
        return rules
    escaped: dict[str, str] = {}

    def esc(v: object) -> object:
        if not isinstance(v, str):
            return v
        if v not in escaped:
            escaped[v] = _s(v)[1:-1]
        return escaped[v]

    return [FlowRule(*map(esc, r)) for r in rules]


def tfvars_flows(rules: list[FlowRule]) -> list[str]:
    """Every flow's tfvars line (one comprehension: no Python call per flow)."""
    check_ints([r[6] for r in rules], [r[7] for r in rules])
    return [
        f'{{"destination": "{destination}", "destination_cidrs": ["{destination_cidr}"], '
        f'"from_port": {lo}, "id": "{fid}", "protocol": "{protocol}", '
        f'"reference": "{reference}", "source": "{source}", '
        f'"source_cidrs": ["{source_cidr}"], "to_port": {hi}}}'
        for fid, source, destination, source_cidr, destination_cidr, protocol, lo, hi, reference in _quotable(
            rules
        )
    ]


def firewall_rules(rules: list[FlowRule]) -> list[str]:
    """Every flow's accept rule; traffic to the internet leaves SNATed to the pod's public address."""
    check_ints([r[6] for r in rules], [r[7] for r in rules])
    return [
        f'{{"action": "accept", "destination": "{destination}", '
        f'"from_port": {lo}, "id": "{fid}", "protocol": "{protocol}", '
        f'"reference": "{reference}", "snat": "{"public" if destination == "internet" else "internal"}", '
        f'"source": "{source}", "to_port": {hi}}}'
        for fid, source, destination, _, _, protocol, lo, hi, reference in _quotable(rules)
    ]
