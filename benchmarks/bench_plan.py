#!/usr/bin/env python3
"""Plan time of examples/complete for 10, 50 and 100 workloads against a local moto server.

Each inventory is synthetic but goes through the real generator (`microseg generate`), so the pod
count follows the promised bandwidth as in production. The 100/10 ratio should stay <= 10: the
root's work must grow about linearly with the workloads, not with their square.

    python benchmarks/bench_plan.py [--sizes 10 50 100] [--keep DIR]

Run it with the project's toolchain on PATH (`source scripts/lib.sh && toolchain_env`).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from tfharness import TfRoot  # noqa: E402

SETTINGS = """\
name = "bench"
region = "us-east-1"

[instance_types]
vpn = "c6in.large"
fw = "c6in.xlarge"
nat = "t3.small"
"""
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
MAX_RATIO = 10.0


def write_inventory(path: Path, n: int) -> None:
    """n workloads of 200 Mbps in /24s over 2 AZs; every third one may reach the internet."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["name", "bandwidth_mbps", "prefix_length", "azs", "internet_egress", "owner", "cost_center"]
        )
        for i in range(1, n + 1):
            w.writerow(
                [f"wl-{i:03d}", 200, 24, 2, "true" if i % 3 == 0 else "false", f"team-{i % 7}", f"cc-{i % 5}"]
            )


def write_flows(path: Path, n: int) -> None:
    """A chain of approved flows (each workload talks to the next) plus internet for every third."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "destination", "protocol", "ports", "reference"])
        for i in range(1, n):
            w.writerow([f"wl-{i:03d}", f"wl-{i + 1:03d}", "tcp", "443", f"CHG-{i:04d}"])
        for i in range(3, n + 1, 3):
            w.writerow([f"wl-{i:03d}", "internet", "tcp", "443", f"CHG-9{i:03d}"])


class Moto:
    """A moto server on a free local port (the same emulator the test suite uses)."""

    def __init__(self, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start (see {log})") from None
                time.sleep(0.2)

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_PROFILE": "",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._log.close()


def moto_ami(endpoint: str) -> str:
    import boto3

    ssm = boto3.client(
        "ssm",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return ssm.get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]


def microseg() -> str:
    script = Path(sys.executable).parent / "microseg"
    return str(script) if script.exists() else (shutil.which("microseg") or "microseg")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="microseg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "microseg.toml").write_text(SETTINGS)
    zip_path = work / "pod-health.zip"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_lambda.py"), "--out", str(zip_path)],
        check=True,
        capture_output=True,
    )

    moto = Moto(work / "moto.log")
    try:
        root = TfRoot(REPO / "examples" / "complete", work / "root", moto.env())
        root.init()
        extra = {"ami_id": moto_ami(moto.endpoint), "lambda_zip_path": str(zip_path)}
        times: dict[int, float] = {}
        for n in args.sizes:
            gen = work / f"gen-{n}"
            write_inventory(work / f"inventory-{n}.csv", n)
            write_flows(work / f"flows-{n}.csv", n)
            subprocess.run(
                [
                    microseg(),
                    "generate",
                    str(work / f"inventory-{n}.csv"),
                    "--flows",
                    str(work / f"flows-{n}.csv"),
                    "--settings",
                    str(work / "microseg.toml"),
                    "--out",
                    str(gen),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            tfvars = json.loads((gen / "microseg.auto.tfvars.json").read_text())
            var_args = root._var_args(extra, (gen / "microseg.auto.tfvars.json",))
            start = time.perf_counter()
            root.run(
                "plan",
                "-no-color",
                "-input=false",
                "-refresh=false",
                f"-out={work / f'plan-{n}.tfplan'}",
                *var_args,
            )
            times[n] = time.perf_counter() - start
            show = json.loads(root.run("show", "-json", str(work / f"plan-{n}.tfplan")).stdout)
            resources = sum(1 for rc in show["resource_changes"] if rc["mode"] == "managed")
            print(
                f"{n:4d} workloads, {len(tfvars['pods']):2d} pods, {resources:5d} resources: "
                f"plan {times[n]:7.1f} s",
                flush=True,
            )
    finally:
        moto.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    lo, hi = min(times), max(times)
    ratio = times[hi] / times[lo]
    verdict = "ok" if ratio <= MAX_RATIO else f"TOO SLOW (> {MAX_RATIO:g})"
    print(f"ratio {hi}/{lo} workloads: {ratio:.2f} ({verdict})")
    return 0 if ratio <= MAX_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
