"""Golden files for report.md and the tfvars, generated from examples/. Regenerate deliberately with
MICROSEG_UPDATE_GOLDEN=1 and review the diff like any other change."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from microseg.cli import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
UPDATE = os.environ.get("MICROSEG_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "out"
    ex = REPO / "examples"
    r = CliRunner().invoke(
        app,
        [
            "generate",
            str(ex / "inventory.csv"),
            "--flows",
            str(ex / "flows.csv"),
            "--settings",
            str(ex / "microseg.toml"),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.parametrize(
    "name",
    [
        "report.md",
        "microseg.auto.tfvars.json",
        "report.json",
        "stacks/network.auto.tfvars.json",
        "stacks/workloads-222222222222.auto.tfvars.json",
        "stacks/workloads-network.auto.tfvars.json",
    ],
)
def test_golden(generated: Path, name: str) -> None:
    # The generation id hashes the whole set, lock included, whose input paths are relative to
    # wherever the test writes; the id's own behaviour is tested in tests/property.
    gid = json.loads((generated / "report.json").read_text())["generation"]
    # Warnings name the settings file by the path it was given (absolute here): the checkout's
    # location is not part of the output under test.
    actual = (
        (generated / name).read_text(encoding="utf-8").replace(gid, "GENERATION").replace(str(REPO), "REPO")
    )
    golden = DATA / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"missing {golden}; run with MICROSEG_UPDATE_GOLDEN=1"
    assert actual == golden.read_text(encoding="utf-8"), (
        f"{name} differs; rerun with MICROSEG_UPDATE_GOLDEN=1 if intended"
    )
