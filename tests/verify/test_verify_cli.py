"""`python -m microseg verify` end to end: exit codes and output as a pipeline sees them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tfharness import Sandbox, moto_env
from verifynet import NAME, REGION, add_workload, build

GENERATOR = Path(__file__).resolve().parents[2] / "generator"


def cli(env: dict[str, str], *args: str, columns: str = "200") -> subprocess.CompletedProcess[str]:
    # boto3 reads an empty AWS_PROFILE as a profile named "": drop empty values.
    full = {k: v for k, v in {**os.environ, **env}.items() if v}
    full["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GENERATOR), os.environ.get("PYTHONPATH")]))
    full["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "microseg", "verify", "--region", REGION, "--name", NAME, *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def ec2(aws_env: dict[str, str]) -> Any:
    return Sandbox(aws_env, real=False).client("ec2")


def test_cli_passes_then_fails_on_a_bypass(aws_env: dict[str, str], ec2: Any) -> None:
    net = build(ec2)
    ok = cli(aws_env, "--endpoint-url", aws_env["AWS_ENDPOINT_URL"], "--json")
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["ok"] is True and doc["counts"]["inspected"] == 9

    w = net.workloads["orders"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=w.vpc)
    ec2.replace_route(RouteTableId=w.route_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    # Human output, endpoint from AWS_ENDPOINT_URL (how the apply tests point everything at moto).
    bad = cli(aws_env)
    assert bad.returncode == 1, bad.stderr
    assert "FAIL: 3 of 18 paths bypass inspection" in bad.stdout
    assert (
        f"BYPASS orders ({w.route_table}) -> internet 0.0.0.0/0: {w.route_table} in workload orders"
        in bad.stdout
    )
    assert igw in bad.stdout
    assert "Traceback" not in bad.stderr


def test_cli_unreadable_network_exit_4(aws_env: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = cli(aws_env, "--endpoint-url", f"http://127.0.0.1:{port}", "--json")
    assert res.returncode == 4
    assert json.loads(res.stdout)["exit_code"] == 4
    assert "could not read the network in us-east-1" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_in_a_ci_log_at_80_columns(aws_env: dict[str, str], ec2: Any) -> None:
    # A pipe (not a terminal) at 80 columns: no path may be folded into a narrow column.
    build(ec2)
    res = cli(aws_env, "--endpoint-url", aws_env["AWS_ENDPOINT_URL"], columns="80")
    assert res.returncode == 0, res.stderr
    doc = json.loads(cli(aws_env, "--endpoint-url", aws_env["AWS_ENDPOINT_URL"], "--json").stdout)
    lines = res.stdout.splitlines()
    assert len(lines) < 20 * len(doc["paths"])  # the folded table took ~400 lines per path
    for p in doc["paths"]:
        assert p["source"] in res.stdout and p["reason"] in res.stdout
        for h in p["hops"]:
            assert h["at"] in res.stdout  # every hop's resource id printed whole
    assert all(len(line) <= 80 for line in lines if "│" in line)


def test_bad_account_flags_are_all_reported_with_exit_2() -> None:
    # No endpoint needed: the flags are refused before any AWS call.
    res = cli({}, "--account", "12345", "--account", "123456789012", "--role-name", "bad role", "--json")
    assert res.returncode == 2, res.stderr
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["exit_code"] == 2
    assert [e["message"] for e in doc["errors"]] == [
        "--account '12345': an AWS account id is 12 digits",
        "--role-name 'bad role': not an IAM role name or path",
    ]
    alone = cli({}, "--account", "123456789012")
    assert alone.returncode == 2
    assert "--account needs --role-name" in alone.stderr
    assert "Traceback" not in res.stderr + alone.stderr


def test_role_name_reads_the_workload_accounts_found_through_the_attachments(
    moto_server: Any, aws_env: dict[str, str], ec2: Any
) -> None:
    net = build(ec2)
    # A workload account of the network account's organization, the TGW shared with it through RAM.
    net_account = Sandbox(aws_env, real=False).client
    org = net_account("organizations")
    org.create_organization(FeatureSet="ALL")
    account = org.create_account(AccountName="w", Email="w@example.com")["CreateAccountStatus"]["AccountId"]
    ram = net_account("ram")
    ram.enable_sharing_with_aws_organization()
    tgw_arn = ec2.describe_transit_gateways(TransitGatewayIds=[net.tgw])["TransitGateways"][0][
        "TransitGatewayArn"
    ]
    ram.create_resource_share(name="tgw", resourceArns=[tgw_arn], principals=[account])
    ec2_b = Sandbox(moto_env(moto_server.endpoint, account_id=account), real=False).client("ec2")
    w = add_workload(net, "treasury", "10.64.48.0/20", owner=ec2_b)
    endpoint = ("--endpoint-url", aws_env["AWS_ENDPOINT_URL"], "--json")

    alone = json.loads(cli(aws_env, *endpoint).stdout)
    assert [n for n in alone["notes"] if w.vpc in n and "another account" in n]
    assert "treasury" not in {p["source"] for p in alone["paths"]}

    res = cli(aws_env, *endpoint, "--role-name", "microseg-verify")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["accounts"] == {account: [w.vpc]}
    assert not [n for n in doc["notes"] if "another account" in n]
    assert {p["destination"] for p in doc["paths"] if p["source"] == "treasury"} == {
        "internet",
        "payments",
        "orders",
        "ledger",
    }

    # Only the workload account's own table shows this bypass: its default route to an IGW.
    igw = ec2_b.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2_b.attach_internet_gateway(InternetGatewayId=igw, VpcId=w.vpc)
    ec2_b.replace_route(RouteTableId=w.route_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    bad = cli(aws_env, *endpoint, "--role-name", "microseg-verify")
    assert bad.returncode == 1, bad.stderr
    assert {p["source"] for p in json.loads(bad.stdout)["bypasses"]} == {"treasury"}
    assert cli(aws_env, *endpoint).returncode == 0
