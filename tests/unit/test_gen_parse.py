"""Parsing layer: inventory, flows, settings, text decoding. Every problem reported, with its position."""

from __future__ import annotations

from pathlib import Path

import pytest
from gen_helpers import inventory
from microseg.errors import Collector
from microseg.io.textfile import read_text
from microseg.io.tomlfile import key_lines
from microseg.model import Settings
from microseg.parse.flows import parse_flows
from microseg.parse.settings import load_settings


def _msgs(c: Collector) -> list[str]:
    return [str(p) for p in c.errors]


def test_valid_rows_any_column_order_bom_crlf_blank_lines() -> None:
    c = Collector()
    from microseg.parse.inventory import parse_inventory

    text = "\ufeffazs,bandwidth_mbps,name,hosts\r\n\r\n2,100,app,50\r\n\r\n3,200.5,db,1000\r\n"
    inv = parse_inventory(text, "inv.csv", Settings(), c)
    assert not c.errors
    assert [w.name for w in inv.workloads] == ["app", "db"]
    assert inv.workloads[1].bandwidth_mbps == 200.5
    assert inv.workloads[0].azs == 2


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("Bad,10,20,,,,,,,", "inv.csv:2: name:"),
        ("app,0,20,,,,,,,", "inv.csv:2: bandwidth_mbps: 0 must be > 0"),
        ("app,x,20,,,,,,,", "inv.csv:2: bandwidth_mbps: 'x' is not a number"),
        ("app,10,15,,,,,,,", "inv.csv:2: prefix_length: /15 is outside /16../28"),
        ("app,10,28,,3,,,,,", "inv.csv:2: prefix_length: a /28 cannot hold 3 AZ"),
        ("app,10,20,100,,,,,,", "inv.csv:2: prefix_length: give hosts or prefix_length, not both"),
        ("app,10,,,,,,,,", "inv.csv:2: hosts: size missing"),
        ("app,10,20,,7,,,,,", "inv.csv:2: azs: 7 is out of range 1..6"),
        ("app,10,20,,4,,,,,", "inv.csv:2: azs: 4 AZs requested but the settings list only 3"),
        ("app,10,20,,,maybe,,,,", "inv.csv:2: internet_egress:"),
        ("app,10,,,,,10.64.0.1/20,,,", "inv.csv:2: cidr: '10.64.0.1/20' has host bits set"),
        ("app,10,,,,,10.64.0.0/12,,,", "inv.csv:2: cidr: 10.64.0.0/12 is outside /16../28"),
        ("app,10,20,,,,,1234,,", "inv.csv:2: account_id: '1234' must be 12 digits"),
        ("app,10,20,,,,,,,-5", "inv.csv:2: monthly_gb: must be >= 0"),
        ("app,10,,9999999,,,,,,", "inv.csv:2: hosts: 9999999 hosts over 3 AZ(s) need a /"),
    ],
)
def test_bad_cells(row: str, expected: str) -> None:
    _, c = inventory([row])
    assert any(m.startswith(expected) for m in _msgs(c)), _msgs(c)


def test_every_problem_at_once_and_duplicates() -> None:
    _, c = inventory(["app,0,20,,,,,,,", "app,10,20,,,,,,,", "Bad,10,20,,,,,,,", "ok,10,20,,,,,,"])
    msgs = _msgs(c)
    assert any("inv.csv:2: bandwidth_mbps" in m for m in msgs)
    assert any("inv.csv:4: name" in m for m in msgs)
    assert any("inv.csv:5: -: row has 9 fields but the header has 10 (ragged row)" in m for m in msgs)
    _, c = inventory(["app,10,20,,,,,,,", "app,10,20,,,,,,,"])
    assert _msgs(c) == ["inv.csv:3: name: duplicate workload 'app' (first on line 2)"]


def test_missing_columns_and_unknown_column_warning() -> None:
    _, c = inventory(["app"], header="name")
    assert "inv.csv:1: bandwidth_mbps: required column is missing" in _msgs(c)
    _, c = inventory(["app,10,20,x"], header="name,bandwidth_mbps,prefix_length,colour")
    assert not c.errors
    assert [str(w) for w in c.warnings] == ["inv.csv:1: colour: unknown column, ignored"]


def test_header_only_is_an_error() -> None:
    _, c = inventory([])
    assert any("no workload rows" in m for m in _msgs(c))


def test_text_decoding(tmp_path: Path) -> None:
    c = Collector()
    (tmp_path / "latin.csv").write_bytes(b"name,bandwidth_mbps\ncaf\xe9,10\n")
    assert read_text(tmp_path / "latin.csv", "latin.csv", c) is None
    assert _msgs(c) == ["latin.csv:2: -: not valid UTF-8 (byte 0xe9 at character 4); save the file as UTF-8"]
    c = Collector()
    (tmp_path / "empty.csv").write_bytes(b"\n \n")
    assert read_text(tmp_path / "empty.csv", "empty.csv", c) is None
    assert _msgs(c) == ["empty.csv:0: -: file is empty"]
    c = Collector()
    assert read_text(tmp_path / "missing.csv", "missing.csv", c) is None
    assert _msgs(c) == ["missing.csv:0: -: file not found"]


