"""JSON templates for the records written most often (per security-group rule, per subnet).

The C encoder costs ~2.5 us per call before it writes a byte, which adds up over 100k+ small
records at 10k workloads and 50k flows. A template is chosen only for a record with exactly its
keys (in construction order; any other record takes the C encoder), writes them in sorted order,
and is byte-identical to the C encoder: strings go through the very same C string encoder, ints
through ``int.__repr__``. A value of an unexpected type raises instead of writing something else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from json.encoder import encode_basestring as _s  # the C string encoder json.dumps uses too
from typing import Any

Template = Callable[[dict[str, Any]], str]


def json_int(value: object) -> str:
    """An int as the C encoder writes it; anything else (a bool too) raises."""
    if type(value) is not int:  # bool is an int too, but JSON writes it as true/false
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return int.__repr__(value)


def _subnet_pair(r: dict[str, Any]) -> str:
    return f'{{"attachment": {_s(r["attachment"])}, "workload": {_s(r["workload"])}}}'


def ingress_rule(protocol: str, from_port: int, to_port: int, cidr: str, description: str) -> str:
    """One security-group rule, written as the policy builds it (38k at 10k workloads)."""
    return (
        f'{{"cidr": {_s(cidr)}, "description": {_s(description)}, '
        f'"from_port": {json_int(from_port)}, "protocol": {_s(protocol)}, '
        f'"to_port": {json_int(to_port)}}}'
    )


_ESCAPED = re.compile(r'[\x00-\x1f"\\]')  # what the C string encoder escapes (non-ASCII it keeps)


def verbatim(*columns: Iterable[str]) -> bool:
    """True when the C string encoder writes every string of ``columns`` as itself between quotes
    (nothing to escape), so that a batch writer may put them between quotes itself: one scan per
    column instead of an encoder call per string. Anything but a str raises TypeError, as the
    encoder would."""
    return not any(_ESCAPED.search("".join(column)) for column in columns)


def check_ints(*columns: tuple[object, ...]) -> None:
    """What json_int checks, for whole columns at once (batch writers format ints with str())."""
    for column in columns:
        if not set(map(type, column)) <= {int}:
            raise TypeError("expected ints")


def _ingress_rule(r: dict[str, Any]) -> str:
    return ingress_rule(r["protocol"], r["from_port"], r["to_port"], r["cidr"], r["description"])


def _network_workload(r: dict[str, Any]) -> str:
    """The network stack's record of a workload (10k at 10k workloads)."""
    return (
        f'{{"account_id": {json_scalar(r["account_id"])}, "cidr": {json_scalar(r["cidr"])}, '
        f'"internet_egress": {json_scalar(r["internet_egress"])}, '
        f'"qos_mbps_per_pod": {json_scalar(r["qos_mbps_per_pod"])}}}'
    )


def _chargeback(r: dict[str, Any]) -> str:
    """A workload's chargeback in report.json (10k at 10k workloads)."""
    return (
        f'{{"direct_usd": {json_scalar(r["direct_usd"])}, "monthly_usd": {json_scalar(r["monthly_usd"])}, '
        f'"shared_usd": {json_scalar(r["shared_usd"])}}}'
    )


# Keyed by the record's keys in the order the renderers build them.
TEMPLATES: dict[tuple[str, ...], Template] = {
    ("workload", "attachment"): _subnet_pair,
    ("protocol", "from_port", "to_port", "cidr", "description"): _ingress_rule,
    ("account_id", "cidr", "internet_egress", "qos_mbps_per_pod"): _network_workload,
    ("direct_usd", "shared_usd", "monthly_usd"): _chargeback,
}


_PAD = "\n" + "  " * 4  # items of a workload's lists and tables (workloads.<name>.<key>[...])
_END = "\n" + "  " * 3  # the closing bracket of those, at the workload's key level
_KEY = ",\n" + "  " * 3


SCALARS = frozenset({str, bool, int, float, type(None)})


def json_scalar(value: object) -> str:
    """A scalar as the C encoder writes it (every writer here goes through this one)."""
    if value is None:
        return "null"
    t = type(value)
    if t is str:
        return _s(value)
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return int.__repr__(value)
    if t is float and math.isfinite(value):
        return float.__repr__(value)
    if t is float:  # what the C encoder writes (not valid JSON; the inputs never produce it)
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    raise TypeError(f"unexpected {t.__name__}")


def subnets_json(subnets: dict[str, tuple[str, str]]) -> str:
    """A VPC's subnets table as written one level below a workload's keys (the lock's workloads and
    the tfvars' are at the same level: one text for both)."""
    if not subnets:
        return "{}"
    rows = [
        f'{_s(az)}: {{"attachment": {_s(at)}, "workload": {_s(wl)}}}'
        for az, (wl, at) in sorted(subnets.items())
    ]
    return "{" + _PAD + ("," + _PAD).join(rows) + _END + "}"


