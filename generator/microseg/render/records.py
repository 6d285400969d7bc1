"""JSON templates for the records written most often (per flow, per rule, per subnet).

The C encoder costs ~2.5 us per call before it writes a byte, which adds up over 100k+ small
records at 10k workloads and 50k flows. A template is chosen only for a record with exactly its
keys (in construction order; any other record takes the C encoder), writes them in sorted order,
and is byte-identical to the C encoder: strings go through the very same C string encoder, ints
through ``int.__repr__``. A value of an unexpected type raises instead of writing something else.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring as _s  # the C string encoder json.dumps uses too
from typing import Any

Template = Callable[[dict[str, Any]], str]


def _int(value: object) -> str:
    if type(value) is not int:  # bool is an int too, but JSON writes it as true/false
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return int.__repr__(value)


def _strings(values: object) -> str:
    if type(values) is not list:
        raise TypeError(f"expected a list, got {type(values).__name__}")
    return "[" + ", ".join(map(_s, values)) + "]"


def _subnet_pair(r: dict[str, Any]) -> str:
    return f'{{"attachment": {_s(r["attachment"])}, "workload": {_s(r["workload"])}}}'


def _flow(r: dict[str, Any]) -> str:
    return (
        f'{{"destination": {_s(r["destination"])}, "destination_cidrs": {_strings(r["destination_cidrs"])}, '
        f'"from_port": {_int(r["from_port"])}, "id": {_s(r["id"])}, "protocol": {_s(r["protocol"])}, '
        f'"reference": {_s(r["reference"])}, "source": {_s(r["source"])}, '
        f'"source_cidrs": {_strings(r["source_cidrs"])}, "to_port": {_int(r["to_port"])}}}'
    )


def _ingress_rule(r: dict[str, Any]) -> str:
    return (
        f'{{"cidr": {_s(r["cidr"])}, "description": {_s(r["description"])}, '
        f'"from_port": {_int(r["from_port"])}, "protocol": {_s(r["protocol"])}, '
        f'"to_port": {_int(r["to_port"])}}}'
    )


def _firewall_rule(r: dict[str, Any]) -> str:
    return (
        f'{{"action": {_s(r["action"])}, "destination": {_s(r["destination"])}, '
        f'"from_port": {_int(r["from_port"])}, "id": {_s(r["id"])}, "protocol": {_s(r["protocol"])}, '
        f'"reference": {_s(r["reference"])}, "snat": {_s(r["snat"])}, "source": {_s(r["source"])}, '
        f'"to_port": {_int(r["to_port"])}}}'
    )


# Keyed by the record's keys in the order the renderers build them.
TEMPLATES: dict[tuple[str, ...], Template] = {
    ("workload", "attachment"): _subnet_pair,
    (
        "id",
        "source",
        "destination",
        "source_cidrs",
        "destination_cidrs",
        "protocol",
        "from_port",
        "to_port",
        "reference",
    ): _flow,
    ("protocol", "from_port", "to_port", "cidr", "description"): _ingress_rule,
    (
        "id",
        "action",
        "source",
        "destination",
        "protocol",
        "from_port",
        "to_port",
        "snat",
        "reference",
    ): _firewall_rule,
}
