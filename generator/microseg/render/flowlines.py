"""Each approved flow as one line of JSON, written straight from its FlowRule (no dict per flow).

At 50k flows these lines are most of tfvars "flows" and report.json "firewall.rules". Keys are in
sorted order and the bytes are those of the C encoder (see microseg.render.records).
"""

from __future__ import annotations

from json.encoder import encode_basestring as _s  # the C string encoder json.dumps uses too

from microseg.policy import FlowRule
from microseg.render.records import json_int


def tfvars_flow(r: FlowRule) -> str:
    # Unpacked once: named-tuple attributes cost a descriptor call each, 50k flows x 9 fields.
    fid, source, destination, source_cidr, destination_cidr, protocol, lo, hi, reference = r
    return (
        f'{{"destination": {_s(destination)}, "destination_cidrs": [{_s(destination_cidr)}], '
        f'"from_port": {json_int(lo)}, "id": {_s(fid)}, "protocol": {_s(protocol)}, '
        f'"reference": {_s(reference)}, "source": {_s(source)}, '
        f'"source_cidrs": [{_s(source_cidr)}], "to_port": {json_int(hi)}}}'
    )


def firewall_rule(r: FlowRule) -> str:
    """An accept rule; traffic to the internet leaves SNATed to the pod's public address."""
    fid, source, destination, _, _, protocol, lo, hi, reference = r
    snat = "public" if destination == "internet" else "internal"
    return (
        f'{{"action": "accept", "destination": {_s(destination)}, '
        f'"from_port": {json_int(lo)}, "id": {_s(fid)}, "protocol": {_s(protocol)}, '
        f'"reference": {_s(reference)}, "snat": "{snat}", "source": {_s(source)}, '
        f'"to_port": {json_int(hi)}}}'
    )
