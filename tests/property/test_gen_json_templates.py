"""The tfvars workload template writes exactly what the generic indenting encoder writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.render.jsonfmt import Raw, Record, dumps
from microseg.render.records import (
    TEMPLATES,
    TFVARS_WORKLOAD_KEYS,
    keyed_json,
    report_workload_json,
    vpc_json,
    workload_fields,
)
from microseg.render.stacks import STACK_WORKLOAD_KEYS

PROFILE = settings.get_profile("microseg-generator")
text = st.text(max_size=12)
number = st.one_of(st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False))
rule = st.builds(
    lambda c, d, lo, p, hi: Record(protocol=p, from_port=lo, to_port=hi, cidr=c, description=d),
    text,
    text,
    st.integers(-1, 65535),
    text,
    st.integers(-1, 65535),
)


def _shared_keys(acct, bw, cc, env, egress, owner, qos) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The keys a tfvars workload and a report.json workload have in common."""
    return {
        "internet_egress": egress,
        "bandwidth_mbps": bw,
        "qos_mbps_per_pod": qos,
        "account_id": acct,
        "environment": env,
        "owner": owner,
        "cost_center": cc,
    }


@PROFILE
@given(
    st.one_of(st.none(), text),
    st.lists(text, max_size=3),
    number,
    text,
    text,
    text,
    st.lists(rule, max_size=3),
    st.lists(rule, max_size=3),
    st.booleans(),
    text,
    number,
    st.dictionaries(text, st.tuples(text, text), max_size=3),
)
def test_workload_template_is_byte_identical(
    acct, azs, bw, cidr, cc, env, rules, out_rules, egress, owner, qos, subnets
) -> None:  # type: ignore[no-untyped-def]
    generic = {
        "cidr": cidr,
        "azs": azs,
        "subnets": {az: Record(workload=w, attachment=a) for az, (w, a) in subnets.items()},
        "ingress_rules": rules,
        "egress_rules": out_rules,
        **_shared_keys(acct, bw, cc, env, egress, owner, qos),
    }
    fields = workload_fields(
        acct,
        azs,
        bw,
        cidr,
        cc,
        [r.json() for r in out_rules],
        env,
        [r.json() for r in rules],
        egress,
        owner,
        qos,
        subnets,
    )
    # The main tfvars' record, and a workload stack's (a subset of the same text).
    for keys in (TFVARS_WORKLOAD_KEYS, STACK_WORKLOAD_KEYS):
        raw = Raw(keyed_json(fields, keys))
        expected = {k: generic[k] for k in keys}
        assert dumps({"workloads": {"w": raw}}) == dumps({"workloads": {"w": expected}})


@PROFILE
@given(text, st.booleans(), st.integers(0, 32), st.dictionaries(text, st.tuples(text, text), max_size=3))
def test_lock_vpc_template_is_byte_identical(cidr: str, pinned: bool, prefix: int, subnets) -> None:  # type: ignore[no-untyped-def]
    generic = {
        "cidr": cidr,
        "subnet_prefix": prefix,
        "pinned": pinned,
        "subnets": {az: Record(workload=w, attachment=a) for az, (w, a) in subnets.items()},
    }
    raw = Raw(vpc_json(cidr, pinned, prefix, subnets))
    assert dumps({"workloads": {"w": raw}}) == dumps({"workloads": {"w": generic}})


@PROFILE
@given(
    st.one_of(st.none(), text),
    st.integers(1, 6),
    number,
    text,
    text,
    text,
    st.booleans(),
    number,
    text,
    st.booleans(),
    number,
)
def test_report_workload_template_is_byte_identical(
    acct, azs, bw, cidr, cc, env, egress, gb, owner, pinned, qos
) -> None:  # type: ignore[no-untyped-def]
    generic = {
        "cidr": cidr,
        "azs": azs,
        "pinned": pinned,
        "monthly_gb": gb,
        **_shared_keys(acct, bw, cc, env, egress, owner, qos),
    }
    raw = Raw(report_workload_json(acct, azs, bw, cidr, cc, env, egress, gb, owner, pinned, qos))
    assert dumps({"workloads": {"w": raw}}) == dumps({"workloads": {"w": generic}})


@PROFILE
@given(st.one_of(st.none(), text), text, st.booleans(), number, number, number, number)
def test_record_templates_are_byte_identical(acct, cidr, egress, qos, direct, shared, total) -> None:  # type: ignore[no-untyped-def]
    # The network stack's workload records and report.json's chargeback rows (10k each at 10k
    # workloads) take a template; a plain dict of the same keys takes the generic encoder.
    for record in (
        Record(account_id=acct, cidr=cidr, internet_egress=egress, qos_mbps_per_pod=qos),
        Record(direct_usd=direct, shared_usd=shared, monthly_usd=total),
    ):
        assert tuple(record) in TEMPLATES
        generic = json.dumps(dict(record), sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
        assert record.json() == generic
