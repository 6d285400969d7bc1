"""modules/transit-gateway: the TGW route tables that make the packet path true.

Plan: inventory, the wiring of every association/propagation to the right table (from the plan's
configuration references), blue/green selection, RAM share and cross-account acceptance.
Apply on the sandbox: the same facts read back with boto3, a blue/green switch, re-plan, destroy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tfharness import CLIS, TfRoot, assert_inventory, plan_summary

HERE = Path(__file__).parent
EXAMPLE = "examples/transit-gateway"
MODULE = "modules/transit-gateway"

# Differences moto shows on the second plan, each with the reason it is the emulator and not the module.
# moto stores a static TGW route's attachment as one object where AWS has the list
# TransitGatewayAttachments, so SearchTransitGatewayRoutes returns that list empty: the provider reads
# the return route back as transit_gateway_attachment_id = "" / blackhole = true and wants to replace it.
MOTO_STATIC_ROUTE_TARGET = (
    "moto returns no TransitGatewayAttachments for a static TGW route, so the provider reads the"
    " core attachment back as '' / blackhole"
)
EMULATOR_DIFFS: dict[str, str] = {
    # fnmatch: `[` opens a character class, so the instance key is matched with a plain `*`.
    "module.transit_gateway.aws_ec2_transit_gateway_route.workloads_return*": MOTO_STATIC_ROUTE_TARGET,
}


def _module_config(plan: dict, module: str) -> dict[str, dict]:
    """Resources of a module call in the plan's configuration section, keyed by type.name."""
    root = plan["configuration"]["root_module"]
    mod = root["module_calls"][module]["module"] if module else root
    return {f"{r['type']}.{r['name']}": r for r in mod["resources"]}


def _rt_ref(resource: dict) -> list[str]:
    return resource["expressions"]["transit_gateway_route_table_id"]["references"]


def _after(plan: dict) -> dict[str, dict]:
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan["resource_changes"]
        if rc["mode"] == "managed"
    }


@pytest.mark.plan
@pytest.mark.parametrize("cli", CLIS)
def test_plan_matches_inventory(tfroot, aws_env, cli) -> None:
    plan = tfroot(EXAMPLE, aws_env, cli).plan()
    assert_inventory(plan_summary(plan), HERE / "inventories" / "transit_gateway.yaml")


@pytest.mark.plan
def test_plan_packet_path_wiring(tfroot, aws_env) -> None:
    """workloads: workload attachments associated, only VPN propagated.

    core: core and VPN attachments associated, workloads propagated."""
    plan = tfroot(EXAMPLE, aws_env).plan()
    cfg = _module_config(plan, "transit_gateway")
    workloads_rt = 'aws_ec2_transit_gateway_route_table.this["workloads"].id'
    core_rt = 'aws_ec2_transit_gateway_route_table.this["core"].id'
    assert workloads_rt in _rt_ref(cfg["aws_ec2_transit_gateway_route_table_association.workload"])
    assert core_rt in _rt_ref(cfg["aws_ec2_transit_gateway_route_table_propagation.workload"])
    assert core_rt in _rt_ref(cfg["aws_ec2_transit_gateway_route_table_association.core"])
    assert core_rt in _rt_ref(cfg["aws_ec2_transit_gateway_route_table_association.vpn"])
    assert workloads_rt in _rt_ref(cfg["aws_ec2_transit_gateway_route_table_propagation.vpn"])
    # Nothing but the VPN propagation writes into `workloads`.
    into_workloads = [
        name
        for name, r in cfg.items()
        if r["type"] == "aws_ec2_transit_gateway_route_table_propagation" and workloads_rt in _rt_ref(r)
    ]
    assert into_workloads == ["aws_ec2_transit_gateway_route_table_propagation.vpn"]
    after = _after(plan)
    assert {a for a in after if ".aws_ec2_transit_gateway_route_table_propagation.workload[" in a} == {
        'module.transit_gateway.aws_ec2_transit_gateway_route_table_propagation.workload["orders"]',
        'module.transit_gateway.aws_ec2_transit_gateway_route_table_propagation.workload["payments"]',
    }