def test_flows_errors() -> None:
    inv, _ = inventory(["app,10,20,,,,,,,", "db,10,20,,,,,,,"])
    c = Collector()
    text = (
        "reference,source,destination,protocol,ports\n"
        "CHG-1,app,db,tcp,443\n"
        "CHG-2,app,nope,tcp,443\n"
        "CHG-3,app,db,gre,\n"
        "CHG-4,app,db,tcp,70000\n"
        "CHG-5,app,db,tcp,9-1\n"
        "CHG-6,app,db,icmp,80\n"
        ",app,db,udp,53\n"
        "CHG-8,10.0.0.0/8,internet,tcp,443\n"
        "CHG-9,app,db,any,\n"
        "CHG-1,app,db,tcp,443\n"
    )
    fs = parse_flows(text, "flows.csv", inv, c)
    msgs = _msgs(c)
    assert "flows.csv:3: destination: unknown workload 'nope' (not in the inventory)" in msgs
    assert any(m.startswith("flows.csv:4: protocol: 'gre'") for m in msgs)
    assert any(m.startswith("flows.csv:5: ports:") for m in msgs)
    assert any(m.startswith("flows.csv:6: ports:") and "after its end" in m for m in msgs)
    assert any(m.startswith("flows.csv:7: ports: icmp flows take no ports") for m in msgs)
    assert any(m.startswith("flows.csv:8: reference:") for m in msgs)
    assert any(m.startswith("flows.csv:9: destination: one side") for m in msgs)
    assert [(f.protocol, f.from_port, f.to_port) for f in fs.flows] == [("tcp", 443, 443), ("any", -1, -1)]
    assert [str(w) for w in c.warnings] == ["flows.csv:11: -: same flow as line 2, ignored"]


def test_settings_defaults_and_errors_with_lines(tmp_path: Path) -> None:
    c = Collector()
    s = load_settings(None, c)
    assert (
        s.region,
        s.workload_supernet,
        s.core_cidr,
        s.pod_capacity_mbps,
        s.spare_pods,
        s.survive_az_loss,
    ) == ("us-east-1", "10.64.0.0/10", "10.0.0.0/20", 2500.0, 1, True)
    p = tmp_path / "microseg.toml"
    p.write_text(
        'region = "eu-west-1"\n'
        "\n"
        "[pods]\n"
        "spare = 2\n"
        'capacity_mbps = "fast"\n'
        "[asn]\n"
        "pools = [[1, 2]]\n"
        "transit_gateway = 64600\n"
        "used_elsewhere = [64600]\n"
        "[instance_types]\n"
        'vpn = "m7i.large"\n'
    )
    c = Collector()
    s = load_settings(p, c)
    msgs = _msgs(c)
    f = str(p)
    assert f"{f}:4: pods.spare: unknown key in [pods]; did you mean 'spares'?" in msgs
    assert f"{f}:5: pods.capacity_mbps: must be a number, got a string" in msgs
    assert any(m.startswith(f"{f}:7: asn.pools: [1, 2] is not inside a private ASN range") for m in msgs)
    assert f"{f}:8: asn.transit_gateway: 64600 is listed in asn.used_elsewhere" in msgs
    assert any(
        m.startswith(f"{f}:11: instance_types.vpn: no price for instance type 'm7i.large'") for m in msgs
    )
    assert s.azs == ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def test_settings_toml_syntax_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text('name = "x"\nregion = \n')
    c = Collector()
    load_settings(p, c)
    assert len(c.errors) == 1 and c.errors[0].line == 2 and "invalid TOML" in c.errors[0].message


def test_key_lines() -> None:
    text = 'a = 1\n[pods]\nspares = [\n  1,\n]\nx.y = 2\n[prices.instance_hour]\n"c6in.large" = 1\n'
    lines = key_lines(text)
    assert lines["a"] == 1 and lines["pods.spares"] == 3 and lines["pods.x.y"] == 6
    assert lines["prices.instance_hour.c6in.large"] == 8


def test_inventory_names_that_read_as_other_endpoints_stay_those_endpoints_in_flows() -> None:
    # Invalid names are still known (no second "unknown workload" error), but a flow reads them as
    # what they look like: internet, a wildcard, a CIDR, never as a workload.
    inv, inv_problems = inventory(
        [
            "app,10,20,,,true,,,,",
            "Internet,10,20,,,,,,,",
            "all,10,20,,,,,,,",
            "10.9.0.0/16,10,20,,,,,,,",
            "9lives,10,20,,,,,,,",
            "a/b,10,20,,,,,,,",
        ]
    )
    assert len(inv_problems.errors) == 5
    c = Collector()
    text = (
        "source,destination,protocol,ports,reference\n"
        "app,Internet,tcp,443,CHG-1\n"
        "app,all,tcp,443,CHG-2\n"
        "app,10.9.0.0/16,tcp,443,CHG-3\n"
        "app,9lives,tcp,443,CHG-4\n"
        "app,a/b,tcp,443,CHG-5\n"
    )
    fs = parse_flows(text, "flows.csv", inv, c)
    assert [(f.line, f.destination.kind) for f in fs.flows] == [(2, "internet"), (4, "cidr")]
    msgs = _msgs(c)
    assert any(m.startswith("flows.csv:3: destination: 'all' is not an endpoint") for m in msgs)
    assert "flows.csv:5: destination: '9lives' is not a CIDR (expected a.b.c.d/n)" in msgs
    assert any(m.startswith("flows.csv:6: destination: 'a/b' is not a valid IPv4 CIDR") for m in msgs)
    assert len(msgs) == 3
