"""Each approved flow as one line of JSON, written straight from its FlowRule (no dict per flow).

At 50k flows these lines are most of tfvars "flows" and report.json "firewall.rules". Keys are in
sorted order and the bytes are those of the C encoder (see microseg.render.records).
"""

from __future__ import annotations

from json.encoder import encode_basestring as _s  # the C string encoder json.dumps uses too

from microseg.policy import FlowRule
from microseg.render.records import json_int


def tfvars_flow(r: FlowRule) -> str:
    return (
        f'{{"destination": {_s(r.destination)}, "destination_cidrs": [{_s(r.destination_cidr)}], '
        f'"from_port": {json_int(r.from_port)}, "id": {_s(r.id)}, "protocol": {_s(r.protocol)}, '
        f'"reference": {_s(r.reference)}, "source": {_s(r.source)}, '
        f'"source_cidrs": [{_s(r.source_cidr)}], "to_port": {json_int(r.to_port)}}}'
    )


def firewall_rule(r: FlowRule) -> str:
    """An accept rule; traffic to the internet leaves SNATed to the pod's public address."""
    snat = "public" if r.destination == "internet" else "internal"
    return (
        f'{{"action": "accept", "destination": {_s(r.destination)}, '
        f'"from_port": {json_int(r.from_port)}, "id": {_s(r.id)}, "protocol": {_s(r.protocol)}, '
        f'"reference": {_s(r.reference)}, "snat": "{snat}", "source": {_s(r.source)}, '
        f'"to_port": {json_int(r.to_port)}}}'
    )
