"""modules/management: the management TGW (ASN asn.management), the NAT proxy instance with the allow-list,
SSM-only access; plan inventory, the rendered user_data, apply on the sandbox, re-plan, destroy."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tfharness import CLIS, TfRoot, TofuError, assert_inventory, plan_summary

HERE = Path(__file__).parent
EXAMPLE = "examples/management"
MODULE = "modules/management"

# Differences moto shows on the second plan, each with the reason it is the emulator and not the module.
EMULATOR_DIFFS: dict[str, str] = {}

SESSION_ACTIONS = {
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
}


def _user_data(plan: dict) -> str:
    inst = next(
        rc for rc in plan["resource_changes"] if rc["address"] == "module.management.aws_instance.nat[0]"
    )
    return base64.b64decode(inst["change"]["after"]["user_data_base64"]).decode()


@pytest.mark.plan
@pytest.mark.parametrize("cli", CLIS)
def test_plan_matches_inventory(tfroot, aws_env, cli) -> None:
    plan = tfroot(EXAMPLE, aws_env, cli).plan()
    assert_inventory(plan_summary(plan), HERE / "inventories" / "management.yaml")


@pytest.mark.plan
def test_plan_no_ssh_and_no_route_from_workloads(tfroot, aws_env) -> None:
    plan = tfroot(EXAMPLE, aws_env).plan()
    after = {
        rc["address"]: rc["change"]["after"] for rc in plan["resource_changes"] if rc["mode"] == "managed"
    }
    ingress = [v for a, v in after.items() if "aws_vpc_security_group_ingress_rule.nat" in a]
    assert sorted({r["from_port"] for r in ingress}) == [80, 443]
    assert {r["cidr_ipv4"] for r in ingress} == {"10.0.6.0/25", "10.0.6.128/25"}
    assert all(r["ip_protocol"] == "tcp" for r in ingress)
    # The management TGW has one attachment (the management subnets) and no route to the workload pool.
    mgmt_attachments = [
        a for a in after if a.startswith("module.management.aws_ec2_transit_gateway_vpc_attachment.")
    ]
    assert mgmt_attachments == ["module.management.aws_ec2_transit_gateway_vpc_attachment.core"]
    dests = [
        v["destination_cidr_block"] for a, v in after.items() if a.startswith("module.management.aws_route.")
    ]
    assert sorted(dests) == ["0.0.0.0/0", "192.168.100.0/24"]


@pytest.mark.plan
def test_plan_user_data_renders_the_allow_list(tfroot, aws_env, tmp_path) -> None:
    domains = [".amazonaws.com", "license.example.com", "updates.vendor.example"]
    script = _user_data(tfroot(EXAMPLE, aws_env).plan({"allowed_domains": domains}))
    allow = script.split("<<'DOMAINS'\n", 1)[1].split("\nDOMAINS\n", 1)[0]
    assert allow.splitlines() == domains
    assert "ssl_bump splice allowed_sni" in script and "ssl_bump terminate all" in script
    assert "http_access deny all" in script
    assert "acl management src 10.0.6.0/25 10.0.6.128/25" in script
    assert "policy drop;" in script  # nothing is forwarded, only proxied
    path = tmp_path / "user_data.sh"
    path.write_text(script)
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    nft = shutil.which("nft")
    if nft:
        ruleset = script.split("<<'NFT'\n", 1)[1].split("\nNFT\n", 1)[0]
        (tmp_path / "proxy.nft").write_text(ruleset + "\n")
        proc = subprocess.run(
            [nft, "-c", "-f", str(tmp_path / "proxy.nft")], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0 or "Operation not permitted" in proc.stderr, proc.stderr


@pytest.mark.plan
def test_plan_rejects_bad_domains_and_public_asn(tfroot, aws_env) -> None:
    tf = tfroot(MODULE, aws_env)
    base = {
        "name": "m",
        "vpc_id": "vpc-0123",
        "management_subnet_ids": {"us-east-1a": "subnet-0123"},
        "management_subnet_cidrs": ["10.0.6.0/25"],
        "management_route_table_id": "rtb-0123",
        "nat_subnet_id": "subnet-0456",
    }
    with pytest.raises(TofuError) as err:
        tf.plan({**base, "amazon_side_asn": 100, "allowed_domains": ["bad domain; rm -rf /"]})
    assert "private ASN" in str(err.value) and "allowed_domains must be DNS names" in str(err.value)


@pytest.mark.apply
@pytest.mark.slow
def test_apply_replan_destroy(tfroot, sandbox) -> None:
    tf: TfRoot = tfroot(EXAMPLE, sandbox.env)
    tf.apply()
    try:
        out = tf.output()
        ec2 = sandbox.client("ec2")
        inst = ec2.describe_instances(InstanceIds=[out["nat_instance_id"]])["Reservations"][0]["Instances"][0]
        assert inst["MetadataOptions"]["HttpTokens"] == "required"
        assert inst["SourceDestCheck"] is False
        assert "KeyName" not in inst or not inst["KeyName"]
        assert inst["IamInstanceProfile"]["Arn"]
        vols = [m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"]]
        assert vols and all(v["Encrypted"] for v in ec2.describe_volumes(VolumeIds=vols)["Volumes"])
        ud = ec2.describe_instance_attribute(InstanceId=out["nat_instance_id"], Attribute="userData")
        assert "license.example.com" in base64.b64decode(ud["UserData"]["Value"]).decode()

        # Least privilege: the role may only do the Session Manager actions.
        iam = sandbox.client("iam")
        role = inst["IamInstanceProfile"]["Arn"].split("/")[-1]
        role_name = iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]["Roles"][0][
            "RoleName"
        ]
        assert not iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        actions: set[str] = set()
        for pname in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=role_name, PolicyName=pname)["PolicyDocument"]
            doc = json.loads(doc) if isinstance(doc, str) else doc
            for st in doc["Statement"]:
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                actions |= set(acts)
        assert actions == SESSION_ACTIONS

        # Management routes: 0.0.0.0/0 -> the NAT ENI (only from the management table), operators -> mgmt TGW.
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [out["vpc_id"]]}])[
            "RouteTables"
        ]
        to_nat = [
            t["RouteTableId"]
            for t in tables
            if any(r.get("NetworkInterfaceId") == out["nat_network_interface_id"] for r in t["Routes"])
        ]
        assert to_nat == [out["management_route_table_id"]]
        mgmt = next(t for t in tables if t["RouteTableId"] == out["management_route_table_id"])
        op = [r for r in mgmt["Routes"] if r.get("DestinationCidrBlock") == "192.168.100.0/24"]
        assert [r.get("TransitGatewayId") for r in op] == [out["management_transit_gateway_id"]]

        # The management TGW: its ASN, and only the core VPC's management attachment on it.
        tgw = ec2.describe_transit_gateways(TransitGatewayIds=[out["management_transit_gateway_id"]])[
            "TransitGateways"
        ][0]
        assert tgw["Options"]["AmazonSideAsn"] == 64513
        atts = ec2.describe_transit_gateway_attachments(
            Filters=[{"Name": "transit-gateway-id", "Values": [out["management_transit_gateway_id"]]}]
        )["TransitGatewayAttachments"]
        assert [a["TransitGatewayAttachmentId"] for a in atts if a["State"] != "deleted"] == [
            out["core_attachment_id"]
        ]
        assoc = ec2.get_transit_gateway_route_table_associations(
            TransitGatewayRouteTableId=out["management_tgw_route_table_id"]
        )["Associations"]
        assert [a["TransitGatewayAttachmentId"] for a in assoc] == [out["core_attachment_id"]]

        allowed = tf.assert_no_changes(emulator_diffs=EMULATOR_DIFFS)
        print("emulator differences on re-plan:", allowed or "none")
    finally:
        tf.destroy()

    ec2 = sandbox.client("ec2")
    running = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    ]
    assert not running
    assert not [
        t
        for t in ec2.describe_transit_gateways()["TransitGateways"]
        if t["State"] not in ("deleted", "deleting")
    ]
    assert not ec2.describe_addresses()["Addresses"]
