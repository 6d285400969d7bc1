"""DIR/stacks/: one tfvars file per stack, each holding its stack's part only; the policy the HCL
used to derive (egress grouping, CIDRs outside the supernet, required pods) decided by the generator."""

from __future__ import annotations

import json
import math
from pathlib import Path

from gen_helpers import inventory, plan
from microseg.cli import app
from microseg.model import Settings
from microseg.parse.flows import parse_flows
from microseg.plan import build_plan, outside_supernet
from microseg.policy import egress_rules
from microseg.render.jsonfmt import dumps
from microseg.render.stacks import render_stacks
from microseg.state import LockState
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
runner = CliRunner()

ROWS = [
    "app-a,400,22,,2,false,,111111111111,cc-1,0",
    "app-b,300,22,,2,false,,111111111111,cc-1,0",
    "app-c,200,22,,2,false,,222222222222,cc-2,0",
    "app-d,100,22,,1,true,,,cc-3,0",
]


def _stacks(rows: list[str], flows: list[str], settings: Settings | None = None) -> dict[str, dict]:
    p = plan(rows, flows, settings=settings)
    return {n: json.loads(dumps(v)) for n, v in render_stacks(p).items()}


def test_one_file_per_account_and_the_network() -> None:
    files = _stacks(ROWS, [])
    assert sorted(files) == [
        "network.auto.tfvars.json",
        "workloads-111111111111.auto.tfvars.json",
        "workloads-222222222222.auto.tfvars.json",
        "workloads-network.auto.tfvars.json",
    ]
    assert sorted(files["workloads-111111111111.auto.tfvars.json"]["workloads"]) == ["app-a", "app-b"]
    assert list(files["workloads-222222222222.auto.tfvars.json"]["workloads"]) == ["app-c"]
    assert files["workloads-network.auto.tfvars.json"]["account_id"] is None
    assert list(files["workloads-network.auto.tfvars.json"]["workloads"]) == ["app-d"]
    net = files["network.auto.tfvars.json"]
    assert net["ram_share_accounts"] == ["111111111111", "222222222222"]
    assert sorted(net["workloads"]) == ["app-a", "app-b", "app-c", "app-d"]
    # The network stack builds no workload VPC: no subnets, rules or tags of any account's workloads.
    assert set(net["workloads"]["app-a"]) == {"account_id", "cidr", "internet_egress", "qos_mbps_per_pod"}


def test_a_workload_file_names_other_accounts_only_through_rule_cidrs() -> None:
    flows = ["app-a,app-c,tcp,443,CHG-1", "app-c,app-a,tcp,8443,CHG-2"]
    files = _stacks(ROWS, flows)
    c = files["workloads-222222222222.auto.tfvars.json"]
    assert set(c) == {"name", "region", "tags", "account_id", "transit_gateway_asn", "workloads"}
    text = json.dumps(c["workloads"]["app-c"], sort_keys=True)
    a_cidr = files["network.auto.tfvars.json"]["workloads"]["app-a"]["cidr"]
    # app-a appears only as the CIDR its egress rule reaches (and the rule's ticket description).
    assert [r["cidr"] for r in c["workloads"]["app-c"]["egress_rules"]] == [a_cidr]
    assert "111111111111" not in text and "app-b" not in text


def test_egress_grouped_by_protocol_ports_and_cidr_tickets_joined() -> None:
    flows = [
        "app-a,app-c,tcp,443,CHG-1",
        "app-a,app-c,tcp,443,CHG-2",  # same rule, second ticket
        "app-a,app-c,tcp,443,CHG-1",  # same ticket again: named once
        "app-a,app-d,udp,53,CHG-3",
        "app-b,app-c,tcp,443,CHG-4",  # another source: app-b's own rule
    ]
    p = plan(ROWS, flows)
    rules = {k: [json.loads(r) for r in v] for k, v in egress_rules(p.policy.flows, p.workloads).items()}
    c, d = p.allocations["app-c"].cidr, p.allocations["app-d"].cidr
    assert rules["app-a"] == sorted(
        [
            {
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr": c,
                "description": "CHG-1 app-a to app-c, CHG-2 app-a to app-c",
            },
            {
                "protocol": "udp",
                "from_port": 53,
                "to_port": 53,
                "cidr": d,
                "description": "CHG-3 app-a to app-d",
            },
        ],
        key=lambda r: f"{r['protocol']}-{r['from_port']}-{r['to_port']}-{r['cidr']}",
    )
    assert [r["description"] for r in rules["app-b"]] == ["CHG-4 app-b to app-c"]
    assert "app-c" not in rules  # no flow leaves app-c: its egress stays denied


