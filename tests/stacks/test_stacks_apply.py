"""stacks/network + one stacks/workloads per account, applied in four moto accounts in the pipeline
order of docs/stacks.md, with boto3 assertions of the packet path as each account sees it, a clean
re-plan of every stack, and a destroy that leaves nothing.

Needs moto's cross-account emulation (RAM shares across an organization, a RAM-shared Transit
Gateway visible and attachable from the member accounts, acceptance by its owner) and
`tfharness.moto_env(endpoint, account_id=...)`, both from the moto-xacct work (tests/moto_xacct.py).
Without them the test skips and says so: nothing here fakes the other accounts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from tfharness import REGION, TfRoot, moto_env

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "complete"))  # examples/complete's helpers
from complete_support import SETTINGS, build_lambda, microseg_cli

REPO = Path(__file__).resolve().parents[2]
NAME = "microseg"
pytestmark = [pytest.mark.apply, pytest.mark.slow]


# Second plan of stacks/network: the same emulator differences as examples/complete's apply test
# (its module docstring gives each in full).
EMULATOR_DIFFS = {
    "module.transit_gateway.aws_ec2_transit_gateway_route.workloads_return*": (
        "TGW STATIC ROUTE TARGET: moto returns no TransitGatewayAttachments for a static route, so the"
        " provider reads the core attachment back as '' / blackhole"
    ),
    "module.pod_health.aws_lambda_function.this*": (
        "LAMBDA LOGGING CONFIG: moto keeps no LoggingConfig, so the provider plans its computed default again"
    ),
}


def _clients(env: dict[str, str]):  # type: ignore[no-untyped-def]
    def make(service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=env.get("AWS_SESSION_TOKEN") or None,
        )

    return make


def _inventory(tmp: Path, accounts: list[str]) -> tuple[Path, Path]:
    a, b, c = accounts
    header = (
        "name,environment,bandwidth_mbps,hosts,prefix_length,azs,internet_egress,cidr,account_id,"
        "owner,cost_center,monthly_gb"
    )
    rows = [
        "shared-dns,prod,100,,24,2,false,,,team-net,cc-0,10",
        f"orders,prod,300,,22,2,false,,{a},team-a,cc-1,10",
        f"payments,prod,300,,22,2,false,,{b},team-b,cc-2,10",
        f"ledger,prod,200,,22,2,false,,{c},team-c,cc-3,10",
        f"reports,prod,100,,24,1,false,,{c},team-c,cc-3,10",
    ]
    flows = [
        "source,destination,protocol,ports,reference",
        "orders,payments,tcp,443,CHG-1",
        "payments,ledger,tcp,5432,CHG-2",
        "reports,ledger,tcp,5432,CHG-3",
        "orders,shared-dns,udp,53,CHG-4",
        "ledger,shared-dns,udp,53,CHG-4",
    ]
    inv, fl = tmp / "inventory.csv", tmp / "flows.csv"
    inv.write_text("\n".join([header, *rows]) + "\n")
    fl.write_text("\n".join(flows) + "\n")
    return inv, fl


def test_network_and_three_workload_accounts(moto_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    moto_server.reset()
    endpoint = moto_server.endpoint
    net_env = moto_env(endpoint)
    net = _clients(net_env)
    # The workload accounts are members of the network account's organization, which shares with RAM.
    org = net("organizations")
    org.create_organization(FeatureSet="ALL")
    accounts = sorted(
        org.create_account(AccountName=f"w{i}", Email=f"w{i}@example.com")["CreateAccountStatus"]["AccountId"]
        for i in range(3)
    )
    net("ram").enable_sharing_with_aws_organization()
    envs = {a: moto_env(endpoint, account_id=a) for a in accounts}

    inv, flows = _inventory(tmp_path, accounts)
    gen = tmp_path / "gen"
    cmd = [
        *microseg_cli(),
        "generate",
        str(inv),
        "--flows",
        str(flows),
        "--settings",
        str(SETTINGS),
        "--out",
        str(gen),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    stacks = gen / "stacks"
    files = sorted(p.name for p in stacks.iterdir())
    assert files == [
        "network.auto.tfvars.json",
        *(f"workloads-{a}.auto.tfvars.json" for a in accounts),
        "workloads-network.auto.tfvars.json",
    ]
    ami = net("ssm").get_parameter(
        Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    )
    extra = {"ami_id": ami["Parameter"]["Value"], "lambda_zip_path": str(build_lambda(tmp_path))}
    network = TfRoot(REPO / "stacks/network", tmp_path / "network", net_env)
    net_files = (stacks / "network.auto.tfvars.json",)
    workloads = {
        key: TfRoot(REPO / "stacks/workloads", tmp_path / f"workloads-{key}", envs.get(key, net_env))
        for key in [*accounts, "network"]
    }

    def wl_files(key: str) -> tuple[Path, ...]:
        return (stacks / f"workloads-{key}.auto.tfvars.json",)

    # 1. network, 2. every workload account: VPCs and attachments, no route out yet.
    network.apply(extra, var_files=net_files)
    for key, root in workloads.items():
        root.apply(var_files=wl_files(key))
        assert not any(w["default_route"] for w in root.output()["workloads"].values())
    pending = net("ec2").describe_transit_gateway_attachments(
        Filters=[{"Name": "state", "Values": ["pendingAcceptance"]}]
    )["TransitGatewayAttachments"]
    assert sorted({a["ResourceOwnerId"] for a in pending}) == accounts

    # 3. network: accepts, associates with `workloads`, propagates into `core`.
    network.apply(extra, var_files=net_files)
    out = network.output()
    tgw, rts = out["transit_gateway_id"], out["transit_gateway_route_table_ids"]
    ec2 = net("ec2")
    atts = {
        a: ec2.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[a])[
            "TransitGatewayAttachments"
        ][0]
        for a in out["workload_attachment_ids"]
    }
    assert len(atts) == 5 and all(a["State"] == "available" for a in atts.values())
    assoc = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=rts["workloads"])[
        "Associations"
    ]
    assert {x["TransitGatewayAttachmentId"] for x in assoc} == set(atts)
    props = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=rts["core"])[
        "TransitGatewayRouteTablePropagations"
    ]
    assert set(atts) <= {x["TransitGatewayAttachmentId"] for x in props}
    # No workload attachment propagates into `workloads`: a workload reaches another only via a pod.
    props_w = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=rts["workloads"])[
        "TransitGatewayRouteTablePropagations"
    ]
    assert not {x["TransitGatewayAttachmentId"] for x in props_w} & set(atts)

    # 4. every workload account again: the default route, now that the owner accepted.
    for key, root in workloads.items():
        root.apply(var_files=wl_files(key))
        outs = root.output()
        assert outs["transit_gateway_id"] == tgw  # found through the RAM share / tags, not copied
        ec2w = _clients(envs.get(key, net_env))("ec2")
        for name, w in outs["workloads"].items():
            assert w["default_route"], name
            table = ec2w.describe_route_tables(RouteTableIds=[w["workload_route_table_id"]])["RouteTables"][0]
            default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
            assert [r.get("TransitGatewayId") for r in default] == [tgw], name
            tfvars = json.loads(wl_files(key)[0].read_text())["workloads"][name]
            sg = ec2w.describe_security_group_rules(
                Filters=[{"Name": "group-id", "Values": [w["security_group_id"]]}]
            )
            egress = {
                (r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIpv4"])
                for r in sg["SecurityGroupRules"]
                if r["IsEgress"]
            }
            assert egress == {
                (r["protocol"], r["from_port"], r["to_port"], r["cidr"]) for r in tfvars["egress_rules"]
            }

    # 5. `microseg verify` across the accounts: from the network account, assuming a read-only role
    # in each workload account it finds through the TGW attachments' owners.
    def verify(*args: str) -> tuple[int, dict[str, Any]]:
        run = subprocess.run(
            [*microseg_cli(), "verify", "--region", REGION, "--name", NAME, "--json", *args],
            env={**{k: v for k, v in net_env.items() if v}, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in run.stderr, run.stderr
        return run.returncode, json.loads(run.stdout)

    workload_names = ["ledger", "orders", "payments", "reports", "shared-dns"]
    code, doc = verify("--role-name", "microseg-verify")
    assert code == 0 and doc["ok"], doc["bypasses"]
    assert doc["workloads"] == workload_names and sorted(doc["accounts"]) == accounts
    assert not [n for n in doc["notes"] if "another account" in n], doc["notes"]
    # Every workload is traced from its own route tables: 5 sources x (4 workloads + internet).
    assert sorted({p["source"] for p in doc["paths"]}) == workload_names
    assert doc["counts"]["inspected"] >= 25 and doc["counts"]["bypass"] == 0
    # Without the role the other accounts' workloads are seen from the TGW only, and verify says so.
    code, doc = verify()
    assert code == 0 and sorted({p["source"] for p in doc["paths"]}) == ["shared-dns"]
    assert len([n for n in doc["notes"] if "another account" in n]) == 4
    # A bypass that only a workload account's own route table shows: payments' default route to an IGW.
    ec2b = _clients(envs[accounts[1]])("ec2")
    pay_out = workloads[accounts[1]].output()["workloads"]["payments"]
    igw = ec2b.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2b.attach_internet_gateway(InternetGatewayId=igw, VpcId=pay_out["vpc_id"])
    rtb = pay_out["workload_route_table_id"]
    ec2b.replace_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    code, doc = verify("--role-name", "microseg-verify")
    assert code == 1 and not doc["ok"]
    assert {(p["source"], p["destination"]) for p in doc["bypasses"]} >= {("payments", "internet")}
    assert {p["source"] for p in doc["bypasses"]} == {"payments"}
    assert verify()[0] == 0  # the network account alone cannot see it
    ec2b.replace_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=tgw)
    ec2b.detach_internet_gateway(InternetGatewayId=igw, VpcId=pay_out["vpc_id"])
    ec2b.delete_internet_gateway(InternetGatewayId=igw)

    # A clean re-plan everywhere, then destroy in the reverse order, leaving nothing.
    print("\n".join(network.assert_no_changes(extra, net_files, EMULATOR_DIFFS)) or "network: no changes")
    for key, root in workloads.items():
        root.assert_no_changes(var_files=wl_files(key))
    for key, root in workloads.items():
        root.destroy(var_files=wl_files(key))
        ec2w = _clients(envs.get(key, net_env))("ec2")
        left = ec2w.describe_vpcs(Filters=[{"Name": "tag:microseg:network", "Values": [NAME]}])["Vpcs"]
        assert [
            v
            for v in left
            if v.get("Tags")
            and any(t["Key"] == "microseg:role" and t["Value"] == "workload" for t in v["Tags"])
        ] == []
    network.destroy(extra, var_files=net_files)
    assert [g for g in ec2.describe_transit_gateways()["TransitGateways"] if g["State"] != "deleted"] == []
