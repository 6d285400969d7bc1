"""Transport settings (vpn standard/large, TGW Connect): derived capacity, errors all at once, the
tfvars contract the modules build against, and the lock that keeps a pod's transport addresses."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest
from gen_helpers import plan
from microseg.cli import app
from microseg.errors import Collector, InputError
from microseg.parse.settings import load_settings
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
runner = CliRunner()
POD_LINE = re.compile(r"^capacity_mbps = .*$|^# capacity_mbps = .*$", re.M)


def _example_settings(tmp_path: Path, pods: str) -> Path:
    """examples/microseg.toml with its [pods] transport lines replaced by ``pods``."""
    text = (EX / "microseg.toml").read_text()
    text = re.sub(r'^transport = "vpn".*\n^tunnel_bandwidth = .*\n', pods, text, flags=re.M)
    assert pods in text
    path = tmp_path / "microseg.toml"
    path.write_text(text)
    return path


def _generate(out: Path, settings: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app,
        [
            "generate",
            str(EX / "inventory.csv"),
            "--flows",
            str(EX / "flows.csv"),
            "--settings",
            str(settings),
            "--out",
            str(out),
            *extra,
        ],
    )


@pytest.mark.parametrize(
    ("pods", "capacity", "transport", "extra"),
    [
        ('transport = "vpn"\n', 2500, "vpn", {"tunnel_bandwidth": "standard"}),
        ('transport = "vpn"\ntunnel_bandwidth = "large"\n', 10000, "vpn", {"tunnel_bandwidth": "large"}),
        ('transport = "connect"\nconnect_peers = 2\n', 10000, "connect", {"connect_peers": 2}),
    ],
)
def test_example_is_sized_by_its_transport(
    tmp_path: Path, pods: str, capacity: int, transport: str, extra
) -> None:  # type: ignore[no-untyped-def]
    r = _generate(tmp_path / "out", _example_settings(tmp_path, pods))
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    assert rep["pods"]["capacity_mbps"] == capacity
    assert rep["pods"]["transport"] == transport
    assert rep["pods"]["capacity_derived"] is True
    for k, v in extra.items():
        assert rep["pods"][k] == v
    if transport == "connect":
        assert "tunnel_bandwidth" not in rep["pods"]
    # 5,400 Mbps promised: the sizes follow the capacity.
    assert rep["pods"]["required"] == -(-5400 // capacity)
    md = (tmp_path / "out" / "report.md").read_text()
    assert f"pod capacity {capacity} Mbps (derived from transport {transport}" in md


def test_capacity_set_below_the_transport_derates(tmp_path: Path) -> None:
    s = _example_settings(tmp_path, 'transport = "connect"\nconnect_peers = 3\ncapacity_mbps = 12000\n')
    r = _generate(tmp_path / "out", s)
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    assert rep["pods"]["capacity_mbps"] == 12000
    assert rep["pods"]["transport_mbps"] == 15000
    assert rep["pods"]["capacity_derived"] is False


def test_nonsense_combinations_are_all_reported_at_once(tmp_path: Path) -> None:
    bad = (
        'transport = "connect"\n'
        'tunnel_bandwidth = "large"\n'  # vpn only
        "connect_peers = 5\n"  # 1..4
        "capacity_mbps = 30000\n"  # above 2 peers (the default after the bad value) x 5,000
        'connect_cidr_block = "10.64.0.0/24"\n'  # inside the workload supernet
    )
    s = _example_settings(tmp_path, bad)
    lines = s.read_text().splitlines()
    line = {
        k: lines.index(next(x for x in lines if x.startswith(k))) + 1
        for k in ("tunnel_bandwidth", "connect_peers", "capacity_mbps", "connect_cidr_block")
    }
    r = _generate(tmp_path / "out", s, "--json")
    assert r.exit_code == 1, r.output
    errors = {(e["line"], e["column"]): e["message"] for e in json.loads(r.stdout)["errors"]}
    assert errors[(line["tunnel_bandwidth"], "pods.tunnel_bandwidth")].startswith(
        'applies to transport = "vpn" only'
    )
    assert "out of range 1..4" in errors[(line["connect_peers"], "pods.connect_peers")]
    assert (
        "more than one pod's transport carries (2 Connect peer(s) x 5,000 Mbps = 10000 Mbps)"
        in errors[(line["capacity_mbps"], "pods.capacity_mbps")]
    )
    assert (
        "overlaps workload_supernet 10.64.0.0/10"
        in errors[(line["connect_cidr_block"], "pods.connect_cidr_block")]
    )
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize(
    ("pods", "column", "message"),
    [
        ('transport = "gre"\n', "pods.transport", "'gre' is not a transport"),
        (
            'transport = "vpn"\nconnect_peers = 2\n',
            "pods.connect_peers",
            'applies to transport = "connect" only',
        ),
        ('transport = "vpn"\nconnect_cidr_block = "100.64.0.0/24"\n', "pods.connect_cidr_block", "connect"),
        (
            'transport = "vpn"\ntunnel_bandwidth = "huge"\n',
            "pods.tunnel_bandwidth",
            "'huge' is not a tunnel bandwidth",
        ),
        (
            'transport = "vpn"\ncapacity_mbps = 2600\n',
            "pods.capacity_mbps",
            "2 standard tunnels x 1,250 Mbps",
        ),
        ('transport = "connect"\nconnect_peers = 0\n', "pods.connect_peers", "out of range 1..4"),
        (
            'transport = "connect"\nconnect_cidr_block = "100.64.0.0/25"\n',
            "pods.connect_cidr_block",
            "/16 to /24",
        ),
        (
            'transport = "connect"\nconnect_cidr_block = "169.254.0.0/24"\n',
            "pods.connect_cidr_block",
            "link-local",
        ),
        (
            'transport = "connect"\nconnect_cidr_block = "10.0.0.0/24"\n',
            "pods.connect_cidr_block",
            "overlaps core_cidr",
        ),
    ],
)
def test_each_bad_transport_setting(tmp_path: Path, pods: str, column: str, message: str) -> None:
    c = Collector()
    load_settings(_example_settings(tmp_path, pods), c)
    assert any(p.column == column and message in p.message and p.line > 0 for p in c.errors), c.errors


def test_connect_block_must_not_overlap_a_pin() -> None:
    from microseg.model import Settings

    s = Settings(
        transport="connect", tunnel_bandwidth=None, connect_peers=2, connect_cidr_block="10.32.0.0/24"
    )
    with pytest.raises(InputError) as exc:
        plan(["a,10,,,1,,10.32.0.0/22,,,"], settings=s)
    assert any("overlaps the TGW CIDR block 10.32.0.0/24" in p.message for p in exc.value.problems)


def test_tfvars_contract_per_transport(tmp_path: Path) -> None:
    r = _generate(tmp_path / "c", _example_settings(tmp_path, 'transport = "connect"\nconnect_peers = 3\n'))
    assert r.exit_code == 0, r.output
    tf = json.loads((tmp_path / "c" / "microseg.auto.tfvars.json").read_text())
    assert tf["transport"] == {
        "type": "connect",
        "tunnel_bandwidth": None,
        "connect_peers": 3,
        "transit_gateway_cidr_block": "100.127.255.0/24",
    }
    block = ipaddress.ip_network("100.127.255.0/24")
    inside, tgw, gre = [], [], []
    for name, p in tf["pods"].items():
        assert p["tunnel_inside_cidrs"] == []
        assert len(p["connect_peers"]) == 3
        internal = ipaddress.ip_network(tf["core"]["subnets"][p["az"]]["internal"])
        address = ipaddress.ip_address(p["connect_address"])
        # In its AZ's internal subnet, never the network/AWS-reserved/last address nor a fw address.
        assert address in internal and int(address) - int(internal.network_address) > 10 + 128
        assert address != internal.broadcast_address
        gre.append(address)
        for peer in p["connect_peers"]:
            net = ipaddress.ip_network(peer["inside_cidr"])
            assert net.prefixlen == 29 and net.subnet_of(ipaddress.ip_network("169.254.0.0/16"))
            inside.append(net)
            tgw.append(ipaddress.ip_address(peer["transit_gateway_address"]))
            assert tgw[-1] in block
        assert name.startswith("pod-")
    assert len(set(inside)) == len(inside) and len(set(tgw)) == len(tgw) and len(set(gre)) == len(gre)
    r = _generate(
        tmp_path / "v", _example_settings(tmp_path, 'transport = "vpn"\ntunnel_bandwidth = "large"\n')
    )
    assert r.exit_code == 0, r.output
    tf = json.loads((tmp_path / "v" / "microseg.auto.tfvars.json").read_text())
    assert tf["transport"] == {
        "type": "vpn",
        "tunnel_bandwidth": "large",
        "connect_peers": None,
        "transit_gateway_cidr_block": None,
    }
    for p in tf["pods"].values():
        assert (
            len(p["tunnel_inside_cidrs"]) == 2 and p["connect_peers"] == [] and p["connect_address"] is None
        )


def test_a_pod_keeps_its_connect_addresses_when_the_fleet_grows(tmp_path: Path) -> None:
    s = _example_settings(tmp_path, 'transport = "connect"\nconnect_peers = 2\n')
    out = tmp_path / "out"
    assert _generate(out, s).exit_code == 0
    before = json.loads((out / "microseg.lock.json").read_text())
    again = _generate(out, s)
    assert again.exit_code == 0
    assert json.loads((out / "microseg.lock.json").read_text())["pods"] == before["pods"]
    # More peers per pod and a lower capacity (more pods): every existing peer and address stays.
    s.write_text(
        s.read_text().replace("\nconnect_peers = 2\n", "\nconnect_peers = 4\ncapacity_mbps = 1000\n")
    )
    grown = _generate(out, s)
    assert grown.exit_code == 0, grown.output
    after = json.loads((out / "microseg.lock.json").read_text())
    assert len(after["pods"]) > len(before["pods"])
    for name, pod in before["pods"].items():
        assert after["pods"][name]["connect_address"] == pod["connect_address"]
        assert after["pods"][name]["connect_peers"][:2] == pod["connect_peers"]
        assert len(after["pods"][name]["connect_peers"]) == 4
    assert after["connect_cidr_block"] == "100.127.255.0/24"


def test_changing_the_tgw_block_under_a_lock_is_refused(tmp_path: Path) -> None:
    s = _example_settings(tmp_path, 'transport = "connect"\n')
    out = tmp_path / "out"
    assert _generate(out, s).exit_code == 0
    s.write_text(
        s.read_text().replace(
            'transport = "connect"\n', 'transport = "connect"\nconnect_cidr_block = "100.64.0.0/24"\n'
        )
    )
    r = _generate(out, s, "--json")
    assert r.exit_code == 1
    (e,) = json.loads(r.stdout)["errors"]
    assert e["column"] == "pods.connect_cidr_block" and "renumbers every Connect peer" in e["message"]


def test_switching_transport_drops_the_other_transports_addresses(tmp_path: Path) -> None:
    out = tmp_path / "out"
    vpn = _example_settings(tmp_path, 'transport = "vpn"\n')
    assert _generate(out, vpn).exit_code == 0
    tunnels = {
        n: p["tunnel_inside_cidrs"]
        for n, p in json.loads((out / "microseg.lock.json").read_text())["pods"].items()
    }
    connect = tmp_path / "connect.toml"
    connect.write_text(vpn.read_text().replace('transport = "vpn"\n', 'transport = "connect"\n'))
    assert _generate(out, connect).exit_code == 0
    lock = json.loads((out / "microseg.lock.json").read_text())
    assert all(p["tunnel_inside_cidrs"] == [] and len(p["connect_peers"]) == 2 for p in lock["pods"].values())
    assert _generate(out, vpn).exit_code == 0
    lock = json.loads((out / "microseg.lock.json").read_text())
    assert lock["connect_cidr_block"] is None
    # Back on vpn, the lowest free /30s again: the same ones the pods had.
    assert {n: p["tunnel_inside_cidrs"] for n, p in lock["pods"].items() if n in tunnels} == {
        n: t for n, t in tunnels.items() if n in lock["pods"]
    }


def test_inside_pools_skip_what_aws_reserves() -> None:
    from microseg.allocate.transport import (
        CONNECT_INSIDE_RESERVED,
        INSIDE_RESERVED,
        connect_inside_capacity,
        inside_blocks,
    )
    from microseg.netaddr import fmt

    connect = {fmt(a, 29) for a in inside_blocks(29, CONNECT_INSIDE_RESERVED)}
    assert "169.254.169.248/29" not in connect and not any(f"169.254.{i}.0/29" in connect for i in range(6))
    assert {"169.254.10.0/29", "169.254.169.240/29", "169.254.170.0/29", "169.254.255.248/29"} <= connect
    # 169.254.10.0 up to the end: 246 /24s of 32 /29s, less the one AWS reserves.
    assert connect_inside_capacity() == len(connect) == 246 * 32 - 1
    vpn = {fmt(a, 30) for a in inside_blocks(30, INSIDE_RESERVED)}
    assert "169.254.169.252/30" not in vpn and "169.254.169.248/30" in vpn and len(vpn) == 246 * 64 - 1


def test_diff_names_a_transport_switch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _generate(out, _example_settings(tmp_path, 'transport = "vpn"\n')).exit_code == 0
    connect = _example_settings(tmp_path, 'transport = "connect"\n')
    args = ["diff", str(EX / "inventory.csv"), "--out", str(out), "--flows", str(EX / "flows.csv")]
    r = runner.invoke(app, [*args, "--settings", str(connect), "--json"])
    assert r.exit_code == 0, r.output
    changed = {s["key"]: (s["old"], s["new"]) for s in json.loads(r.stdout)["settings"]}
    assert changed["transport.type"] == ("vpn", "connect")
    assert changed["pods.capacity_mbps"] == (2500, 10000)
