"""build_policy against the policy written out the obvious way: every flow resolved on its own,
security-group rules grouped per target workload and key, touching port ranges merged (the quota
counts rules), the first flow describing each rule."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.model import Endpoint, Flow, FlowSet
from microseg.policy import ANY, FlowRule, _describe, build_policy
from microseg.render.records import ingress_rule

PROFILE = settings.get_profile("microseg-generator")
INTERNAL = "10.0.8.0/22"
CIDRS = {f"w{i}": f"10.64.{4 * i}.0/22" for i in range(5)}  # w0..w4, side by side
# CIDR endpoints: inside a workload, across two, outside all of them, and everything.
OTHER_CIDRS = ["10.64.1.0/24", "10.64.4.8/29", "10.64.0.0/21", "192.168.0.0/24", "0.0.0.0/0"]
endpoint = st.one_of(
    st.sampled_from(sorted(CIDRS)).map(lambda n: Endpoint("workload", n)),
    st.sampled_from(OTHER_CIDRS).map(lambda c: Endpoint("cidr", c)),
    st.just(Endpoint("internet", "internet")),
)
service = st.sampled_from(
    # 444 and 440-442 touch 443 without overlapping it: merged all the same.
    [
        ("tcp", 443, 443),
        ("tcp", 444, 444),
        ("tcp", 440, 442),
        ("tcp", 0, 65535),
        ("udp", 53, 53),
        ("icmp", -1, -1),
        ("any", -1, -1),
    ]
)
flow_rows = st.lists(st.tuples(endpoint, endpoint, service, st.integers(1, 3)), max_size=40)


def _cidr(e: Endpoint) -> str:
    return CIDRS[e.value] if e.kind == "workload" else ANY if e.kind == "internet" else e.value


def _owner(e: Endpoint) -> str | None:
    if e.kind == "workload":
        return e.value
    if e.kind == "internet":
        return None
    net = ipaddress.ip_network(e.value)
    inside = [n for n, c in CIDRS.items() if net.subnet_of(ipaddress.ip_network(c))]
    return inside[0] if inside else None


def _expected(flows: list[Flow]) -> tuple[list[FlowRule], dict[str, list[str]]]:
    width = max(3, len(str(len(flows))))
    rules = [
        FlowRule(
            f"f{i:0{width}d}",
            f.source.value,
            f.destination.value,
            _cidr(f.source),
            _cidr(f.destination),
            f.protocol,
            f.from_port,
            f.to_port,
            f.reference,
        )
        for i, f in enumerate(flows, 1)
    ]
    groups: dict[str, dict[tuple[str, int, int, str], list[Flow]]] = {}
    for f in flows:
        target = _owner(f.destination)
        if target is None:
            continue
        same_vpc = f.source == Endpoint("workload", target)
        key = (f.protocol, f.from_port, f.to_port, _cidr(f.source) if same_vpc else INTERNAL)
        groups.setdefault(target, {}).setdefault(key, []).append(f)
    ingress = {
        target: [
            ingress_rule(
                "-1" if proto == "any" else proto,
                lo,
                hi,
                cidr,
                _describe(f"{fs[0].reference} {fs[0].source.value} to {fs[0].destination.value}", len(fs)),
            )
            for (proto, lo, hi, cidr), fs in _merged(by_key, flows)
        ]
        for target, by_key in groups.items()
    }
    return rules, ingress


def _merged(
    by_key: dict[tuple[str, int, int, str], list[Flow]], flows: list[Flow]
) -> list[tuple[tuple[str, int, int, str], list[Flow]]]:
    """The fewest rules admitting the same packets: per source CIDR, a protocol-any rule takes every
    flow of that CIDR; otherwise tcp/udp port ranges that touch or overlap become one range. Each
    rule's flows in flow order (the first describes it)."""
    order = {id(f): i for i, f in enumerate(flows)}
    out: dict[tuple[str, int, int, str], list[Flow]] = {}
    cidrs = {k[3] for k in by_key}
    for cidr in cidrs:
        mine = {k: fs for k, fs in by_key.items() if k[3] == cidr}
        anys = [k for k in mine if k[0] == "any"]
        if anys:
            out[anys[0]] = [f for fs in mine.values() for f in fs]
            continue
        for proto in {k[0] for k in mine}:
            ranges = sorted((k[1], k[2], fs) for k, fs in mine.items() if k[0] == proto)
            if proto not in ("tcp", "udp"):
                out.update({(proto, lo, hi, cidr): fs for lo, hi, fs in ranges})
                continue
            runs: list[list] = []
            for lo, hi, fs in ranges:
                if runs and lo <= runs[-1][1] + 1:
                    runs[-1][1] = max(runs[-1][1], hi)
                    runs[-1][2] = runs[-1][2] + fs
                else:
                    runs.append([lo, hi, list(fs)])
            out.update({(proto, lo, hi, cidr): fs for lo, hi, fs in runs})
    return [(k, sorted(fs, key=lambda f: order[id(f)])) for k, fs in sorted(out.items())]


@PROFILE
@given(flow_rows)
def test_policy_is_the_flows_resolved_and_grouped(
    rows: list[tuple[Endpoint, Endpoint, tuple[str, int, int], int]],
) -> None:
    flows = [
        Flow(line, src, dst, proto, lo, hi, f"CHG-{line % 7}.{ticket}")
        for line, (src, dst, (proto, lo, hi), ticket) in enumerate(rows, 2)
    ]
    policy = build_policy(FlowSet("flows.csv", tuple(flows)), CIDRS, INTERNAL)
    rules, ingress = _expected(flows)
    assert policy.flows == rules
    assert policy.ingress == ingress


def test_a_rule_counts_the_flows_it_admits_and_names_the_first() -> None:
    w0, w1 = Endpoint("workload", "w0"), Endpoint("workload", "w1")
    flows = (
        Flow(2, w0, w1, "tcp", 443, 443, "CHG-1"),
        Flow(3, w0, Endpoint("cidr", "10.64.4.8/29"), "tcp", 443, 443, "CHG-2"),  # inside w1
        Flow(4, w1, w1, "udp", 53, 53, "CHG-3"),  # same VPC: its own CIDR, not the core's
    )
    policy = build_policy(FlowSet("flows.csv", flows), CIDRS, INTERNAL)
    assert policy.ingress == {
        "w1": [
            ingress_rule("tcp", 443, 443, INTERNAL, "CHG-1 w0 to w1 (+1 more)"),
            ingress_rule("udp", 53, 53, CIDRS["w1"], "CHG-3 w1 to w1"),
        ]
    }
