#!/usr/bin/env python3
"""Plan time of examples/complete for 10, 50 and 100 workloads against a local moto server, and of
the stacks (`--stacks`): one account's 10-workload stacks/workloads while the whole network has 10
vs 500 workloads, and stacks/network at 10 / 100 / 500 workloads.

Each inventory is synthetic but goes through the real generator (`microseg generate`), so the pod
count follows the promised bandwidth as in production. The 100/10 ratio should stay <= 10: the
root's work must grow about linearly with the workloads, not with their square. With `--stacks`,
an account's plan must not grow with the rest of the network: the 500/10 ratio of the account stack
should stay <= 1.5 (issue 10).

    python benchmarks/bench_plan.py [--sizes 10 50 100] [--keep DIR]
    python benchmarks/bench_plan.py --stacks [--network-sizes 10 100 500] [--keep DIR]

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
MAX_ACCOUNT_RATIO = 1.5
ACCOUNT_WORKLOADS = 10  # the account stack measured: its workloads have no account_id
OTHER_ACCOUNTS = 8  # the rest of the network is spread over these


def write_inventory(path: Path, n: int, bandwidth: int = 200, own: int | None = None) -> None:
    """n workloads of `bandwidth` Mbps in /24s over 2 AZs; every third one may reach the internet.
    `own`: the first `own` workloads are the network account's, the others spread over other accounts."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "name",
                "bandwidth_mbps",
                "prefix_length",
                "azs",
                "internet_egress",
                "owner",
                "cost_center",
                "account_id",
            ]
        )
        for i in range(1, n + 1):
            account = "" if own is None or i <= own else f"{100000000000 + i % OTHER_ACCOUNTS:012d}"
            w.writerow(
                [
                    f"wl-{i:03d}",
                    bandwidth,
                    24,
                    2,
                    "true" if i % 3 == 0 else "false",
                    f"team-{i % 7}",
                    f"cc-{i % 5}",
                    account,
                ]
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


def generate(work: Path, n: int, bandwidth: int = 200, own: int | None = None) -> Path:
    gen = work / f"gen-{n}"
    write_inventory(work / f"inventory-{n}.csv", n, bandwidth, own)
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
    return gen


def timed_plan(root: TfRoot, out: Path, var_args: list[str]) -> tuple[float, int]:
    """(seconds, managed resources) of one plan, refresh off, as the complete root is measured."""
    start = time.perf_counter()
    root.run("plan", "-no-color", "-input=false", "-refresh=false", f"-out={out}", *var_args)
    took = time.perf_counter() - start
    show = json.loads(root.run("show", "-json", str(out)).stdout)
    return took, sum(1 for rc in show["resource_changes"] if rc["mode"] == "managed")


def bench_stacks(work: Path, zip_path: Path, network_sizes: list[int]) -> int:
    """The account stack at 10 vs 500 network workloads, and the network stack at each size."""
    import boto3

    moto = Moto(work / "moto.log")
    try:
        env = moto.env()
        ec2 = boto3.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=moto.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        extra = {"ami_id": moto_ami(moto.endpoint), "lambda_zip_path": str(zip_path)}
        network = TfRoot(REPO / "stacks" / "network", work / "network", env)
        account = TfRoot(REPO / "stacks" / "workloads", work / "account", env)
        network.init()
        account.init()
        # What the network pipeline leaves for the account stack to find (by tags, ASN checked).
        tgw_asn = None
        account_times: dict[int, float] = {}
        network_times: dict[int, float] = {}
        for n in sorted(set(network_sizes) | {ACCOUNT_WORKLOADS, max(network_sizes)}):
            # 20 Mbps each keeps the fleet (and so the network stack's pods) the same size at every n.
            gen = generate(work, n, bandwidth=20, own=ACCOUNT_WORKLOADS)
            files = gen / "stacks"
            mine = json.loads((files / "workloads-network.auto.tfvars.json").read_text())
            assert len(mine["workloads"]) == ACCOUNT_WORKLOADS
            if tgw_asn is None:
                tgw_asn = mine["transit_gateway_asn"]
                tags = [{"Key": "Name", "Value": "bench"}, {"Key": "microseg:network", "Value": "bench"}]
                ec2.create_transit_gateway(
                    Options={"AmazonSideAsn": tgw_asn},
                    TagSpecifications=[{"ResourceType": "transit-gateway", "Tags": tags}],
                )
            if n in (ACCOUNT_WORKLOADS, max(network_sizes)):
                took, count = timed_plan(
                    account,
                    work / f"account-{n}.tfplan",
                    account._var_args(None, (files / "workloads-network.auto.tfvars.json",)),
                )
                account_times[n] = took
                print(
                    f"account stack ({ACCOUNT_WORKLOADS} workloads), network of {n:4d}: "
                    f"{count:4d} resources, plan {took:6.1f} s",
                    flush=True,
                )
            if n in network_sizes:
                took, count = timed_plan(
                    network,
                    work / f"network-{n}.tfplan",
                    network._var_args(extra, (files / "network.auto.tfvars.json",)),
                )
                network_times[n] = took
                print(
                    f"network stack, {n:4d} workloads: {count:4d} resources, plan {took:6.1f} s", flush=True
                )
    finally:
        moto.stop()
    lo, hi = ACCOUNT_WORKLOADS, max(network_sizes)
    ratio = account_times[hi] / account_times[lo]
    verdict = "ok" if ratio <= MAX_ACCOUNT_RATIO else f"TOO SLOW (> {MAX_ACCOUNT_RATIO:g})"
    print(f"account stack ratio, network of {hi}/{lo} workloads: {ratio:.2f} ({verdict})")
    small = min(network_times)
    for n in sorted(network_times):
        print(f"network stack ratio {n}/{small} workloads: {network_times[n] / network_times[small]:.2f}")
    return 0 if ratio <= MAX_ACCOUNT_RATIO else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--stacks", action="store_true", help="measure stacks/workloads and stacks/network")
    parser.add_argument("--network-sizes", type=int, nargs="+", default=[10, 100, 500])
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
    if args.stacks:
        try:
            return bench_stacks(work, zip_path, args.network_sizes)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)

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
