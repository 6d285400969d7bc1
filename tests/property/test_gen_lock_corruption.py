"""A hand-edited lock is validated by meaning: every corruption is refused against the lock file
with its key path, exit 1, and nothing (the lock least of all) is rewritten."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.cli import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
LOCK = "microseg.lock.json"
runner = CliRunner()
PROFILE = settings.get_profile("microseg-generator")
ARGS = ["--flows", str(EX / "flows.csv"), "--settings", str(EX / "microseg.toml")]


def _generate(out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["generate", str(EX / "inventory.csv"), *ARGS, "--out", str(out), *extra])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lock") / "out"
    r = _generate(out)
    assert r.exit_code == 0, r.output
    return out


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _corrupt(lock: dict[str, Any], kind: str, a: int, b: int, n: int) -> str:
    """Apply one corruption; returns the key path the error must name."""
    ws = sorted(lock["workloads"])
    pods = sorted(lock["pods"])
    w1, w2 = ws[a % len(ws)], ws[(a + 1 + b % (len(ws) - 1)) % len(ws)]
    p1, p2 = pods[a % len(pods)], pods[(a + 1 + b % (len(pods) - 1)) % len(pods)]
    if kind == "reserved_cidr":
        base = ["0.0.0.0", "127.0.0.0", "169.254.0.0", "224.0.0.0"][n % 4]
        lock["workloads"][w1]["cidr"] = f"{base}/20"
        return f"workloads.{w1}.cidr"
    if kind == "overlapping_vpcs":
        lock["workloads"][w2]["cidr"] = lock["workloads"][w1]["cidr"]
        return "workloads."
    if kind == "shared_tunnel":
        lock["pods"][p2]["tunnel_inside_cidrs"][b % 2] = lock["pods"][p1]["tunnel_inside_cidrs"][a % 2]
        return "tunnel_inside_cidrs"
    if kind == "tunnel_outside":
        lock["pods"][p1]["tunnel_inside_cidrs"][b % 2] = f"10.{n % 256}.0.0/30"
        return f"pods.{p1}.tunnel_inside_cidrs[{b % 2}]"
    if kind == "tunnel_reserved":
        lock["pods"][p1]["tunnel_inside_cidrs"][b % 2] = f"169.254.{n % 6}.0/30"
        return f"pods.{p1}.tunnel_inside_cidrs[{b % 2}]"
    if kind == "public_asn":
        role = sorted(lock["asn"])[a % 3]
        lock["asn"][role] = 1 + n % 64000
        return f"asn.{role}"
    if kind == "duplicate_attachment":
        az1 = sorted(lock["workloads"][w1]["subnets"])[0]
        az2 = sorted(lock["workloads"][w2]["subnets"])[0]
        lock["workloads"][w2]["subnets"][az2]["attachment"] = lock["workloads"][w1]["subnets"][az1][
            "attachment"
        ]
        return f"workloads.{w2}.subnets.{az2}.attachment"
    if kind == "negative_index":
        lock["pods"][p1]["index"] = -1 - n % 100
        return f"pods.{p1}.index"
    if kind == "subnet_prefix":
        lock["workloads"][w1]["subnet_prefix"] = 29 + n % 3
        return f"workloads.{w1}.subnet_prefix"
    raise AssertionError(kind)


KINDS = [
    "reserved_cidr",
    "overlapping_vpcs",
    "shared_tunnel",
    "tunnel_outside",
    "tunnel_reserved",
    "public_asn",
    "duplicate_attachment",
    "negative_index",
    "subnet_prefix",
]


@PROFILE
@given(st.sampled_from(KINDS), st.integers(0, 50), st.integers(0, 50), st.integers(0, 10_000))
def test_corrupted_lock_is_refused_and_never_rewritten(base: Path, kind: str, a: int, b: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        shutil.copytree(base, out, symlinks=True)
        lock = json.loads((out / LOCK).read_text())
        where = _corrupt(lock, kind, a, b, n)
        (out / LOCK).write_text(json.dumps(lock, indent=2))
        before = _snapshot(out)
        r = _generate(out, "--json")
        assert r.exit_code == 1, r.output
        errors = json.loads(r.stdout)["errors"]
        assert errors and all(e["file"] == str(out / LOCK) for e in errors), errors
        assert any(where in e["column"] for e in errors), (where, errors)
        assert all(e["line"] > 0 for e in errors), errors  # each at its key's line
        assert _snapshot(out) == before