@pytest.mark.plan
def test_plan_east_west_return_routes(tfroot, aws_env) -> None:
    """The fw SNATs east-west traffic to its internal address: `workloads` routes the core internal
    subnets (and nothing else) to the core attachment, so the reply returns to that very fw."""
    plan = tfroot(EXAMPLE, aws_env).plan()
    after = _after(plan)
    routes = {a: v for a, v in after.items() if ".aws_ec2_transit_gateway_route.workloads_return[" in a}
    assert {v["destination_cidr_block"] for v in routes.values()} == {"10.0.3.0/24"}
    assert all(not v.get("blackhole") for v in routes.values())
    cfg = _module_config(plan, "transit_gateway")
    route = cfg["aws_ec2_transit_gateway_route.workloads_return"]
    assert 'aws_ec2_transit_gateway_route_table.this["workloads"].id' in _rt_ref(route)
    assert route["expressions"]["transit_gateway_attachment_id"]["references"][0].startswith(
        "var.core_attachments"
    )
    # The only static routes of the module; no workload CIDR is ever routed in `workloads`.
    assert [n for n in cfg if n.startswith("aws_ec2_transit_gateway_route.")] == [
        "aws_ec2_transit_gateway_route.workloads_return"
    ]


@pytest.mark.plan
def test_plan_rejects_bad_return_cidr(tfroot, aws_env) -> None:
    from tfharness import TofuError

    with pytest.raises(TofuError, match="workloads_return_cidrs must be IPv4 CIDRs"):
        tfroot(MODULE, aws_env).plan(
            {"name": "x", "amazon_side_asn": 64512, "workloads_return_cidrs": ["10.0.3.0"]}
        )


@pytest.mark.plan
def test_plan_transit_gateway_cidr_blocks_for_connect(tfroot, aws_env) -> None:
    """TGW Connect takes the TGW's GRE addresses from its CIDR blocks (generator-decided)."""
    from tfharness import TofuError

    plan = tfroot(MODULE, aws_env).plan(
        {"name": "x", "amazon_side_asn": 64512, "transit_gateway_cidr_blocks": ["10.99.0.0/24"]}
    )
    tgw = next(rc for rc in plan["resource_changes"] if rc["address"] == "aws_ec2_transit_gateway.this")
    assert tgw["change"]["after"]["transit_gateway_cidr_blocks"] == ["10.99.0.0/24"]
    with pytest.raises(TofuError, match="/24 or larger"):
        tfroot(MODULE, aws_env).plan(
            {"name": "x", "amazon_side_asn": 64512, "transit_gateway_cidr_blocks": ["10.99.0.0/25"]}
        )


@pytest.mark.plan
def test_plan_blue_green_selects_the_ecmp_set(tfroot, aws_env) -> None:
    plan = tfroot(EXAMPLE, aws_env).plan({"active_pods": ["pod-02"]})
    after = _after(plan)
    vpn_props = sorted(a for a in after if "route_table_propagation.vpn[" in a)
    vpn_assocs = sorted(a for a in after if "route_table_association.vpn[" in a)
    assert vpn_props == [
        'module.transit_gateway.aws_ec2_transit_gateway_route_table_propagation.vpn["pod-02"]'
    ]
    assert len(vpn_assocs) == 2  # a pod out of the ECMP set stays associated with `core`
    assert plan_summary(plan).outputs["propagating_vpn_attachments"] == ["pod-02"]


@pytest.mark.plan
def test_plan_ram_share_and_cross_account_accept(tfroot, aws_env) -> None:
    tf = tfroot(MODULE, aws_env)
    plan = tf.plan(
        {
            "name": "microseg",
            "amazon_side_asn": 64512,
            "workload_attachments": {"orders": "tgw-attach-0aaaaaaaaaaaaaaaa"},
            "accept_vpc_attachments": {"orders": "tgw-attach-0aaaaaaaaaaaaaaaa"},
            "create_ram_share": True,
            "ram_principals": ["222222222222", "333333333333"],
        }
    )
    after = _after(plan)
    assert after["aws_ram_resource_share.this[0]"]["allow_external_principals"] is False
    assert sorted(a for a in after if a.startswith("aws_ram_principal_association.")) == [
        'aws_ram_principal_association.this["222222222222"]',
        'aws_ram_principal_association.this["333333333333"]',
    ]
    assert "aws_ram_resource_association.this[0]" in after
    accepter = after['aws_ec2_transit_gateway_vpc_attachment_accepter.this["orders"]']
    assert accepter["transit_gateway_default_route_table_association"] is False
    assert accepter["transit_gateway_default_route_table_propagation"] is False
    cfg = _module_config(plan, "")
    assert (
        "aws_ec2_transit_gateway_vpc_attachment_accepter.this"
        in cfg["aws_ec2_transit_gateway_route_table_association.workload"]["depends_on"]
    )


@pytest.mark.plan
def test_plan_rejects_public_asn(tfroot, aws_env) -> None:
    from tfharness import TofuError

    with pytest.raises(TofuError, match="private ASN"):
        tfroot(MODULE, aws_env).plan({"name": "x", "amazon_side_asn": 65535})