def vpc_json(
    cidr: str,
    pinned: bool,
    subnet_prefix: int,
    subnets: dict[str, tuple[str, str]],
    subnets_text: str | None = None,
) -> str:
    """One lock entry (workloads.<name> or tombstones.<name>) as the indenting encoder writes it.
    ``subnets_text``: subnets_json(subnets), if the caller has it already."""
    return (
        f'{{\n      "cidr": {_s(cidr)},\n      "pinned": {"true" if pinned else "false"},'
        f'\n      "subnet_prefix": {json_int(subnet_prefix)},'
        f'\n      "subnets": {subnets_json(subnets) if subnets_text is None else subnets_text}\n    }}'
    )


def rules_json(rules: list[str]) -> str:
    """A workload's rule list (lines of JSON each) as written one level below its keys."""
    return "[" + _PAD + ("," + _PAD).join(rules) + _END + "]" if rules else "[]"


def workload_fields(
    account_id: str | None,
    azs: list[str],
    bandwidth: float,
    cidr: str,
    cost_center: str,
    egress_rules: list[str],
    environment: str,
    ingress_rules: list[str],
    internet_egress: bool,
    owner: str,
    qos: float,
    subnets: dict[str, tuple[str, str]],
    subnets_text: str | None = None,
    ingress_text: str | None = None,
) -> dict[str, str]:
    """A workload's values, each written as JSON for its key at workloads.<name>.<key>: the main
    tfvars, the stacks' tfvars and their one-line records pick from the same text (written once).
    ``subnets_text``, ``ingress_text``: subnets_json(subnets) and rules_json(ingress_rules), if the
    caller has them already."""
    return {
        "account_id": json_scalar(account_id),
        "azs": f"[{', '.join(map(_s, azs))}]" if azs else "[]",
        "bandwidth_mbps": json_scalar(bandwidth),
        "cidr": _s(cidr),
        "cost_center": _s(cost_center),
        "egress_rules": rules_json(egress_rules),
        "environment": _s(environment),
        "ingress_rules": rules_json(ingress_rules) if ingress_text is None else ingress_text,
        "internet_egress": "true" if internet_egress else "false",
        "owner": _s(owner),
        "qos_mbps_per_pod": json_scalar(qos),
        "subnets": subnets_json(subnets) if subnets_text is None else subnets_text,
    }


def keyed_json(fields: dict[str, str], keys: tuple[str, ...]) -> str:
    """The record of ``keys`` (sorted) at workloads.<name>, as the indenting encoder writes it (keys
    sorted, records one per line): 10k of them are most of the tfvars, and a template is ~3x faster.
    Each value is copied once, by the join (a piece per key would copy the rules' text twice)."""
    heads = _HEADS.get(keys)
    if heads is None:
        heads = _HEADS[keys] = tuple((_KEY if i else "{\n      ") + f'"{k}": ' for i, k in enumerate(keys))
    parts = [_END_RECORD] * (2 * len(keys) + 1)
    parts[0:-1:2] = heads
    parts[1::2] = map(fields.__getitem__, keys)
    return "".join(parts)


_HEADS: dict[tuple[str, ...], tuple[str, ...]] = {}  # keys -> what precedes each key's value
_END_RECORD = "\n    }"


TFVARS_WORKLOAD_KEYS = (
    "account_id",
    "azs",
    "bandwidth_mbps",
    "cidr",
    "cost_center",
    "egress_rules",
    "environment",
    "ingress_rules",
    "internet_egress",
    "owner",
    "qos_mbps_per_pod",
    "subnets",
)


def report_workload_json(
    account_id: str | None,
    azs: int,
    bandwidth: float,
    cidr: str,
    cost_center: str,
    environment: str,
    internet_egress: bool,
    monthly_gb: float,
    owner: str,
    pinned: bool,
    qos: float,
) -> str:
    """One report.json workload (workloads.<name>) as the indenting encoder writes it (one f-string:
    10k of them at 10k workloads)."""
    return (
        f'{{\n      "account_id": {json_scalar(account_id)},\n      "azs": {json_int(azs)},'
        f'\n      "bandwidth_mbps": {json_scalar(bandwidth)},\n      "cidr": {_s(cidr)},'
        f'\n      "cost_center": {_s(cost_center)},\n      "environment": {_s(environment)},'
        f'\n      "internet_egress": {"true" if internet_egress else "false"},'
        f'\n      "monthly_gb": {json_scalar(monthly_gb)},\n      "owner": {_s(owner)},'
        f'\n      "pinned": {"true" if pinned else "false"},'
        f'\n      "qos_mbps_per_pod": {json_scalar(qos)}\n    }}'
    )
