"""CLI edge: exit codes, --json, nothing written on error, diff/cost/validate, contract keys."""

from __future__ import annotations

import json
from pathlib import Path

from microseg.cli import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
runner = CliRunner()
CONTRACT_KEYS = {
    "name",
    "region",
    "azs",
    "tags",
    "asn",
    "workload_supernet",
    "outside_supernet_cidrs",
    "required_pods",
    "core",
    "pods",
    "instance_types",
    "workloads",
    "ram_share_accounts",
    "flows",
    "management",
    "transport",
}
WORKLOAD_KEYS = {
    "cidr",
    "azs",
    "subnets",
    "internet_egress",
    "bandwidth_mbps",
    "qos_mbps_per_pod",
    "account_id",
    "environment",
    "owner",
    "cost_center",
    "ingress_rules",
    "egress_rules",
}


def _gen(out: Path, *extra: str, inv: Path = EX / "inventory.csv"):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app, ["generate", str(inv), "--flows", str(EX / "flows.csv"), "--out", str(out), *extra]
    )


def test_generate_outputs_match_contract(tmp_path: Path) -> None:
    r = _gen(tmp_path / "out", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["ok"] is True
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"microseg.auto.tfvars.json", "microseg.lock.json", "report.md", "report.json"} <= names
    assert names & {"topology.svg", "topology.dot"}
    tf = json.loads((tmp_path / "out" / "microseg.auto.tfvars.json").read_text())
    assert set(tf) == CONTRACT_KEYS
    assert set(tf["workloads"]["payments"]) == WORKLOAD_KEYS
    assert tf["ram_share_accounts"] == ["222222222222"]
    assert set(tf["pods"]["pod-01"]) == {
        "index",
        "az",
        "bridge_cidr",
        "tunnel_inside_cidrs",
        "connect_peers",
        "connect_address",
    }
    assert set(tf["transport"]) == {"type", "tunnel_bandwidth", "connect_peers", "transit_gateway_cidr_block"}
    assert set(tf["flows"][0]) == {
        "id",
        "source",
        "destination",
        "source_cidrs",
        "destination_cidrs",
        "protocol",
        "from_port",
        "to_port",
        "reference",
    }
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    for key in ("workloads", "core", "asn", "pods", "vpn_inside_cidrs", "cost"):
        assert key in rep
    assert set(rep["workloads"]["payments"]) >= {
        "cidr",
        "azs",
        "internet_egress",
        "bandwidth_mbps",
        "qos_mbps_per_pod",
    }
    assert set(rep["pods"]) >= {"capacity_mbps", "required", "total", "per_az"}
    assert rep["pods"]["total"] >= 3 and len(rep["pods"]["per_az"]) == 3
    assert isinstance(rep["cost"]["monthly_usd"], float)


def test_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,bandwidth_mbps,prefix_length\nx,-1,20\n")
    r = _gen(tmp_path / "o1", inv=bad)
    assert r.exit_code == 1 and "bad.csv:2: bandwidth_mbps: -1 must be > 0" in r.stderr
    assert not (tmp_path / "o1").exists()
    assert runner.invoke(app, ["generate"]).exit_code == 2
    assert runner.invoke(app, ["generate", str(bad), "--bogus"]).exit_code == 2
    assert runner.invoke(app, ["nope"]).exit_code == 2
    big = tmp_path / "big.csv"
    big.write_text("name,bandwidth_mbps,prefix_length\n" + "".join(f"w{i},1,16\n" for i in range(70)))
    r = runner.invoke(app, ["generate", str(big), "--out", str(tmp_path / "o3"), "--json"])
    assert r.exit_code == 3 and json.loads(r.stdout)["exit_code"] == 3
    assert not (tmp_path / "o3").exists()
    r = runner.invoke(
        app, ["generate", str(EX / "inventory.csv"), "--out", str(tmp_path / "o4"), "--release", "ghost"]
    )
    assert r.exit_code == 1 and "--release:0: ghost:" in r.stderr


def test_diff_validate_cost(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _gen(out).exit_code == 0
    inv2 = tmp_path / "inv2.csv"
    lines = (EX / "inventory.csv").read_text().splitlines()
    kept = [ln for ln in lines if not ln.startswith(("reporting,", "web-frontend,"))]
    inv2.write_text("\n".join([*kept, "analytics,prod,800,,22,3,false,,,team-data,cc-1005,100"]) + "\n")
    flows2 = tmp_path / "flows2.csv"
    flows2.write_text(
        "\n".join(
            ln
            for ln in (EX / "flows.csv").read_text().splitlines()
            if "reporting" not in ln and "web-frontend" not in ln
        )
        + "\n"
    )
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    r = runner.invoke(app, ["diff", str(inv2), "--flows", str(flows2), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert [w["name"] for w in d["workloads"]["added"]] == ["analytics"]
    assert sorted(w["name"] for w in d["workloads"]["removed"]) == ["reporting", "web-frontend"]
    assert d["flows"]["removed"] and not d["flows"]["added"]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # diff writes nothing
    r = runner.invoke(app, ["diff", str(inv2), "--flows", str(flows2), "--out", str(out)])
    assert r.exit_code == 0 and "analytics" in r.stdout
    r = runner.invoke(app, ["validate", str(inv2), "--flows", str(flows2), "--out", str(out), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["workloads"] == 6
    r = runner.invoke(app, ["cost", str(EX / "inventory.csv"), "--json"])
    c = json.loads(r.stdout)
    keys = {i["key"] for i in c["line_items"]}
    assert {
        "tgw_attachments_workloads",
        "tgw_data_processing",
        "vpn_connections",
        "ec2_vpn",
        "ec2_fw",
        "public_ipv4",
        "interface_endpoints",
        "nat_instance",
        "data_transfer_internet",
    } <= keys
    assert abs(sum(c["chargeback"]["cost_centers"].values()) - c["monthly_usd"]) < 0.05
    assert runner.invoke(app, ["cost", str(EX / "inventory.csv")]).exit_code == 0


def test_verify_is_registered() -> None:
    r = runner.invoke(app, ["verify", "--help"])
    assert r.exit_code == 0 and "--endpoint-url" in r.stdout
