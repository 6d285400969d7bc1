"""The path tracer on hand-built snapshots: no AWS, every branch of the packet-path rules.

These cover what moto cannot show (static TGW routes with their target attachment, as AWS returns
them) and the prefix arithmetic the verdicts depend on.
"""

from __future__ import annotations

import ipaddress

import pytest
from microseg.verify.model import (
    Network,
    PodMember,
    Route,
    RouteTable,
    Subnet,
    TgwAttachment,
    TgwRoute,
    TgwRouteTable,
    Vpc,
)
from microseg.verify.trace import PathResult, candidates, lpm, tgw_lpm, trace_network

P = ipaddress.ip_network
TGW = "tgw-1"
WORKLOADS = {"payments": "10.64.0.0/20", "orders": "10.64.16.0/20"}


def snapshot() -> Network:
    """The correct hub-and-spoke: 2 workloads, a core VPC, pods pod-01 and pod-02."""
    net = Network(region="us-east-1", name="microseg")
    net.vpcs["vpc-core"] = Vpc("vpc-core", (P("10.0.0.0/20"),), "core")
    net.subnets["sn-core-tgw"] = Subnet("sn-core-tgw", "vpc-core", P("10.0.7.0/28"), "a", "rtb-core-tgw")
    net.route_tables["rtb-core-tgw"] = RouteTable(
        "rtb-core-tgw", "vpc-core", [Route(P("10.0.0.0/20"), "local", "local")]
    )
    net.attachments["att-core"] = TgwAttachment("att-core", TGW, "vpc", "vpc-core", ("sn-core-tgw",))
    net.tgw_route_tables["rt-workloads"] = TgwRouteTable("rt-workloads", TGW, "workloads")
    net.tgw_route_tables["rt-core"] = TgwRouteTable("rt-core", TGW, "core")
    net.association["att-core"] = "rt-core"
    for i in (1, 2):
        pod = f"pod-0{i}"
        net.attachments[f"att-vpn{i}"] = TgwAttachment(f"att-vpn{i}", TGW, "vpn", f"vpn-{i}")
        net.vpns[f"vpn-{i}"] = PodMember(pod, "vpn")
        net.enis[f"eni-fw{i}"] = PodMember(pod, "fw")
        net.enis[f"eni-vpn{i}"] = PodMember(pod, "vpn")
        net.association[f"att-vpn{i}"] = "rt-core"
    net.tgw_route_tables["rt-workloads"].routes.append(
        TgwRoute(P("0.0.0.0/0"), ("att-vpn1", "att-vpn2"), "active", "propagated", "api", 4)
    )
    for name, cidr in WORKLOADS.items():
        vpc, rtb, sn, att = f"vpc-{name}", f"rtb-{name}", f"sn-{name}", f"att-{name}"
        net.vpcs[vpc] = Vpc(vpc, (P(cidr),), "workload", name)
        net.subnets[sn] = Subnet(sn, vpc, P(cidr), "a", rtb)
        net.route_tables[rtb] = RouteTable(
            rtb, vpc, [Route(P(cidr), "local", "local"), Route(P("0.0.0.0/0"), "tgw", TGW)]
        )
        net.attachments[att] = TgwAttachment(att, TGW, "vpc", vpc, (sn,))
        net.association[att] = "rt-workloads"
        net.tgw_route_tables["rt-core"].routes.append(
            TgwRoute(P(cidr), (att,), "active", "propagated", "api", 1)
        )
    return net


def rows(net: Network, source: str = "payments", dest: str | None = None) -> list[PathResult]:
    return [p for p in trace_network(net) if p.source == source and (dest is None or p.destination == dest)]


def hops(p: PathResult) -> list[tuple[str, str, str]]:
    return [(h.at.split()[0], h.match, h.to.split()[0]) for h in p.hops]


def static(net: Network, rt: str, cidr: str, att: str) -> None:
    net.tgw_route_tables[rt].routes.append(TgwRoute(P(cidr), (att,), "active", "static", "api", 0))


# --- prefix arithmetic --------------------------------------------------------------------------


