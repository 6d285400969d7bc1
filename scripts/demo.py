"""Driver for scripts/demo.sh: generate -> tofu apply on moto -> summary -> verify -> destroy."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from conftest import moto_env  # noqa: E402
from tfharness import TfRoot  # noqa: E402


def step(msg: str) -> None:
    print(f"\n\033[1;34m==> {msg}\033[0m", flush=True)


def start_moto(port: int, logfile: Path) -> subprocess.Popen[bytes]:
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests/motoserver.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=logfile.open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2)
            return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"moto did not start, see {logfile}")


def summary(env: dict[str, str]) -> None:
    import boto3

    kw = {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "region_name": env["AWS_REGION"],
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    ec2 = boto3.client("ec2", **kw)
    rows = [
        ("VPCs", len(ec2.describe_vpcs()["Vpcs"]) - 1),  # minus moto's default VPC
        ("subnets", sum(1 for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz"))),
        ("transit gateways", len(ec2.describe_transit_gateways()["TransitGateways"])),
        ("TGW attachments", len(ec2.describe_transit_gateway_attachments()["TransitGatewayAttachments"])),
        ("TGW route tables", len(ec2.describe_transit_gateway_route_tables()["TransitGatewayRouteTables"])),
        ("customer gateways", len(ec2.describe_customer_gateways()["CustomerGateways"])),
        ("VPN connections", len(ec2.describe_vpn_connections()["VpnConnections"])),
        ("instances", sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])),
        ("elastic IPs", len(ec2.describe_addresses()["Addresses"])),
    ]
    width = max(len(r[0]) for r in rows)
    for name, n in rows:
        print(f"  {name:<{width}}  {n}")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__,
        epilog="Arguments it does not know go to `microseg generate` (e.g. --accept-removals).",
    )
    ap.add_argument("--keep", action="store_true", help="leave moto and the state up at the end")
    ap.add_argument("--inventory", type=Path, help="your inventory.csv (default: examples/inventory.csv)")
    ap.add_argument(
        "--flows", type=Path, help="your flows.csv (default: the example's, unless --inventory is yours)"
    )
    ap.add_argument(
        "--settings",
        type=Path,
        help="your microseg.toml (default: the example's, unless --inventory is yours)",
    )
    args, passthrough = ap.parse_known_args()
    # The example flows name the example workloads: with the user's inventory they only fit by accident.
    example = args.inventory is None
    inventory = args.inventory or REPO / "examples/inventory.csv"
    flows = args.flows or (REPO / "examples/flows.csv" if example else None)
    settings = args.settings or (REPO / "examples/microseg.toml" if example else None)
    work = Path(tempfile.mkdtemp(prefix="microseg-demo-"))
    gen = work / "generated"

    step(f"microseg generate {inventory}")
    cmd = ["microseg", "generate", str(inventory), "--out", str(gen)]
    if flows is not None:
        cmd += ["--flows", str(flows)]
    if settings is not None:
        cmd += ["--settings", str(settings)]
    if subprocess.run([*cmd, *passthrough], check=False).returncode != 0:
        return 1
    report = json.loads((gen / "report.json").read_text())
    print(
        f"  {len(report['workloads'])} workloads, {report['pods']['total']} pods "
        f"({report['pods']['required']} required), ~${report['cost']['monthly_usd']:.0f}/month"
    )

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    step(f"moto sandbox account on 127.0.0.1:{port}")
    moto = start_moto(port, work / "moto.log")
    env = moto_env(f"http://127.0.0.1:{port}")
    root = TfRoot(REPO / "examples/complete", work / "tofu", env)
    # The same moto adaptations as tests/complete/test_complete_apply.py (reasons there): moto has
    # no RAM associations, so other-account workloads are built in the network account, and no
    # Debian AMI parameter, so the pods use moto's Amazon Linux AMI.
    generated = json.loads((gen / "microseg.auto.tfvars.json").read_text())
    moved = sorted(n for n, w in generated["workloads"].items() if w.get("account_id"))
    for name in moved:
        generated["workloads"][name]["account_id"] = None
    generated["ram_share_accounts"] = []
    (work / "demo.tfvars.json").write_text(json.dumps(generated, indent=2))
    if moved:
        print(f"  moto: workloads of other accounts built in the network account: {', '.join(moved)}")
    zip_path = work / "pod-health.zip"
    subprocess.run(
        [sys.executable, str(REPO / "scripts/build_lambda.py"), "--out", str(zip_path)], check=True
    )
    import boto3

    ssm = boto3.client(
        "ssm",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ami = ssm.get_parameter(Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
    extra = {"lambda_zip_path": str(zip_path), "ami_id": ami["Parameter"]["Value"]}
    tfvars = (work / "demo.tfvars.json",)
    rc = 0
    try:
        step("tofu init + apply examples/complete")
        t0 = time.monotonic()
        root.apply(extra, var_files=tfvars)
        count = len(root.run("state", "list").stdout.split())
        print(f"  applied {count} resources in {time.monotonic() - t0:.0f}s")
        step("what was built")
        summary(env)
        step("microseg verify: every workload path crosses a pod")
        rc = subprocess.run(
            [
                "microseg",
                "verify",
                "--region",
                env["AWS_REGION"],
                "--name",
                report.get("name", "microseg"),
                "--endpoint-url",
                env["AWS_ENDPOINT_URL"],
            ],
            env={k: v for k, v in {**__import__("os").environ, **env}.items() if v},
        ).returncode
        if args.keep:
            print(f"\nkept: moto on {env['AWS_ENDPOINT_URL']}, tofu root {root.dir}")
            return rc
        step("tofu destroy")
        root.destroy(extra, var_files=tfvars)
        print("  destroyed, state empty")
    finally:
        if not args.keep:
            moto.terminate()
    return rc


if __name__ == "__main__":
    sys.exit(main())
