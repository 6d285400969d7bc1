"""A plain `generate` call skips typer (microseg.runner): same output and exit code as through typer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from microseg.runner import parse_generate

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"


def test_only_plain_generate_calls_take_the_direct_path() -> None:
    got = parse_generate(["generate", "inv.csv", "--out", "o", "--release", "a", "--json", "--release", "b"])
    assert got == {
        "inventory": Path("inv.csv"),
        "out": Path("o"),
        "flows": None,
        "settings": None,
        "release": ("a", "b"),
        "accept_removals": False,
        "as_json": True,
    }
    for argv in (
        [],
        ["validate", "inv.csv"],
        ["generate", "inv.csv"],  # --out is required: typer says so
        ["generate", "inv.csv", "--out", "o", "--help"],
        ["generate", "inv.csv", "--out=o"],
        ["generate", "inv.csv", "--out", "o", "--out", "p"],
        ["generate", "inv.csv", "--out", "o", "--json", "--json"],
        ["generate", "inv.csv", "--out", "-"],
        ["generate", "inv.csv", "--out"],
        ["generate", "a.csv", "b.csv", "--out", "o"],
        ["generate", "inv.csv", "--out", "o", "--"],
    ):
        assert parse_generate(argv) is None, argv


def _run(direct: bool, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "PYTHONPATH": str(REPO / "generator")}
    code = "import sys; from microseg.app import app; sys.argv[0] = 'microseg'; app()"
    cmd = [sys.executable, "-m", "microseg"] if direct else [sys.executable, "-c", code]
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("extra", [[], ["--json"], ["--settings", str(EX / "missing.toml")]])
def test_direct_and_typer_paths_agree(tmp_path: Path, extra: list[str]) -> None:
    runs = []
    for direct in (True, False):
        out = tmp_path / "out"
        args = ["generate", str(EX / "inventory.csv"), "--flows", str(EX / "flows.csv"), "--out", str(out)]
        runs.append(_run(direct, [*args, *extra]))
        files = sorted(p.name for p in out.iterdir()) if out.exists() else []
        runs.append(files)
        shutil.rmtree(out, ignore_errors=True)
    (a, files_a), (b, files_b) = runs[:2], runs[2:]
    assert (a.returncode, a.stdout, a.stderr, files_a) == (b.returncode, b.stdout, b.stderr, files_b)
