"""The flows' lines written without the encoder (strings that need no escaping, policy.FlowRules)
are the bytes json.dumps writes, and strings that need escaping still get it: whatever the names,
CIDRs and references, every line is the C encoder's."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.model import Endpoint, Flow, FlowSet
from microseg.policy import build_policy, egress_rules
from microseg.render.flowlines import firewall_rules, tfvars_flows

PROFILE = settings.get_profile("microseg-generator")
INTERNAL = "10.0.8.0/22"
# Mostly plain text; now and then a character the encoder escapes, or one it keeps (non-ASCII).
text = st.text(alphabet=st.sampled_from('ab-1./"\\\n\x00\x1f\u00e9\u2028'), min_size=1, max_size=6)
plain = st.text(alphabet=st.sampled_from("ab-1./"), min_size=1, max_size=6)
word = st.one_of(plain, plain, text)
service = st.sampled_from([("tcp", 443, 443), ("udp", 53, 53), ("icmp", -1, -1), ("any", -1, -1)])


def _json(record: dict[str, object]) -> str:
    return json.dumps(record, sort_keys=True, separators=(", ", ": "), ensure_ascii=False)


@PROFILE
@given(
    st.dictionaries(word, word, min_size=2, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), service, word), min_size=1, max_size=8),
)
def test_flow_lines_are_the_encoders_bytes(
    cidrs: dict[str, str], rows: list[tuple[int, int, tuple[str, int, int], str]]
) -> None:
    names = sorted(cidrs)
    flows = tuple(
        Flow(
            line,
            Endpoint("workload", names[a % len(names)]),
            Endpoint("workload", names[b % len(names)]),
            p,
            lo,
            hi,
            ref,
        )
        for line, (a, b, (p, lo, hi), ref) in enumerate(rows, 2)
    )
    policy = build_policy(FlowSet("flows.csv", flows), cidrs, INTERNAL)
    rules = policy.flows
    every = [s for r in rules for s in r if isinstance(s, str)]
    # Checked over every name and CIDR of the plan, not only those the flows use: never wrongly true.
    assert not rules.verbatim or all(_json(s) == f'"{s}"' for s in every)
    assert tfvars_flows(rules) == [
        _json(
            {
                "destination": r.destination,
                "destination_cidrs": [r.destination_cidr],
                "from_port": r.from_port,
                "id": r.id,
                "protocol": r.protocol,
                "reference": r.reference,
                "source": r.source,
                "source_cidrs": [r.source_cidr],
                "to_port": r.to_port,
            }
        )
        for r in rules
    ]
    assert firewall_rules(rules) == [
        _json(
            {
                "action": "accept",
                "destination": r.destination,
                "from_port": r.from_port,
                "id": r.id,
                "protocol": r.protocol,
                "reference": r.reference,
                "snat": "public" if r.destination == "internet" else "internal",
                "source": r.source,
                "to_port": r.to_port,
            }
        )
        for r in rules
    ]
    for lines in [*egress_rules(rules, cidrs).values(), *policy.ingress.values()]:
        for line in lines:
            assert _json(json.loads(line)) == line
