"""stacks/network and stacks/workloads planned from the generator's real DIR/stacks/ files, with
both CLIs, against moto. The contract between the stacks carries no IDs: the network stack finds
the workload attachments by owner account (or, in its own account, by tags), and a workload stack
finds the Transit Gateway through the RAM share (or by its tags) and creates its default route only
once its attachment is accepted (issue 9 item 6). Each test creates in moto what the other
pipeline would have left behind, then checks what this stack plans about it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tfharness import CLIS, REPO, Sandbox, TfRoot, TofuError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "complete"))  # examples/complete's helpers
from complete_support import FLOWS, INVENTORY, SETTINGS, after, build_lambda, microseg_cli, moto_ami

pytestmark = pytest.mark.plan
NAME = "microseg"
MOTO_ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DIR/stacks/ as `microseg generate` writes it for the example inventory."""
    out = tmp_path_factory.mktemp("stacks-gen") / "gen"
    cmd = [*microseg_cli(), "generate", str(INVENTORY), "--flows", str(FLOWS), "--settings", str(SETTINGS)]
    subprocess.run([*cmd, "--out", str(out)], check=True, capture_output=True, text=True, timeout=300)
    return out / "stacks"


def _tfvars(stacks: Path, name: str) -> dict[str, Any]:
    return json.loads((stacks / f"{name}.auto.tfvars.json").read_text())


def _ec2(env: dict[str, str]):  # type: ignore[no-untyped-def]
    return Sandbox(env, real=False).client("ec2")