def test_candidates_split_a_destination_by_more_specific_routes() -> None:
    routes = [P("0.0.0.0/0"), P("10.64.16.0/20"), P("10.64.17.0/24"), P("10.0.0.0/8")]
    assert candidates(P("10.64.16.0/20"), (), routes) == [P("10.64.16.0/20"), P("10.64.17.0/24")]
    # A prefix fully covered by more specific routes can never use the broader route.
    assert candidates(P("10.64.16.0/23"), (), [P("10.64.16.0/24"), P("10.64.17.0/24")]) == [
        P("10.64.16.0/24"),
        P("10.64.17.0/24"),
    ]
    # The internet excludes the network's own CIDRs: a route to the core is not a way out.
    assert candidates(P("0.0.0.0/0"), (P("10.0.0.0/20"),), [P("10.0.0.0/20"), P("8.8.8.0/24")]) == [
        P("0.0.0.0/0"),
        P("8.8.8.0/24"),
    ]


def test_lpm_and_tgw_preference_order() -> None:
    rt = [Route(P("0.0.0.0/0"), "tgw", TGW), Route(P("10.64.0.0/10"), "pcx", "pcx-1")]
    assert lpm(rt, P("10.64.16.0/20")) == rt[1]
    assert lpm(rt, P("8.0.0.0/8")) == rt[0]
    assert lpm(rt, P("::/0")) is None
    static_ = TgwRoute(P("0.0.0.0/0"), ("a",), "active", "static", "api", 0)
    vpn = TgwRoute(P("0.0.0.0/0"), ("b", "c"), "active", "propagated", "api", 4)
    vpc = TgwRoute(P("0.0.0.0/0"), ("d",), "active", "propagated", "vpc-cidr", 1)
    assert tgw_lpm([vpn, static_], P("1.0.0.0/8")) == [static_]
    assert tgw_lpm([vpn, vpc], P("1.0.0.0/8")) == [vpc]
    longer = TgwRoute(P("1.0.0.0/8"), ("e",), "active", "propagated", "api", 4)
    assert tgw_lpm([static_, longer], P("1.2.0.0/16")) == [longer]


# --- verdicts -----------------------------------------------------------------------------------


def test_correct_snapshot_is_all_inspected() -> None:
    paths = trace_network(snapshot())
    assert len(paths) == 4
    assert {p.verdict for p in paths} == {"inspected"}
    assert all(p.reason == "enters one of 2 pods through their VPN attachments (ECMP)" for p in paths)


@pytest.mark.parametrize("targets", [("att-core",), ()], ids=["as-aws-reports-it", "target-not-reported"])
def test_return_route_to_the_core_internal_subnets_is_not_a_bypass(targets: tuple[str, ...]) -> None:
    """East-west return path: `workloads` routes the fw SNAT subnets (core internal) back to the core
    attachment. The core VPC is neither a workload nor the internet, so that route is no way around
    a pod, also when the API names no target (moto)."""
    net = snapshot()
    for cidr in ("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"):
        net.tgw_route_tables["rt-workloads"].routes.append(
            TgwRoute(P(cidr), targets, "active", "static", "api", 0)
        )
    paths = trace_network(net)
    assert len(paths) == 4
    assert {p.verdict for p in paths} == {"inspected"}
    # None of the followed paths uses a return route.
    assert all(h.match in ("0.0.0.0/0", "-") or h.match.startswith("10.64.") for p in paths for h in p.hops)


def test_static_route_to_another_workload_as_aws_reports_it() -> None:
    net = snapshot()
    static(net, "rt-workloads", "10.64.16.0/20", "att-orders")
    (p,) = [p for p in rows(net, dest="orders") if p.verdict == "bypass"]
    assert hops(p) == [("rtb-payments", "0.0.0.0/0", TGW), ("rt-workloads", "10.64.16.0/20", "att-orders")]
    assert p.reason == "reaches workload orders (vpc-orders) without crossing a pod"
    assert [q.verdict for q in rows(net, "orders")] == ["inspected", "inspected"]


def test_core_attachment_leading_to_a_fw_is_inspected() -> None:
    net = snapshot()
    static(net, "rt-workloads", "10.64.16.0/20", "att-core")
    net.route_tables["rtb-core-tgw"].routes.append(Route(P("10.64.0.0/10"), "eni", "eni-fw1"))
    (p,) = rows(net, dest="orders")
    assert p.verdict == "inspected"
    assert hops(p) == [
        ("rtb-payments", "0.0.0.0/0", TGW),
        ("rt-workloads", "10.64.16.0/20", "att-core"),
        ("rtb-core-tgw", "10.64.0.0/10", "eni-fw1"),
    ]
    assert p.reason == "enters pod-01 at its fw (eni-fw1)"


