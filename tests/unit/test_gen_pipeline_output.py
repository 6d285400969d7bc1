"""Pipeline-friendly output: tables readable at 80 columns in a non-terminal; --version; demo options."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from microseg import __version__
from microseg.textout import print_rows
from rich.console import Console

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
GENERATOR = REPO / "generator"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "80", "PYTHONPATH": str(GENERATOR)}
    return subprocess.run(
        [sys.executable, "-m", "microseg", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def _table_lines_fit(out: str) -> None:
    assert all(len(line) <= 80 for line in out.splitlines() if any(c in line for c in "│┃")), out


def test_generate_and_cost_at_80_columns_in_a_pipe(tmp_path: Path) -> None:
    args = ["--flows", str(EX / "flows.csv"), "--settings", str(EX / "microseg.toml")]
    gen = _cli("generate", str(EX / "inventory.csv"), *args, "--out", str(tmp_path / "out"))
    assert gen.returncode == 0, gen.stderr
    _table_lines_fit(gen.stdout)
    assert "…" not in gen.stdout  # nothing cut short
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    for name, w in report["workloads"].items():
        assert name in gen.stdout and w["cidr"] in gen.stdout
    cost = _cli("cost", str(EX / "inventory.csv"), *args, "--json")
    items = json.loads(cost.stdout)["line_items"]
    human = _cli("cost", str(EX / "inventory.csv"), *args)
    assert human.returncode == 0
    _table_lines_fit(human.stdout)
    assert "…" not in human.stdout
    for i in items:
        assert i["description"] in human.stdout  # whole, not folded over lines


def test_a_table_too_wide_becomes_a_list_without_folding() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=80, force_terminal=False)
    long_path = " => ".join(f"rtb-{i:017x}: 0.0.0.0/0 -> tgw-attach-{i:017x}" for i in range(6))
    print_rows(console, "paths", ["#", "from", "path"], [["1", "orders\nrtb-1", long_path]])
    text = buf.getvalue()
    assert long_path in text and len(text.splitlines()) == 5
    buf = io.StringIO()
    print_rows(Console(file=buf, width=80), "small", ["a", "b"], [["x", "y"]])
    assert "│ x │ y │" in buf.getvalue()


def test_version() -> None:
    r = _cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"microseg {__version__}"


def test_demo_takes_the_users_inputs_and_passes_extra_arguments(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(GENERATOR)}
    bad = tmp_path / "mine.csv"
    bad.write_text("name,bandwidth_mbps,hosts\ninternet,10,10\n")
    r = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--inventory", str(bad)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1 and f"{bad}:2: name: 'internet' is reserved" in r.stderr, r.stderr
    r = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "--no-such-generate-option"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1 and "No such option: --no-such-generate-option" in r.stderr, r.stderr


def test_readme_and_docs_link_only_to_files_in_the_repository() -> None:
    import re

    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text()):
            if "://" in target:
                continue
            path = (doc.parent / target).resolve()
            assert path.is_relative_to(REPO) and path.exists(), f"{doc.name}: {target}"
