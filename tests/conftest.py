"""Shared fixtures: the moto sandbox account (or a real AWS sandbox on request) and tofu roots.

MICROSEG_REAL_AWS=1 runs the apply tests against the account of the standard AWS environment or
profile instead of moto; without it they run against a moto server started here on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tfharness import REAL_AWS, REGION, REPO, Sandbox, TfRoot, free_port, moto_env


@dataclass
class MotoServer:
    endpoint: str
    proc: subprocess.Popen[bytes]
    # How many times the account was wiped: a fixture that shares what it applied across modules
    # (tests/vmlab/conftest.py) knows whether it is still there.
    resets: int = 0

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()
        self.resets += 1


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "motoserver.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start (see {log.name})") from None
            time.sleep(0.2)
    yield MotoServer(endpoint, proc)
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def aws_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """A clean moto account for this test (moto is reset first); env for tofu and boto3."""
    server: MotoServer = request.getfixturevalue("moto_server")
    server.reset()
    return moto_env(server.endpoint)


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """The apply-test target. Real AWS only when MICROSEG_REAL_AWS=1; otherwise a reset moto."""
    if REAL_AWS:
        session = boto3.Session()
        if session.get_credentials() is None:
            pytest.fail("MICROSEG_REAL_AWS=1 but no AWS credentials in the environment/profile")
        return Sandbox({"AWS_REGION": session.region_name or REGION}, real=True)
    return Sandbox(request.getfixturevalue("aws_env"), real=False)


@pytest.fixture
def tfroot(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Factory: tfroot("examples/workload-vpc", env[, cli]) -> TfRoot in a private copy."""

    def make(rel: str, env: dict[str, str] | None = None, cli: str = "tofu") -> TfRoot:
        return TfRoot(REPO / rel, tmp_path / f"{cli}_{rel.replace('/', '_')}", env or {}, cli)

    return make


def pytest_report_header(config: pytest.Config) -> list[str]:
    from motoserver import EMULATOR_FIXES

    target = "real AWS (MICROSEG_REAL_AWS=1)" if REAL_AWS else "moto on 127.0.0.1"
    return [f"apply target: {target}"] + [f"moto fidelity fix {k}: {v}" for k, v in EMULATOR_FIXES.items()]


# The files that take minutes (the CI log's slowest durations: apply, re-plan and destroy on moto,
# mostly waiting on the provider's waiters). They start first: with `--dist loadfile` a file runs
# on one worker, and one started last kept the others idle for minutes at the end of the tier.
LONGEST_FIRST = (
    "tests/complete/test_complete_apply.py",
    "tests/modules/test_pod.py",
    "tests/stacks/test_stacks_apply.py",
)


# The VM lab's modules share what they can (tests/vmlab/conftest.py): the two that boot examples/pod's
# instances use one apply (the peer fabric resets moto after them), and the last two one VM.
VMLAB_ORDER = (
    "tests/vmlab/test_audit_trail.py",
    "tests/vmlab/test_pod_boot.py",
    "tests/vmlab/test_connect.py",
    "tests/vmlab/test_peer.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tier order: fast unit tests first, then static, plan, apply, lab (fail fast on cheap tiers),
    # except the longest files, which go first (sort is stable: a file keeps its own order).
    order = {"static": 1, "plan": 2, "apply": 3, "lab": 4, "vmlab": 5}

    def key(it: pytest.Item) -> tuple[int, int, int]:
        path = it.nodeid.split("::", 1)[0]
        first = LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)
        tier = max((order.get(m.name, 0) for m in it.iter_markers()), default=0)
        return first, tier, VMLAB_ORDER.index(path) if path in VMLAB_ORDER else 0

    items.sort(key=key)
