"""modules/workload-vpc: plan against a YAML inventory, apply on the sandbox, re-plan clean, destroy clean."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from tfharness import CLIS, TfRoot, TofuError, assert_inventory, plan_summary

HERE = Path(__file__).parent
EXAMPLE = "examples/workload-vpc"
MODULE = "modules/workload-vpc"

# Differences moto shows on the second plan, each with the reason it is the emulator and not the module.
EMULATOR_DIFFS: dict[str, str] = {}
# modules/flow-log's addresses -> those of the same resources when they lived in this module.
FLOW_LOG_MOVES = {
    "aws_kms_key.this[0]": "aws_kms_key.flow_log[0]",
    "aws_cloudwatch_log_group.this[0]": "aws_cloudwatch_log_group.flow_log[0]",
    "aws_iam_role.this[0]": "aws_iam_role.flow_log[0]",
    "aws_iam_role_policy.this[0]": "aws_iam_role_policy.flow_log[0]",
    "aws_flow_log.this[0]": "aws_flow_log.this[0]",
}
GIVEN_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"


def _changes(plan: dict, address_prefix: str = "") -> dict[str, dict]:
    return {
        rc["address"]: rc["change"]["after"] or {}
        for rc in plan["resource_changes"]
        if rc["address"].startswith(address_prefix) and rc["mode"] == "managed"
    }


@pytest.mark.plan
@pytest.mark.parametrize("cli", CLIS)
def test_plan_matches_inventory(tfroot, aws_env, cli) -> None:
    plan = tfroot(EXAMPLE, aws_env, cli).plan()
    assert_inventory(plan_summary(plan), HERE / "inventories" / "workload_vpc.yaml")


@pytest.mark.plan
def test_plan_contract_rules_and_default_deny(tfroot, aws_env) -> None:
    """Every contract protocol maps to a valid SG rule; no egress unless asked; default SG without rules."""
    rules = [
        {
            "protocol": "tcp",
            "from_port": 0,
            "to_port": 65535,
            "cidr": "10.65.0.0/20",
            "description": "CHG-1 all tcp",
        },
        {"protocol": "udp", "from_port": 53, "to_port": 53, "cidr": "10.66.0.0/20", "description": ""},
        {
            "protocol": "any",
            "from_port": -1,
            "to_port": -1,
            "cidr": "10.67.0.0/20",
            "description": "CHG-2 any",
        },
    ]
    plan = tfroot(EXAMPLE, aws_env).plan({"ingress_rules": rules})
    after = _changes(plan, "module.workload_vpc.")
    ingress = {a: v for a, v in after.items() if ".aws_vpc_security_group_ingress_rule." in a}
    assert len(ingress) == 3
    anyrule = after[
        'module.workload_vpc.aws_vpc_security_group_ingress_rule.workload["any--1--1-10.67.0.0/20"]'
    ]
    assert anyrule["ip_protocol"] == "-1" and anyrule["from_port"] is None and anyrule["to_port"] is None
    udp = after['module.workload_vpc.aws_vpc_security_group_ingress_rule.workload["udp-53-53-10.66.0.0/20"]']
    assert udp["description"] is None  # empty descriptions are not sent as ""
    assert not [a for a in after if ".aws_vpc_security_group_egress_rule." in a]
    default_sg = after["module.workload_vpc.aws_default_security_group.this"]
    assert default_sg.get("ingress", []) == [] and default_sg.get("egress", []) == []


@pytest.mark.plan
def test_plan_shared_transit_gateway_leaves_defaults_to_owner(tfroot, aws_env) -> None:
    tf = tfroot(MODULE, aws_env)
    plan = tf.plan(
        {
            "name": "orders",
            "cidr": "10.65.0.0/20",
            "subnets": {"us-east-1a": {"workload": "10.65.0.0/22", "attachment": "10.65.15.0/28"}},
            "transit_gateway_id": "tgw-0123456789abcdef0",
            "transit_gateway_shared": True,
            "create_flow_log_kms_key": False,
            "flow_log_kms_key_arn": GIVEN_KEY,
        }
    )
    after = _changes(plan)
    att = after["aws_ec2_transit_gateway_vpc_attachment.this"]
    # Not sent at all (computed, unknown in the plan): the owner's accepter decides.
    assert att.get("transit_gateway_default_route_table_association") is None
    assert att.get("transit_gateway_default_route_table_propagation") is None
    assert "module.flow_log.aws_kms_key.this[0]" not in after  # the given key is used, none is created
    assert after["module.flow_log.aws_cloudwatch_log_group.this[0]"]["kms_key_id"].endswith(
        "00000000-0000-0000-0000-000000000000"
    )


@pytest.mark.plan
def test_plan_rejects_attachment_subnet_that_is_not_28(tfroot, aws_env) -> None:
    tf = tfroot(EXAMPLE, aws_env)
    bad = {"us-east-1a": {"workload": "10.64.0.0/22", "attachment": "10.64.15.0/27"}}
    with pytest.raises(TofuError, match="attachment subnets must be /28"):
        tf.plan({"subnets": bad})


@pytest.mark.apply
@pytest.mark.slow
def test_apply_replan_destroy(tfroot, sandbox) -> None:
    tf: TfRoot = tfroot(EXAMPLE, sandbox.env)
    tf.apply()
    try:
        out = tf.output()
        ec2 = sandbox.client("ec2")
        tgw_id = out["transit_gateway_id"]

        # Every route table of a workload subnet sends 0.0.0.0/0 to the TGW.
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])["Subnets"]
        attachment_ids = set(out["attachment_subnet_ids"].values())
        workload_subnets = {s["SubnetId"] for s in subnets if s["SubnetId"] not in attachment_ids}
        assert len(workload_subnets) == 3
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])[
            "RouteTables"
        ]
        for subnet in workload_subnets:
            rts = [t for t in tables if any(a.get("SubnetId") == subnet for a in t["Associations"])]
            assert len(rts) == 1, f"{subnet} has no explicit route table"
            defaults = [r for r in rts[0]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
            assert [r.get("TransitGatewayId") for r in defaults] == [tgw_id]
        # No route table of the VPC sends anything to an internet gateway.
        assert not [r for t in tables for r in t["Routes"] if r.get("GatewayId", "local").startswith("igw-")]

        # The attachment uses exactly the /28 subnets.
        att = ec2.describe_transit_gateway_vpc_attachments(
            TransitGatewayAttachmentIds=[out["transit_gateway_attachment_id"]]
        )["TransitGatewayVpcAttachments"][0]
        assert set(att["SubnetIds"]) == attachment_ids
        cidrs = {s["SubnetId"]: s["CidrBlock"] for s in subnets}
        assert all(ipaddress.ip_network(cidrs[s]).prefixlen == 28 for s in att["SubnetIds"])

        # The attachment is associated with `workloads` only.
        rts = ec2.describe_transit_gateway_route_tables(
            Filters=[{"Name": "transit-gateway-id", "Values": [tgw_id]}]
        )["TransitGatewayRouteTables"]
        by_name = {next(t["Value"] for t in rt["Tags"] if t["Key"] == "Name"): rt for rt in rts}
        assoc = ec2.get_transit_gateway_route_table_associations(
            TransitGatewayRouteTableId=by_name["payments-workloads"]["TransitGatewayRouteTableId"]
        )["Associations"]
        assert [a["TransitGatewayAttachmentId"] for a in assoc] == [out["transit_gateway_attachment_id"]]

        # Default security group without rules; workload group: the two approved flows, no egress.
        sgs = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])[
            "SecurityGroups"
        ]
        default = next(g for g in sgs if g["GroupName"] == "default")
        assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []
        workload = next(g for g in sgs if g["GroupId"] == out["security_group_id"])
        assert workload["IpPermissionsEgress"] == []
        assert sorted((p["IpProtocol"], p["IpRanges"][0]["CidrIp"]) for p in workload["IpPermissions"]) == [
            ("icmp", "10.0.0.0/20"),
            ("tcp", "10.65.0.0/20"),
        ]

        # Flow logs of ALL traffic into the KMS-encrypted log group.
        logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [out["vpc_id"]]}])[
            "FlowLogs"
        ]
        assert len(logs) == 1 and logs[0]["TrafficType"] == "ALL"
        assert logs[0]["LogDestination"].endswith(f":log-group:{out['flow_log_group_name']}")
        group = sandbox.client("logs").describe_log_groups(logGroupNamePrefix=out["flow_log_group_name"])[
            "logGroups"
        ][0]
        assert group.get("kmsKeyId", "").startswith("arn:aws:kms:")

        allowed = tf.assert_no_changes(emulator_diffs=EMULATOR_DIFFS)
        print("emulator differences on re-plan:", allowed or "none")

        # A VPC deployed before the flow log became modules/flow-log: its state has the old
        # addresses. The `moved` blocks must move every resource, replacing (or touching) none.
        for new, old in FLOW_LOG_MOVES.items():
            tf.run("state", "mv", f"module.workload_vpc.module.flow_log.{new}", f"module.workload_vpc.{old}")
        plan = tf.plan()
        moved = {
            rc["previous_address"]: rc["address"]
            for rc in plan["resource_changes"]
            if rc.get("previous_address")
        }
        assert moved == {
            f"module.workload_vpc.{old}": f"module.workload_vpc.module.flow_log.{new}"
            for new, old in FLOW_LOG_MOVES.items()
        }
        assert all(
            rc["change"]["actions"] == ["no-op"] for rc in plan["resource_changes"] if rc["mode"] == "managed"
        )
    finally:
        tf.destroy()

    ec2 = sandbox.client("ec2")
    assert not ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["payments"]}])["Vpcs"]
    live_tgws = [
        t
        for t in ec2.describe_transit_gateways()["TransitGateways"]
        if t["State"] not in ("deleted", "deleting")
    ]
    assert not live_tgws
    assert not sandbox.client("logs").describe_log_groups(logGroupNamePrefix="/aws/vpc-flow-logs/payments")[
        "logGroups"
    ]
