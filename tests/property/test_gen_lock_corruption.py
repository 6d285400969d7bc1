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


@pytest.fixture(scope="module")
def base_connect(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("lock-connect")
    toml = d / "microseg.toml"
    text = (EX / "microseg.toml").read_text().replace('transport = "vpn"', 'transport = "connect"')
    toml.write_text(text.replace('tunnel_bandwidth = "standard"', "connect_peers = 2"))
    r = runner.invoke(
        app,
        [
            "generate",
            str(EX / "inventory.csv"),
            "--flows",
            str(EX / "flows.csv"),
            "--settings",
            str(toml),
            "--out",
            str(d / "out"),
        ],
    )
    assert r.exit_code == 0, r.output
    return d


def _corrupt_connect(lock: dict[str, Any], kind: str, a: int, b: int, n: int) -> str:
    """One corruption of the Connect keys of a lock; returns the key path the error must name."""
    pods = sorted(lock["pods"])
    p1, p2 = pods[a % len(pods)], pods[(a + 1 + b % (len(pods) - 1)) % len(pods)]
    i = b % 2
    peer = lock["pods"][p1]["connect_peers"][i]
    where = f"pods.{p1}.connect_peers[{i}]"
    if kind == "inside_reserved":
        peer["inside_cidr"] = ["169.254.169.248/29", *(f"169.254.{k}.0/29" for k in range(6))][n % 7]
        return f"{where}.inside_cidr"
    if kind == "inside_not_29":
        peer["inside_cidr"] = f"169.254.{100 + n % 100}.0/{28 if n % 2 else 30}"
        return f"{where}.inside_cidr"
    if kind == "inside_outside_link_local":
        peer["inside_cidr"] = f"10.{n % 256}.0.0/29"
        return f"{where}.inside_cidr"
    if kind == "inside_shared":
        lock["pods"][p2]["connect_peers"][(a + 1) % 2]["inside_cidr"] = peer["inside_cidr"]
        return ".inside_cidr"
    if kind == "tgw_outside_block":
        peer["transit_gateway_address"] = f"10.{n % 256}.9.9"
        return f"{where}.transit_gateway_address"
    if kind == "tgw_block_edge":
        peer["transit_gateway_address"] = ["100.127.255.0", "100.127.255.255"][n % 2]
        return f"{where}.transit_gateway_address"
    if kind == "tgw_shared":
        other = lock["pods"][p2]["connect_peers"][(a + 1) % 2]
        other["transit_gateway_address"] = peer["transit_gateway_address"]
        return ".transit_gateway_address"
    if kind == "gre_outside_core":
        lock["pods"][p1]["connect_address"] = f"192.168.{n % 256}.1"
        return f"pods.{p1}.connect_address"
    if kind == "gre_shared":
        lock["pods"][p2]["connect_address"] = lock["pods"][p1]["connect_address"]
        return ".connect_address"
    if kind == "gre_on_a_fw_address":
        # The example's core: 10.0.0.0/20 over 3 AZs, internal /24s at 10.0.<AZ slot>.0.
        slot = "abc".index(lock["pods"][p1]["az"][-1])
        lock["pods"][p1]["connect_address"] = f"10.0.{slot}.{11 + n % 128}"
        return f"pods.{p1}.connect_address"
    if kind == "gre_in_another_az":
        slot = ("abc".index(lock["pods"][p1]["az"][-1]) + 1 + n % 2) % 3
        lock["pods"][p1]["connect_address"] = f"10.0.{slot}.200"
        return f"pods.{p1}.connect_address"
    if kind == "block_reserved":
        lock["connect_cidr_block"] = ["169.254.0.0/24", "127.0.0.0/24", "224.0.0.0/24"][n % 3]
        return "connect_cidr_block"
    if kind == "block_overlaps_a_workload":
        name = sorted(lock["workloads"])[a % len(lock["workloads"])]
        lock["connect_cidr_block"] = lock["workloads"][name]["cidr"].split("/")[0] + "/24"
        # Reported on whichever of the two the overlap sweep meets second (the narrower one).
        return f"connect_cidr_block|workloads.{name}.cidr"
    if kind == "too_many_peers":
        # Each peer valid and unused on its own: only their number is wrong.
        lock["pods"][p1]["connect_peers"] = [
            {"inside_cidr": f"169.254.200.{8 * k}/29", "transit_gateway_address": f"100.127.255.{200 + k}"}
            for k in range(5 + n % 3)
        ]
        return f"pods.{p1}.connect_peers"
    if kind == "peer_shape":
        lock["pods"][p1]["connect_peers"][i] = {"inside_cidr": peer["inside_cidr"]}
        return f"pods.{p1}.connect_peers"
    raise AssertionError(kind)


CONNECT_KINDS = [
    "inside_reserved",
    "inside_not_29",
    "inside_outside_link_local",
    "inside_shared",
    "tgw_outside_block",
    "tgw_block_edge",
    "tgw_shared",
    "gre_outside_core",
    "gre_shared",
    "gre_on_a_fw_address",
    "gre_in_another_az",
    "block_reserved",
    "block_overlaps_a_workload",
    "too_many_peers",
    "peer_shape",
]


# Every kind runs (a sampled kind can go unsampled in a run); hypothesis picks the pods and values.
@pytest.mark.parametrize("kind", CONNECT_KINDS)
@settings(PROFILE, max_examples=8)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 10_000))
def test_corrupted_connect_lock_is_refused(base_connect: Path, kind: str, a: int, b: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(base_connect, Path(tmp) / "d", symlinks=True)
        out = Path(tmp) / "d" / "out"
        lock = json.loads((out / LOCK).read_text())
        wheres = _corrupt_connect(lock, kind, a, b, n).split("|")
        (out / LOCK).write_text(json.dumps(lock, indent=2))
        before = _snapshot(out)
        r = runner.invoke(
            app,
            [
                "generate",
                str(EX / "inventory.csv"),
                "--flows",
                str(EX / "flows.csv"),
                "--settings",
                str(Path(tmp) / "d" / "microseg.toml"),
                "--out",
                str(out),
                "--json",
            ],
        )
        assert r.exit_code == 1, r.output
        errors = json.loads(r.stdout)["errors"]
        assert errors and all(e["file"] == str(out / LOCK) for e in errors), errors
        assert any(w in e["column"] for e in errors for w in wheres), (wheres, errors)
        assert all(e["line"] > 0 for e in errors), errors
        assert _snapshot(out) == before


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
