"""modules/core-vpc: subnets, route tables (bridge -> fw ENI, internal -> TGW, public -> IGW), the core
attachment with appliance mode, interface endpoints; plan inventory, apply on the sandbox, re-plan,
destroy."""

from __future__ import annotations

from pathlib import Path

import pytest
from tfharness import CLIS, TfRoot, TofuError, assert_inventory, plan_summary

HERE = Path(__file__).parent
EXAMPLE = "examples/core-vpc"
MODULE = "modules/core-vpc"

# Differences moto shows on the second plan, each with the reason it is the emulator and not the module.
EMULATOR_DIFFS: dict[str, str] = {}

MODULE_VARS = {
    "name": "core",
    "cidr": "10.0.0.0/20",
    "subnets": {
        "us-east-1a": {
            "public": "10.0.0.0/24",
            "internal": "10.0.3.0/24",
            "management": "10.0.6.0/25",
            "tgw": "10.0.7.0/28",
        }
    },
    # Contract-shaped pods: the extra attributes (index, tunnel_inside_cidrs) are accepted and ignored.
    "pods": {
        "pod-01": {
            "index": 1,
            "az": "us-east-1a",
            "bridge_cidr": "10.0.8.0/28",
            "tunnel_inside_cidrs": ["169.254.10.0/30", "169.254.10.4/30"],
        }
    },
    "transit_gateway_id": "tgw-0123456789abcdef0",
    "workload_supernet": "10.64.0.0/10",
}


@pytest.mark.plan
@pytest.mark.parametrize("cli", CLIS)
def test_plan_matches_inventory(tfroot, aws_env, cli) -> None:
    plan = tfroot(EXAMPLE, aws_env, cli).plan()
    assert_inventory(plan_summary(plan), HERE / "inventories" / "core_vpc.yaml")


@pytest.mark.plan
def test_plan_routes_only_where_the_design_says(tfroot, aws_env) -> None:
    """No default route in internal/management/tgw tables; the only IGW route is the public one."""
    plan = tfroot(EXAMPLE, aws_env).plan()
    routes = {
        rc["address"]: rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_route"
    }
    assert sorted(routes) == [
        'module.core.aws_route.bridge_default["pod-01"]',
        'module.core.aws_route.bridge_default["pod-02"]',
        "module.core.aws_route.internal_workloads",
        "module.core.aws_route.public_default",
    ]
    cfg = {
        r["address"]: r
        for r in plan["configuration"]["root_module"]["module_calls"]["core"]["module"]["resources"]
    }
    refs = lambda a, k: cfg[a]["expressions"][k]["references"]  # noqa: E731
    assert "aws_route_table.public.id" in refs("aws_route.public_default", "route_table_id")
    assert "aws_internet_gateway.this.id" in refs("aws_route.public_default", "gateway_id")
    assert "aws_route_table.internal.id" in refs("aws_route.internal_workloads", "route_table_id")
    assert "var.transit_gateway_id" in refs("aws_route.internal_workloads", "transit_gateway_id")
    assert "var.fw_bridge_eni_ids" in refs("aws_route.bridge_default", "network_interface_id")


@pytest.mark.plan
def test_plan_contract_pods_without_bridge_routes(tfroot, aws_env) -> None:
    plan = tfroot(MODULE, aws_env).plan(MODULE_VARS)
    summary = plan_summary(plan)
    assert summary.counts["aws_subnet"] == 5 and summary.counts["aws_route_table"] == 5
    assert (
        summary.counts["aws_route"] == 2
    )  # public default and internal -> TGW; bridge routes left to the caller


@pytest.mark.plan
def test_plan_pinned_cidrs_and_given_flow_log_key(tfroot, aws_env) -> None:
    """internal_extra_cidrs: pinned brownfield CIDRs outside the pool -> TGW from the internal table.
    create_flow_log_kms_key = false (a static switch): the given key encrypts the flow log group."""
    key = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    plan = tfroot(MODULE, aws_env).plan(
        {
            **MODULE_VARS,
            "internal_extra_cidrs": ["10.32.0.0/22"],
            "create_flow_log_kms_key": False,
            "flow_log_kms_key_arn": key,
        }
    )
    after = {rc["address"]: rc["change"]["after"] for rc in plan["resource_changes"]}
    extra = after['aws_route.internal_extra["10.32.0.0/22"]']
    assert extra["destination_cidr_block"] == "10.32.0.0/22"
    assert extra["transit_gateway_id"] == MODULE_VARS["transit_gateway_id"]
    assert "module.flow_log.aws_kms_key.this[0]" not in after
    assert after["module.flow_log.aws_cloudwatch_log_group.this[0]"]["kms_key_id"] == key


@pytest.mark.plan
def test_plan_flow_log_is_never_unencrypted(tfroot, aws_env) -> None:
    with pytest.raises(TofuError, match=r"flow logs are\s+always encrypted"):
        tfroot(MODULE, aws_env).plan({**MODULE_VARS, "create_flow_log_kms_key": False})