def test_egress_names_a_description_once() -> None:
    # Rows that differ only in a (not broad, so ignored) justification are two flows of one rule
    # with the same description: named once.
    s = Settings()
    inv, c = inventory(ROWS, s)
    text = (
        "source,destination,protocol,ports,reference,broad\n"
        "app-a,app-c,tcp,443,CHG-1,\n"
        "app-a,app-c,tcp,443,CHG-1,kept for the audit trail\n"
        "app-a,app-c,tcp,443,CHG-2,\n"
    )
    p = build_plan(s, inv, parse_flows(text, "flows.csv", inv, c), LockState(), problems=c)
    assert len(p.policy.flows) == 3
    [rule] = [json.loads(r) for r in egress_rules(p.policy.flows, p.workloads)["app-a"]]
    assert rule["description"] == "CHG-1 app-a to app-c, CHG-2 app-a to app-c"


def test_egress_descriptions_are_valid_for_aws_and_capped() -> None:
    flows = [f"app-a,app-c,tcp,443,CHG-{i:04d}" for i in range(40)]
    rule = json.loads(egress_rules((q := plan(ROWS, flows)).policy.flows, q.workloads)["app-a"][0])
    assert len(rule["description"]) == 255
    assert ">" not in rule["description"]  # AWS rejects '>' in a rule description


def test_outside_supernet_and_required_pods() -> None:
    s = Settings(workload_supernet="10.64.0.0/10")
    rows = [*ROWS, "legacy,100,,,1,false,10.32.0.0/22,,cc-9,0"]
    p = plan(rows, [], settings=s)
    assert outside_supernet(p.settings, p.allocations) == ["10.32.0.0/22"]
    net = json.loads(dumps(render_stacks(p)["network.auto.tfvars.json"]))
    assert net["outside_supernet_cidrs"] == ["10.32.0.0/22"]
    # The HCL's old derivation: any workload's bandwidth / its share per pod, rounded.
    derived = {math.floor(w["bandwidth_mbps"] / w["qos_mbps_per_pod"] + 0.5) for w in _bandwidths(p)}
    assert derived == {p.fleet.required} == {net["required_pods"]}


def _bandwidths(p):  # type: ignore[no-untyped-def]
    return [
        {"bandwidth_mbps": w.bandwidth_mbps, "qos_mbps_per_pod": p.qos[n]} for n, w in p.workloads.items()
    ]


def test_generate_writes_the_stacks_and_diff_names_the_touched_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--flows", str(EX / "flows.csv"), "--settings", str(EX / "microseg.toml"), "--out", str(out)]
    r = runner.invoke(app, ["generate", str(EX / "inventory.csv"), *args])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in (out / "stacks").iterdir())
    assert names == [
        "network.auto.tfvars.json",
        "workloads-222222222222.auto.tfvars.json",
        "workloads-network.auto.tfvars.json",
    ]
    # An owner tag of the other account's workload: only that account's stack plans anything.
    inv = tmp_path / "inv.csv"
    inv.write_text((EX / "inventory.csv").read_text().replace("team-risk", "team-risk2"))
    d = json.loads(runner.invoke(app, ["diff", str(inv), *args, "--json"]).stdout)
    assert d["stack_files"] == {
        "added": [],
        "removed": [],
        "changed": ["workloads-222222222222.auto.tfvars.json"],
    }
    assert d["stacks"] == ["workloads-222222222222"]
    # A new flow between accounts: the source's egress, the destination's ingress, the fw (network).
    flows = tmp_path / "flows.csv"
    flows.write_text((EX / "flows.csv").read_text() + "orders,risk-engine,tcp,9000,CHG-9999\n")
    args2 = [a if a != str(EX / "flows.csv") else str(flows) for a in args]
    d = json.loads(runner.invoke(app, ["diff", str(EX / "inventory.csv"), *args2, "--json"]).stdout)
    assert d["stack_files"]["changed"] == [
        "network.auto.tfvars.json",
        "workloads-222222222222.auto.tfvars.json",
        "workloads-network.auto.tfvars.json",
    ]
    assert d["flows"]["added"][0]["stacks"] == ["network", "workloads-222222222222", "workloads-network"]
