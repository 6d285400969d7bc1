"""JSON templates for the records written most often (per security-group rule, per subnet).

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


def json_int(value: object) -> str:
    """An int as the C encoder writes it; anything else (a bool too) raises."""
    if type(value) is not int:  # bool is an int too, but JSON writes it as true/false
        raise TypeError(f"expected an int, got {type(value).__name__}")
    return int.__repr__(value)


def _subnet_pair(r: dict[str, Any]) -> str:
    return f'{{"attachment": {_s(r["attachment"])}, "workload": {_s(r["workload"])}}}'


def _ingress_rule(r: dict[str, Any]) -> str:
    return (
        f'{{"cidr": {_s(r["cidr"])}, "description": {_s(r["description"])}, '
        f'"from_port": {json_int(r["from_port"])}, "protocol": {_s(r["protocol"])}, '
        f'"to_port": {json_int(r["to_port"])}}}'
    )


# Keyed by the record's keys in the order the renderers build them.
TEMPLATES: dict[tuple[str, ...], Template] = {
    ("workload", "attachment"): _subnet_pair,
    ("protocol", "from_port", "to_port", "cidr", "description"): _ingress_rule,
}