@pytest.mark.plan
def test_plan_bridge_routes_need_every_pods_eni(tfroot, aws_env) -> None:
    with pytest.raises(TofuError, match="fw_bridge_eni_ids has no ENI for pod pod-01"):
        tfroot(MODULE, aws_env).plan(
            {**MODULE_VARS, "create_bridge_default_routes": True, "fw_bridge_eni_ids": {}}
        )


@pytest.mark.plan
def test_plan_rejects_bridge_that_is_not_28(tfroot, aws_env) -> None:
    pods = {"pod-01": {"az": "us-east-1a", "bridge_cidr": "10.0.8.0/27"}}
    with pytest.raises(TofuError, match="bridge_cidr must be a /28"):
        tfroot(MODULE, aws_env).plan({**MODULE_VARS, "pods": pods})


def _default_targets(table: dict) -> list[str]:
    return [
        r.get("NetworkInterfaceId") or r.get("GatewayId") or r.get("TransitGatewayId") or "?"
        for r in table["Routes"]
        if r.get("DestinationCidrBlock") == "0.0.0.0/0"
    ]


@pytest.mark.apply
@pytest.mark.slow
def test_apply_replan_destroy(tfroot, sandbox) -> None:
    tf: TfRoot = tfroot(EXAMPLE, sandbox.env)
    tf.apply()
    try:
        out = tf.output()
        ec2 = sandbox.client("ec2")
        tables = {
            t["RouteTableId"]: t
            for t in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])[
                "RouteTables"
            ]
        }

        # Bridge default -> that pod's fw ENI, at the fixed host cidrhost(bridge, 4).
        for pod, rt in out["bridge_route_table_ids"].items():
            assert _default_targets(tables[rt]) == [out["fw_bridge_eni_ids"][pod]], pod
        enis = ec2.describe_network_interfaces(NetworkInterfaceIds=list(out["fw_bridge_eni_ids"].values()))
        assert sorted(e["PrivateIpAddress"] for e in enis["NetworkInterfaces"]) == ["10.0.8.20", "10.0.8.4"]

        # internal: the workload pool -> TGW, and no default route; public: default -> IGW.
        internal = tables[out["internal_route_table_id"]]
        assert _default_targets(internal) == []
        pool = [r for r in internal["Routes"] if r.get("DestinationCidrBlock") == "10.64.0.0/10"]
        assert [r.get("TransitGatewayId") for r in pool] == [out["transit_gateway_id"]]
        assert _default_targets(tables[out["public_route_table_id"]])[0].startswith("igw-")
        igw_tables = [
            t for t in tables.values() if any(r.get("GatewayId", "").startswith("igw-") for r in t["Routes"])
        ]
        assert [t["RouteTableId"] for t in igw_tables] == [out["public_route_table_id"]]

        # Core attachment: appliance mode on, in the tgw subnets.
        att = ec2.describe_transit_gateway_vpc_attachments(
            TransitGatewayAttachmentIds=[out["transit_gateway_attachment_id"]]
        )["TransitGatewayVpcAttachments"][0]
        assert att["Options"]["ApplianceModeSupport"] == "enable"
        subnets = {
            s["SubnetId"]: s
            for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])["Subnets"]
        }
        tier = lambda s: next(t["Value"] for t in subnets[s]["Tags"] if t["Key"] == "tier")  # noqa: E731
        assert {tier(s) for s in att["SubnetIds"]} == {"tgw"} and len(att["SubnetIds"]) == 2

        # Interface endpoints in the internal subnets, behind a group that allows 443 from the core CIDR only.
        eps = ec2.describe_vpc_endpoints(VpcEndpointIds=list(out["interface_endpoint_ids"].values()))[
            "VpcEndpoints"
        ]
        assert sorted(e["ServiceName"].rsplit(".", 1)[1] for e in eps) == [
            "ec2messages",
            "logs",
            "monitoring",
            "ssm",
            "ssmmessages",
        ]
        for e in eps:
            assert {tier(s) for s in e["SubnetIds"]} == {"internal"}
            assert [g["GroupId"] for g in e["Groups"]] == [out["endpoint_security_group_id"]]
        sg = ec2.describe_security_groups(GroupIds=[out["endpoint_security_group_id"]])["SecurityGroups"][0]
        assert [
            (p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]])
            for p in sg["IpPermissions"]
        ] == [("tcp", 443, 443, ["10.0.0.0/20"])]
        assert sg["IpPermissionsEgress"] == []

        default = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [out["vpc_id"]]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )
        assert default["SecurityGroups"][0]["IpPermissions"] == []
        assert default["SecurityGroups"][0]["IpPermissionsEgress"] == []
        logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [out["vpc_id"]]}])[
            "FlowLogs"
        ]
        assert [fl["TrafficType"] for fl in logs] == ["ALL"]

        allowed = tf.assert_no_changes(emulator_diffs=EMULATOR_DIFFS)
        print("emulator differences on re-plan:", allowed or "none")
    finally:
        tf.destroy()

    ec2 = sandbox.client("ec2")
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:managed-by", "Values": ["microseg"]}])["Vpcs"]
    assert not [
        t
        for t in ec2.describe_transit_gateways()["TransitGateways"]
        if t["State"] not in ("deleted", "deleting")
    ]
