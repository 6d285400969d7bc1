"""Safe re-runs: the lock records its inputs; omitting one that would drop flows or settings refuses."""

from __future__ import annotations

import json
from pathlib import Path

from microseg.cli import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
FLOWS = ["--flows", str(EX / "flows.csv")]
SETTINGS = ["--settings", str(EX / "microseg.toml")]
runner = CliRunner()


def _run(cmd: str, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [cmd, str(EX / "inventory.csv"), "--out", str(out), "--json", *extra])


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_lock_records_its_inputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("generate", out, *FLOWS, *SETTINGS).exit_code == 0
    inputs = json.loads((out / "microseg.lock.json").read_text())["inputs"]
    assert set(inputs) == {"inventory", "flows", "settings"}
    assert inputs["flows"]["rows"] == 13 and len(inputs["flows"]["sha256"]) == 64
    assert (out / inputs["flows"]["path"]).resolve() == (EX / "flows.csv").resolve()


def test_omitted_flows_or_settings_refuse_and_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("generate", out, *FLOWS, *SETTINGS).exit_code == 0
    before = _files(out)
    r = _run("generate", out)
    assert r.exit_code == 1, r.output
    errors = {e["column"]: e["message"] for e in json.loads(r.stdout)["errors"]}
    assert set(errors) == {"inputs.flows", "inputs.settings"}
    assert "13 flow(s)" in errors["inputs.flows"] and "--accept-removals" in errors["inputs.flows"]
    assert "tags.data-classification" in errors["inputs.settings"]  # names what would change
    assert _files(out) == before
    assert _run("validate", out, *SETTINGS).exit_code == 1  # validate --out refuses the same way
    assert _run("generate", out, *FLOWS, *SETTINGS).exit_code == 0  # given again: fine


def test_accept_removals_drops_deliberately_and_is_remembered(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("generate", out, *FLOWS, *SETTINGS).exit_code == 0
    d = json.loads(_run("diff", out, *SETTINGS).stdout)  # diff shows the removal first
    assert len(d["flows"]["removed"]) == 13
    assert [o["column"] for o in d["inputs"]["omitted"]] == ["inputs.flows"]
    assert _run("generate", out, *SETTINGS, "--accept-removals").exit_code == 0
    assert json.loads((out / "microseg.auto.tfvars.json").read_text())["flows"] == []
    assert json.loads((out / "microseg.lock.json").read_text())["inputs"]["flows"] is None
    assert _run("generate", out, *SETTINGS).exit_code == 0  # nothing left to lose


def test_lock_without_fingerprints_is_not_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("generate", out, *FLOWS).exit_code == 0
    lock = json.loads((out / "microseg.lock.json").read_text())
    del lock["inputs"]
    (out / "microseg.lock.json").write_text(json.dumps(lock))
    assert _run("generate", out).exit_code == 0