def _table_ids(ec2, tgw_id: str) -> dict[str, str]:
    rts = ec2.describe_transit_gateway_route_tables(
        Filters=[{"Name": "transit-gateway-id", "Values": [tgw_id]}]
    )["TransitGatewayRouteTables"]
    return {
        next(t["Value"] for t in rt["Tags"] if t["Key"] == "microseg:route-table"): rt[
            "TransitGatewayRouteTableId"
        ]
        for rt in rts
        if rt["State"] != "deleted"
    }


def _assocs(ec2, rt: str) -> set[str]:
    return {
        a["TransitGatewayAttachmentId"]
        for a in ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=rt)[
            "Associations"
        ]
        if a.get("State", "associated") == "associated"
    }


def _props(ec2, rt: str) -> set[str]:
    return {
        p["TransitGatewayAttachmentId"]
        for p in ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=rt)[
            "TransitGatewayRouteTablePropagations"
        ]
        if p.get("State", "enabled") == "enabled"
    }


def _static_routes(ec2, rt: str) -> dict[str, str | None]:
    """Active static routes of a TGW route table: destination -> attachment (None: not reported)."""
    routes = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=rt, Filters=[{"Name": "type", "Values": ["static"]}]
    )["Routes"]
    return {
        r["DestinationCidrBlock"]: next(
            (a["TransitGatewayAttachmentId"] for a in r.get("TransitGatewayAttachments", [])), None
        )
        for r in routes
        if r.get("State") == "active"
    }


def _assert_return_route(ec2, rt: str, core_attachment: str, real: bool) -> None:
    static = _static_routes(ec2, rt)
    assert set(static) == {"10.0.3.0/24"}, static
    # MOTO_STATIC_ROUTE_TARGET: only a real account reports the target; the plan test proves the wiring.
    assert static["10.0.3.0/24"] == core_attachment or (not real and static["10.0.3.0/24"] is None)


@pytest.mark.apply
@pytest.mark.slow
def test_apply_blue_green_replan_destroy(tfroot, sandbox) -> None:
    tf: TfRoot = tfroot(EXAMPLE, sandbox.env)
    tf.apply()
    try:
        out = tf.output()
        ec2 = sandbox.client("ec2")
        tgw = ec2.describe_transit_gateways(TransitGatewayIds=[out["transit_gateway_id"]])["TransitGateways"][
            0
        ]
        opts = tgw["Options"]
        assert opts["AmazonSideAsn"] == 64512
        assert opts["VpnEcmpSupport"] == "enable" and opts["DnsSupport"] == "enable"
        assert opts["DefaultRouteTableAssociation"] == "disable"
        assert opts["DefaultRouteTablePropagation"] == "disable"

        rts = _table_ids(ec2, out["transit_gateway_id"])
        workloads = set(out["workload_attachment_ids"].values())
        vpns = set(out["vpn_attachment_ids"].values())
        assert _assocs(ec2, rts["workloads"]) == workloads
        assert _assocs(ec2, rts["core"]) == vpns | {out["core_attachment_id"]}
        assert _props(ec2, rts["core"]) == workloads
        # `workloads` learns only from the pods: no workload (nor the core VPC) propagates into it.
        assert _props(ec2, rts["workloads"]) == vpns
        # East-west replies: the core internal subnet -> the core attachment, as a static route.
        _assert_return_route(ec2, rts["workloads"], out["core_attachment_id"], sandbox.real)
        assert set(out["workloads_return_routes"]) == {"10.0.3.0/24"}

        allowed = tf.assert_no_changes(emulator_diffs=EMULATOR_DIFFS)
        print("emulator differences on re-plan:", allowed or "none")

        # Blue/green: take pod-01 out of the ECMP set; it stays associated with `core`.
        tf.apply({"active_pods": ["pod-02"]})
        assert _props(ec2, rts["workloads"]) == {out["vpn_attachment_ids"]["pod-02"]}
        _assert_return_route(ec2, rts["workloads"], out["core_attachment_id"], sandbox.real)
        assert _assocs(ec2, rts["core"]) == vpns | {out["core_attachment_id"]}
        tf.assert_no_changes({"active_pods": ["pod-02"]}, emulator_diffs=EMULATOR_DIFFS)
    finally:
        tf.destroy({"active_pods": ["pod-02"]})

    ec2 = sandbox.client("ec2")
    assert not [
        t
        for t in ec2.describe_transit_gateways()["TransitGateways"]
        if t["State"] not in ("deleted", "deleting")
    ]
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:managed-by", "Values": ["microseg"]}])["Vpcs"]