def test_core_attachment_back_to_the_tgw_reaches_the_workload() -> None:
    net = snapshot()
    static(net, "rt-workloads", "10.64.16.0/20", "att-core")
    net.route_tables["rtb-core-tgw"].routes.append(Route(P("10.64.0.0/10"), "tgw", TGW))
    (p,) = rows(net, dest="orders")
    assert p.verdict == "bypass"
    assert hops(p) == [
        ("rtb-payments", "0.0.0.0/0", TGW),
        ("rt-workloads", "10.64.16.0/20", "att-core"),
        ("rtb-core-tgw", "10.64.0.0/10", TGW),
        ("rt-core", "10.64.16.0/20", "att-orders"),
    ]


def test_core_attachment_straight_to_the_igw_is_a_bypass() -> None:
    net = snapshot()
    static(net, "rt-workloads", "0.0.0.0/0", "att-core")
    net.route_tables["rtb-core-tgw"].routes.append(Route(P("0.0.0.0/0"), "igw", "igw-core"))
    paths = rows(net)
    assert {p.destination: p.verdict for p in paths} == {"orders": "bypass", "internet": "bypass"}
    for p in paths:
        assert hops(p)[1:] == [
            ("rt-workloads", "0.0.0.0/0", "att-core"),
            ("rtb-core-tgw", "0.0.0.0/0", "igw-core"),
        ]


def test_core_route_to_a_vpn_instance_is_not_inspection() -> None:
    """Only a pod's fw inspects; an ENI route to the vpn instance skips the policy."""
    net = snapshot()
    static(net, "rt-workloads", "10.64.16.0/20", "att-core")
    net.route_tables["rtb-core-tgw"].routes.append(Route(P("10.64.0.0/10"), "eni", "eni-vpn2"))
    (p,) = rows(net, dest="orders")
    assert p.verdict == "bypass"
    assert "pod-02's vpn instance" in p.reason


def test_a_routing_loop_is_dropped() -> None:
    net = snapshot()
    static(net, "rt-workloads", "10.64.16.0/20", "att-core")
    static(net, "rt-core", "10.64.16.0/20", "att-core")  # static beats orders' propagated route
    net.route_tables["rtb-core-tgw"].routes.append(Route(P("10.64.0.0/10"), "tgw", TGW))
    (p,) = rows(net, dest="orders")
    assert p.verdict == "dropped"
    assert p.reason.startswith("routing loop")


def test_ipv6_default_route_to_an_egress_only_gateway() -> None:
    net = snapshot()
    net.route_tables["rtb-payments"].routes.append(Route(P("::/0"), "eigw", "eigw-1"))
    bad = [p for p in rows(net) if p.verdict == "bypass"]
    assert [(p.destination, p.destination_prefix, hops(p)) for p in bad] == [
        ("internet", "::/0", [("rtb-payments", "::/0", "eigw-1")])
    ]


def test_gateway_endpoint_prefix_list_is_a_way_out() -> None:
    net = snapshot()
    net.route_tables["rtb-payments"].routes.append(Route(None, "vpce", "vpce-s3", prefix_list="pl-63a5400a"))
    (p,) = [p for p in rows(net) if p.verdict == "bypass"]
    assert hops(p) == [("rtb-payments", "pl-63a5400a", "vpce-s3")]


@pytest.mark.parametrize(
    ("kind", "target", "reason"),
    [
        ("peering", "att-peer", "leaves the transit gateway through peering attachment att-peer"),
        ("vpc", "att-mgmt", "reaches the management VPC vpc-mgmt"),
        ("vpc", "att-stranger", "reaches VPC vpc-stranger, outside the microseg network"),
    ],
)
def test_other_tgw_exits_are_bypasses(kind: str, target: str, reason: str) -> None:
    net = snapshot()
    net.vpcs["vpc-mgmt"] = Vpc("vpc-mgmt", (P("10.1.0.0/24"),), "management")
    net.attachments["att-mgmt"] = TgwAttachment("att-mgmt", TGW, "vpc", "vpc-mgmt")
    net.attachments["att-stranger"] = TgwAttachment("att-stranger", TGW, "vpc", "vpc-stranger")
    net.attachments["att-peer"] = TgwAttachment("att-peer", TGW, "peering", "tgw-2")
    static(net, "rt-workloads", "0.0.0.0/0", target)
    assert kind == net.attachments[target].kind
    paths = rows(net)
    assert {p.verdict for p in paths} == {"bypass"}
    assert all(p.reason.startswith(reason) for p in paths)