def _attached_vpc(ec2: Any, tgw: str, cidr: str, tags: dict[str, str]) -> str:
    """What a workload pipeline leaves behind: a VPC attached to the Transit Gateway."""
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    spec = [
        {
            "ResourceType": "transit-gateway-attachment",
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
    ]
    att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[subnet], TagSpecifications=spec
    )
    return att["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]


def _network_tgw(ec2: Any, asn: int) -> str:
    """What the network pipeline leaves behind for a workload stack in its own account."""
    tags = [{"Key": "Name", "Value": NAME}, {"Key": "microseg:network", "Value": NAME}]
    return ec2.create_transit_gateway(
        Options={"AmazonSideAsn": asn},
        TagSpecifications=[{"ResourceType": "transit-gateway", "Tags": tags}],
    )["TransitGateway"]["TransitGatewayId"]


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_network_stack(stacks: Path, aws_env: dict[str, str], tmp_path: Path, cli: str) -> None:
    tfvars = _tfvars(stacks, "network")
    extra = {
        "ami_id": moto_ami(Sandbox(aws_env, real=False).client),
        "lambda_zip_path": str(build_lambda(tmp_path)),
    }
    root = TfRoot(REPO / "stacks/network", tmp_path / "root", aws_env, cli)
    files = (stacks / "network.auto.tfvars.json",)

    # First run (before any workload pipeline): the whole network account, no workload VPC.
    values = after(root.plan(extra, var_files=files))
    assert [a for a in values if a.endswith(".aws_vpc.this")] == ["module.core_vpc.aws_vpc.this"]
    tgw = "module.transit_gateway.aws_ec2_transit_gateway.this"
    assert values[tgw]["amazon_side_asn"] == tfvars["asn"]["transit_gateway"]
    assert values[tgw]["auto_accept_shared_attachments"] == "disable"  # the owner accepts each one
    principals = sorted(v["principal"] for a, v in values.items() if ".aws_ram_principal_association." in a)
    assert principals == tfvars["ram_share_accounts"] == ["222222222222"]
    extra_routes = sorted(
        v["destination_cidr_block"] for a, v in values.items() if "aws_route.internal_extra[" in a
    )
    assert extra_routes == tfvars["outside_supernet_cidrs"] == ["10.32.0.0/22"]
    healthy = next(
        v
        for a, v in values.items()
        if a.startswith("module.observability.aws_cloudwatch_metric_alarm.fleet_capacity")
    )
    assert healthy["threshold"] == tfvars["required_pods"]
    assert not [a for a in values if ".workload[" in a or "accepter" in a]

    # A workload pipeline in this account attached its VPC (tagged); a core attachment carries the
    # same network tag but is no workload's: the next network run associates exactly the workload's
    # attachment, keyed by its ID.
    ec2 = _ec2(aws_env)
    other_tgw = _network_tgw(ec2, 64999)
    mine = _attached_vpc(
        ec2, other_tgw, "10.64.16.0/20", {"microseg:network": NAME, "microseg:role": "workload"}
    )
    _attached_vpc(ec2, other_tgw, "10.99.0.0/20", {"microseg:network": NAME, "microseg:role": "core"})
    values = after(root.plan(extra, var_files=files))
    assoc = [a for a in values if ".aws_ec2_transit_gateway_route_table_association.workload[" in a]
    prop = [a for a in values if ".aws_ec2_transit_gateway_route_table_propagation.workload[" in a]
    assert assoc == [
        f'module.transit_gateway.aws_ec2_transit_gateway_route_table_association.workload["{mine}"]'
    ]
    assert prop == [
        f'module.transit_gateway.aws_ec2_transit_gateway_route_table_propagation.workload["{mine}"]'
    ]
    # Own-account attachments need no acceptance; cross-account ones are found by owner (apply test).
    assert not [a for a in values if "vpc_attachment_accepter" in a]


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_workloads_stack_of_the_network_account(
    stacks: Path, aws_env: dict[str, str], tmp_path: Path, cli: str
) -> None:
    tfvars = _tfvars(stacks, "workloads-network")
    ec2 = _ec2(aws_env)
    tgw = _network_tgw(ec2, tfvars["transit_gateway_asn"])
    root = TfRoot(REPO / "stacks/workloads", tmp_path / "root", aws_env, cli)
    files = (stacks / "workloads-network.auto.tfvars.json",)

    values = after(root.plan(var_files=files))
    vpcs = {a.split('"')[1]: v["cidr_block"] for a, v in values.items() if a.endswith(".aws_vpc.this")}
    assert vpcs == {k: w["cidr"] for k, w in tfvars["workloads"].items()}
    assert "risk-engine" not in vpcs  # the other account's workload is its own stack's
    for k, w in tfvars["workloads"].items():
        egress = {
            (v["ip_protocol"], v["from_port"], v["to_port"], v["cidr_ipv4"], v["description"])
            for a, v in values.items()
            if a.startswith(f'module.workload["{k}"].aws_vpc_security_group_egress_rule.')
        }
        assert egress == {
            (r["protocol"], r["from_port"], r["to_port"], r["cidr"], r["description"])
            for r in w["egress_rules"]
        }
        att = values[f'module.workload["{k}"].aws_ec2_transit_gateway_vpc_attachment.this']
        assert att["transit_gateway_id"] == tgw  # found by its tags, not copied
    # Nothing accepted yet: no workload has its default route.
    assert not [a for a in values if ".aws_route.workload_default" in a]

    # Once payments' attachment is available (accepted), the next run adds payments' route only.
    _attached_vpc(ec2, tgw, "10.64.16.0/20", {"microseg:network": NAME, "microseg:workload": "payments"})
    values = after(root.plan(var_files=files))
    assert [a for a in values if ".aws_route.workload_default" in a] == [
        'module.workload["payments"].aws_route.workload_default[0]'
    ]


def _words(text: str) -> str:
    """A pattern for `text` in a CLI message, which wraps long lines anywhere between words."""
    return r"\s+".join(map(re.escape, text.split()))


def test_workloads_stack_refuses_the_wrong_account_or_network(
    stacks: Path, aws_env: dict[str, str], tmp_path: Path
) -> None:
    root = TfRoot(REPO / "stacks/workloads", tmp_path / "a", aws_env)
    with pytest.raises(
        TofuError,
        match=_words("tfvars are for account 222222222222, but the credentials are account 123456789012"),
    ):
        root.plan(var_files=(stacks / "workloads-222222222222.auto.tfvars.json",))
    _network_tgw(_ec2(aws_env), 64600)  # a Transit Gateway of that name, but another network's ASN
    root = TfRoot(REPO / "stacks/workloads", tmp_path / "b", aws_env)
    with pytest.raises(TofuError, match=_words("has ASN 64600, not the network's 64512")):
        root.plan(var_files=(stacks / "workloads-network.auto.tfvars.json",))
