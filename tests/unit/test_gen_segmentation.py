"""The segmentation guard: broad flow CIDRs need an auditable opt-in; reserved names and internet sources."""

from __future__ import annotations

import pytest
from gen_helpers import inventory, plan
from microseg.errors import Collector, InputError
from microseg.model import Settings
from microseg.parse.flows import parse_flows
from microseg.plan import build_plan
from microseg.state import LockState

ROWS = ["app,100,24,,2,,,,,", "db,100,24,,2,,,,,", "old,50,,,2,,10.32.0.0/24,,,"]
JUST = "legacy scanner, approved by the risk board"


def _plan_broad(flow_rows: list[str], lock: LockState | None = None, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    s = settings or Settings()
    inv, c = inventory(ROWS, s)
    text = "source,destination,protocol,ports,reference,broad\n" + "\n".join(flow_rows) + "\n"
    fl = parse_flows(text, "flows.csv", inv, c)
    c.raise_if_errors()
    return build_plan(s, inv, fl, lock or LockState(), problems=c)


@pytest.mark.parametrize(
    ("cidr", "why"),
    [
        ("0.0.0.0/0", "wider than /16"),
        ("10.0.0.0/8", "wider than /16"),
        ("10.0.0.0/20", "the core 10.0.0.0/20"),
        ("10.0.4.7/32", "the core"),
        ("10.64.0.0/10", "workload_supernet"),
        ("10.32.0.9/32", "workload old (10.32.0.0/24)"),
    ],
)
def test_broad_cidr_is_an_error_without_opt_in(cidr: str, why: str) -> None:
    with pytest.raises(InputError) as exc:
        plan(ROWS, [f"{cidr},app,tcp,443,CHG-1"])
    (p,) = exc.value.problems
    assert (p.file, p.line, p.column) == ("flows.csv", 2, "source")
    assert why in p.message and "broad" in p.message


def test_locked_workload_outside_supernet_is_guarded() -> None:
    first = plan(ROWS)
    s = Settings(workload_supernet="10.128.0.0/10")  # the pool moved; app and db keep their blocks
    app_cidr = first.allocations["app"].cidr
    with pytest.raises(InputError, match="workload app"):
        _plan_broad([f"{app_cidr},db,tcp,443,CHG-1,"], lock=first.lock(), settings=s)


def test_opt_in_is_listed_for_audit() -> None:
    p = _plan_broad([f'10.32.0.9/32,app,tcp,443,CHG-1,"{JUST}"', "app,db,tcp,5432,CHG-2,"])
    (b,) = p.broad_flows
    assert (b.line, b.endpoint, b.justification) == (2, "10.32.0.9/32", JUST)
    from microseg.render.report_json import render_report_json
    from microseg.render.report_md import render_report_md

    assert JUST in render_report_md(p)
    assert render_report_json(p)["broad_flows"][0]["endpoint"] == "10.32.0.9/32"


def test_narrow_outside_cidr_needs_no_opt_in_and_the_prefix_is_configurable() -> None:
    assert not plan(ROWS, ["10.200.0.0/16,app,tcp,443,CHG-1"]).broad_flows
    with pytest.raises(InputError, match="wider than /24"):
        plan(ROWS, ["10.200.0.0/16,app,tcp,443,CHG-1"], settings=Settings(broadest_flow_prefix=24))


def test_justification_must_be_real_text() -> None:
    inv, c = inventory(ROWS)
    parse_flows(
        "source,destination,protocol,ports,reference,broad\n0.0.0.0/0,app,any,,CHG-1,ok\n", "f.csv", inv, c
    )
    assert [p.column for p in c.errors] == ["broad"]


def test_internet_source_and_wildcard_words_are_rejected() -> None:
    inv, c = inventory(ROWS)
    parse_flows(
        "source,destination,protocol,ports,reference\ninternet,app,tcp,443,CHG-1\nany,app,tcp,443,CHG-2\n",
        "f.csv",
        inv,
        c,
    )
    assert [(p.line, p.column) for p in c.errors] == [(2, "source"), (3, "source")]
    assert "ingress design" in c.errors[0].message


@pytest.mark.parametrize("name", ["internet", "any", "default", "all"])
def test_reserved_workload_names(name: str) -> None:
    _, c = inventory([f"{name},10,24,,2,,,,,"])
    assert [(p.line, p.column) for p in c.errors] == [(2, "name")]
    assert "reserved" in c.errors[0].message


@pytest.mark.parametrize("cidr", ["169.254.16.0/20", "127.0.0.0/16", "224.1.0.0/16", "0.0.0.0/16"])
def test_reserved_ranges_are_never_pins_or_pools(cidr: str) -> None:
    from microseg.parse.settings import parse_settings

    _, c = inventory([f"x,10,,,2,,{cidr},,,"])
    assert [(p.column, "which no VPC may use" in p.message) for p in c.errors] == [("cidr", True)]
    for key in ("workload_supernet", "core_cidr"):
        c = Collector()
        parse_settings({key: cidr}, {key: 3}, "s.toml", c)
        assert [(p.line, p.column) for p in c.errors if "no VPC may use" in p.message] == [(3, key)]


def test_guard_findings_come_with_the_parse_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from microseg.pipeline import load_inputs

    inv = tmp_path / "inv.csv"
    inv.write_text("name,bandwidth_mbps,prefix_length\napp,10,24\ndb,10,24\n")
    flows = tmp_path / "flows.csv"
    flows.write_text(
        "source,destination,protocol,ports,reference\n0.0.0.0/0,app,any,,CHG-1\napp,db,tcp,99999,CHG-2\n"
    )
    with pytest.raises(InputError) as exc:
        load_inputs(inv, flows, None)
    assert [(p.line, p.column) for p in exc.value.problems] == [(2, "source"), (3, "ports")]
