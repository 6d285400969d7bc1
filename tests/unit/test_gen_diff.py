"""diff: settings changes, pod moves, old -> new values, the stacks each change touches, no lock."""

from __future__ import annotations

import json
from pathlib import Path

from microseg.cli import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
runner = CliRunner()


def _diff(out: Path, inv: Path, settings: Path, json_out: bool = True):  # type: ignore[no-untyped-def]
    args = [
        "diff",
        str(inv),
        "--out",
        str(out),
        "--flows",
        str(EX / "flows.csv"),
        "--settings",
        str(settings),
    ]
    return runner.invoke(app, [*args, "--json"] if json_out else args)


def _generated(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    args = ["generate", str(EX / "inventory.csv"), "--flows", str(EX / "flows.csv")]
    r = runner.invoke(app, [*args, "--settings", str(EX / "microseg.toml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_no_lock_is_said(tmp_path: Path) -> None:
    r = _diff(tmp_path / "none", EX / "inventory.csv", EX / "microseg.toml", json_out=False)
    assert r.exit_code == 0
    assert r.stdout.startswith("no lock found in")
    assert (
        json.loads(_diff(tmp_path / "none", EX / "inventory.csv", EX / "microseg.toml").stdout)["has_lock"]
        is False
    )


def test_settings_changes_with_old_new_and_stacks(tmp_path: Path) -> None:
    out = _generated(tmp_path)
    text = (EX / "microseg.toml").read_text()
    changed = (
        text.replace('name = "microseg"', 'name = "ms2"')
        .replace('fw = "c6in.xlarge"', 'fw = "c6in.large"')
        .replace('data-classification = "confidential"', 'data-classification = "secret"')
        .replace('"us-east-1a", "us-east-1b", "us-east-1c"', '"us-east-1a", "us-east-1b", "us-east-1d"')
    )
    s2 = tmp_path / "s2.toml"
    s2.write_text(changed)
    d = json.loads(_diff(out, EX / "inventory.csv", s2).stdout)
    by_key = {s["key"]: s for s in d["settings"]}
    everywhere = ["network", "workloads-222222222222", "workloads-network"]
    assert (by_key["name"]["old"], by_key["name"]["new"], by_key["name"]["stacks"]) == (
        "microseg",
        "ms2",
        everywhere,
    )
    assert by_key["instance_types.fw"]["new"] == "c6in.large" and by_key["instance_types.fw"]["stacks"] == [
        "network"
    ]
    assert by_key["tags.data-classification"]["old"] == "confidential"
    assert d["pods"]["moved"] and all(
        m["old_az"] == "us-east-1c" and m["new_az"] == "us-east-1d" for m in d["pods"]["moved"]
    )
    assert d["stacks"] == everywhere
    text_out = _diff(out, EX / "inventory.csv", s2, json_out=False).stdout
    assert "~ setting name: microseg -> ms2" in text_out
    assert "us-east-1c -> us-east-1d" in text_out


def test_workload_change_names_old_new_and_its_account_stack(tmp_path: Path) -> None:
    out = _generated(tmp_path)
    inv = tmp_path / "inv.csv"
    inv.write_text(
        (EX / "inventory.csv")
        .read_text()
        .replace("risk-engine,prod,900", "risk-engine,prod,950")
        .replace(
            "shared-dns,prod,100,30,,3,false,,,team-platform", "shared-dns,prod,100,30,,3,false,,,team-dns"
        )
    )
    d = json.loads(_diff(out, inv, EX / "microseg.toml").stdout)
    changed = {c["name"]: c for c in d["workloads"]["changed"]}
    risk = changed["risk-engine"]
    assert risk["changes"]["bandwidth_mbps"] == {"old": 900, "new": 950}
    assert risk["stacks"] == ["network", "workloads-222222222222"]
    assert changed["shared-dns"]["stacks"] == ["workloads-network"]  # a tag: only its own stack
    assert d["settings"] == [] and d["flows"] == {"added": [], "removed": []}
