"""AWS quotas against the computed fleet (stated in [quotas]: limits, exit 3; AWS defaults: warnings
from 80 %), security-group rules counted after merging ports, and instance throughput warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from gen_helpers import plan
from microseg.errors import Collector, ExhaustedError
from microseg.model import Settings
from microseg.parse.settings import load_settings


def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "s.toml"
    path.write_text(text)
    c = Collector()
    s = load_settings(path, c)
    assert not c.errors, c.errors
    return s


def _warnings(p, key: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [w.message for w in p.warnings if w.column == key]


ROWS5 = [f"w{i},1000,24,,1,,,,," for i in range(7)]  # 7,000 Mbps: 3 required, 5 pods on 3 AZs


def test_defaults_warn_from_80_percent_and_when_exceeded() -> None:
    # Quotas left at a default (no line in the settings) only warn: 10 is near 80 % at 8..10 pods.
    near = plan([f"w{i},2500,24,,1,,,,," for i in range(5)], settings=Settings(quota_vpn_connections=10))
    assert near.fleet.total == 8
    assert _warnings(near, "quotas.vpn_connections_per_region") == [
        "VPN connections (one per pod): 8 is near the AWS default of 10"
    ]
    below = plan([f"w{i},2500,24,,1,,,,," for i in range(4)], settings=Settings(quota_vpn_connections=10))
    assert below.fleet.total == 6 and not _warnings(below, "quotas.vpn_connections_per_region")
    p = plan(ROWS5)  # the AWS default of 5 Elastic IPs: 2 per vpn pod + the NAT
    assert _warnings(p, "quotas.elastic_ips_per_region") == [
        "Elastic IPs (2 per pod on vpn transport + the NAT): 11 exceeds the AWS default of 5; "
        "request a quota increase first"
    ]


@pytest.mark.parametrize(
    ("toml", "key", "message"),
    [
        (
            "[quotas]\nelastic_ips_per_region = 10\n",
            "quotas.elastic_ips_per_region",
            "Elastic IPs (2 per pod on vpn transport + the NAT): 11 needed, the quota is 10",
        ),
        (
            "[quotas]\nlambda_concurrent_executions = 104\n",
            "quotas.lambda_concurrent_executions",
            "Lambda concurrency (1 reserved per pod + the 100 AWS keeps unreserved): 105 needed, "
            "the quota is 104",
        ),
        (
            "[quotas]\ncustomer_gateways_per_region = 4\n",
            "quotas.customer_gateways_per_region",
            "customer gateways (one per pod): 5 needed, the quota is 4",
        ),
        (
            "[quotas]\ntgw_attachments = 13\n",
            "quotas.tgw_attachments",
            "TGW attachments (workloads, one per pod, core, management): 14 needed, the quota is 13",
        ),
    ],
)
def test_stated_quotas_are_limits(tmp_path: Path, toml: str, key: str, message: str) -> None:
    s = _settings(tmp_path, toml)
    with pytest.raises(ExhaustedError) as exc:
        plan(ROWS5, settings=s)
    assert [str(p) for p in exc.value.problems] == [f"{tmp_path / 's.toml'}:2: {key}: {message}"]
    # Exactly at the quota is fine.
    quota = int(toml.rsplit("= ", 1)[1])
    plan(ROWS5, settings=_settings(tmp_path, toml.replace(f"= {quota}", f"= {quota + 1}")))


def test_connect_pods_need_no_vpn_quota_and_one_eip(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        '[pods]\ntransport = "connect"\nconnect_peers = 1\n'
        "[quotas]\nvpn_connections_per_region = 1\ncustomer_gateways_per_region = 1\n"
        "elastic_ips_per_region = 6\n",
    )
    p = plan(ROWS5, settings=s)  # 7,000 / 5,000: 2 required, 3 pods over 3 AZs
    assert p.fleet.total == 3
    assert {n.key: n.need for n in p.quotas}["elastic_ips_per_region"] == 4
    assert "vpn_connections_per_region" not in {n.key for n in p.quotas}


def test_routes_count_what_a_pod_advertises_not_what_it_receives() -> None:
    # 150 workloads: the old check counted 151 routes against 100; a pod advertises 0.0.0.0/0 only.
    p = plan([f"w{i},10,24,,1,,,,," for i in range(150)])
    assert not _warnings(p, "quotas.routes_per_customer_gateway")
    assert {n.key: n.need for n in p.quotas}["routes_per_customer_gateway"] == 1
    assert p.settings.quota_routes_per_cgw == 1000


FLOWS = [
    "a,b,tcp,443,CHG-1",
    "a,b,tcp,444,CHG-2",
    "a,b,tcp,445-450,CHG-3",
    "a,b,tcp,8000-8100,CHG-4",
    "a,b,tcp,8050-8200,CHG-5",
    "a,b,tcp,9000,CHG-6",  # not adjacent to 8200: its own rule
    "a,b,udp,53,CHG-7",
    "a,b,udp,54,CHG-8",
    "a,c,tcp,22,CHG-9",
    "a,c,any,,CHG-10",  # absorbs c's tcp/22 (same CIDR)
]
ROWS3 = ["a,10,24,,1,,,,,", "b,10,24,,1,,,,,", "c,10,24,,1,,,,,"]


def test_ports_merge_into_ranges_before_rules_are_counted() -> None:
    p = plan(ROWS3, FLOWS)
    b = [
        r.split('"from_port": ')[1].split(",")[0] + "-" + r.split('"to_port": ')[1].split("}")[0]
        for r in p.policy.ingress["b"]
    ]
    assert b == ["443-450", "8000-8200", "9000-9000", "53-54"]
    assert '"description": "CHG-1 a to b (+2 more)"' in p.policy.ingress["b"][0]
    assert '"description": "CHG-4 a to b (+1 more)"' in p.policy.ingress["b"][1]
    (c,) = p.policy.ingress["c"]
    assert '"protocol": "-1"' in c and '"description": "CHG-9 a to c (+1 more)"' in c


def test_stated_sg_quota_counts_merged_rules(tmp_path: Path) -> None:
    plan(
        ROWS3, FLOWS, settings=_settings(tmp_path, "[quotas]\nsecurity_group_rules = 4\n")
    )  # 4 merged, 8 raw
    with pytest.raises(ExhaustedError) as exc:
        plan(ROWS3, FLOWS, settings=_settings(tmp_path, "[quotas]\nsecurity_group_rules = 3\n"))
    assert [p.message for p in exc.value.problems] == [
        "inbound rules in b's security group: 4 needed, the quota is 3"
    ]


def test_rules_times_groups_per_interface_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[quotas]\nsecurity_group_rules = 250\n")
    c = Collector()
    load_settings(path, c)
    assert [str(p) for p in c.errors] == [
        f"{path}:2: quotas.security_group_rules: 250 rules per security group x 5 groups per network "
        "interface = 1,250; AWS caps the product at 1,000"
    ]
    path.write_text("[quotas]\nsecurity_group_rules = 250\nsecurity_groups_per_network_interface = 4\n")
    c = Collector()
    load_settings(path, c)
    assert not c.errors


def test_throughput_warnings(tmp_path: Path) -> None:
    standard = plan(ROWS5)
    assert not [w for w in standard.warnings if w.column.startswith("instance_types")]
    large = plan(ROWS5, settings=_settings(tmp_path, '[pods]\ntunnel_bandwidth = "large"\n'))
    vpn = _warnings(large, "instance_types.vpn")
    assert vpn == [
        "c6in.large sustains 6250 Mbps, less than a pod's capacity of 10000 Mbps; choose a larger type "
        "or lower [pods] capacity_mbps",
        "c6in.large's IPsec estimate is 2 vCPUs x 1250 Mbps = 2500 Mbps, less than a pod's capacity "
        "of 10000 Mbps",
    ]
    assert _warnings(large, "instance_types.fw") == []  # c6in.xlarge sustains 12,500
    big = _settings(
        tmp_path,
        '[pods]\ntunnel_bandwidth = "large"\n[instance_types]\nvpn = "c6in.4xlarge"\n'
        '[prices.instance_hour]\n"c6in.4xlarge" = 0.9072\n',
    )
    assert not _warnings(plan(ROWS5, settings=big), "instance_types.vpn")
    connect = plan(ROWS5, settings=_settings(tmp_path, '[pods]\ntransport = "connect"\nconnect_peers = 1\n'))
    assert _warnings(connect, "instance_types.vpn") == []  # 5,000 Mbps, no IPsec on connect
    unknown = _settings(
        tmp_path, '[instance_types]\nvpn = "m7i.large"\n[prices.instance_hour]\n"m7i.large" = 0.1\n'
    )
    assert _warnings(plan(ROWS5, settings=unknown), "instance_types.vpn") == [
        "no baseline bandwidth known for m7i.large: add it under [throughput.network_mbps] "
        "to check it carries 2500 Mbps"
    ]


def test_cli_exits_3_and_writes_nothing_for_a_stated_quota(tmp_path: Path) -> None:
    import json

    from microseg.cli import app
    from typer.testing import CliRunner

    ex = Path(__file__).resolve().parents[2] / "examples"
    toml = tmp_path / "microseg.toml"
    toml.write_text((ex / "microseg.toml").read_text() + "\n[quotas]\nelastic_ips_per_region = 10\n")
    line = len(toml.read_text().splitlines())
    args = ["generate", str(ex / "inventory.csv"), "--flows", str(ex / "flows.csv"), "--settings", str(toml)]
    r = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--json"])
    assert r.exit_code == 3, r.output
    assert json.loads(r.stdout)["errors"] == [
        {
            "file": str(toml),
            "line": line,
            "column": "quotas.elastic_ips_per_region",
            "message": "Elastic IPs (2 per pod on vpn transport + the NAT): 11 needed, the quota is 10",
        }
    ]
    assert not (tmp_path / "out").exists()
