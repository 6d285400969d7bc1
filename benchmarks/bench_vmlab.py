"""The VM lab's figures from one run: three pods and the AWS side in one VM (tests/vmlab/fabric.py).

    sudo -E python benchmarks/bench_vmlab.py [--flows 240] [--no-reboot]
    (inside scripts/lib.sh's toolchain_env, like the VM lab; the image from scripts/vmimage.sh)

Prints: VM start -> every pod healthy in the TGW's ECMP set (first boot, and after a reboot of the
VM), IKE up, BGP established and ECMP convergence after the pods start, the ECMP spread of new flows
(max/min, goal <= 1.5), a broken fw -> withdrawal and repair -> rejoin with the modules' default
intervals (agent: record every 10 s, own check every 2 s, 2 failures; checks every 60 s), a dead vpn
(no packet in or out) -> withdrawal by the TGW's 30 s BGP hold timer and back -> rejoin, and ESP
throughput per pod (bytes through each pod's XFRM interfaces on the AWS side during one iperf3 run;
emulated CPU: a functional figure, not AWS's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "vmlab")]

import peer  # noqa: E402
from tfharness import free_port  # noqa: E402

SPREAD_GOAL = 1.5
WITHDRAW_GOAL = 10.0
HOLD_TIME = 30.0  # the TGW's BGP hold time: a dead vpn sends no withdrawal


def moto(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "motoserver.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=(workdir / "moto.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
            return proc, endpoint
        except OSError:
            time.sleep(0.5)
    raise SystemExit("moto did not start")


def throughput(fvm: peer.FabricVM, spec: dict, seconds: int) -> dict[str, float]:
    """Mbit/s through each pod: orders -> ledger tcp/443 (approved), 12 parallel streams spread by the
    TGW's ECMP, counted on the AWS side's XFRM interfaces of each pod."""
    assert fvm.vm is not None

    def tx() -> dict[str, int]:
        links = json.loads(fvm.vm.sh("ip -n tgw -j -s link show").stdout)
        return {ln["ifname"]: int(ln["stats64"]["tx"]["bytes"]) for ln in links if ln["ifname"][0] == "p"}

    # The ledger's probe server gives way to an iperf3 server on the approved port.
    fvm.vm.sh(
        "systemctl stop vmlab-serve-w-ledger;"
        " systemd-run --unit vmlab-iperf -- ip netns exec w-ledger iperf3 -s -p 443 -1"
    )
    time.sleep(3)
    before = tx()
    fvm.vm.sh(
        f"ip netns exec w-orders iperf3 -c 10.32.0.10 -p 443 -P 12 -t {seconds} -J > /dev/null",
        timeout=seconds + 120,
    )
    after = tx()
    out = {}
    for key, pod in spec["pods"].items():
        devs = [f"p{pod['index']}t{t['number']}" for t in pod["tunnels"]]
        out[key] = sum(after[d] - before[d] for d in devs) * 8 / seconds / 1e6
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=240)
    ap.add_argument("--no-reboot", action="store_true")
    ap.add_argument("--seconds", type=int, default=10)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-vmlab-"))
    proc, endpoint = moto(work)
    fvm = peer.FabricVM(work / "vm", "us-east-1", int(endpoint.rsplit(":", 1)[1]))
    rows = Rows()
    try:
        t = time.monotonic()
        tf = peer.apply_pods(endpoint, work / "tf", 3)
        spec = peer.spec_from_state(tf, "us-east-1")
        rows.append(("apply examples/pod, 3 pods, on moto", f"{time.monotonic() - t:.0f} s", ""))
        t0 = time.monotonic()
        fvm.start()
        rows.append(("VM start -> userspace, cloud-init done", f"{fvm.times['vm_boot_s']:.0f} s", "TCG"))
        up = fvm.up(spec)
        rows.append(("namespaces and links built", f"{up['build_s']:.0f} s", ""))
        rows.append(("pods started (rendered scripts, charon, FRR, agent)", f"{up['start_s']:.0f} s", ""))
        conv = fvm.fabric("converge", f"{peer.GUEST_RUN}/spec.json", "900", timeout=1000)
        rows.append(("after the start: every IKE + CHILD SA up", f"{conv['ike_s']:.1f} s", "6 tunnels"))
        rows.append(("after the start: every BGP session established", f"{conv['bgp_s']:.1f} s", ""))
        rows.append(
            ("after the start: every pod in ECMP", f"{conv['ecmp_s']:.1f} s", "checks every 60 s, rise 2")
        )
        rows.append(("VM start -> every pod healthy (first boot)", f"{time.monotonic() - t0:.0f} s", ""))
        results = fvm.fabric(
            "connect", f"{peer.GUEST_RUN}/spec.json", "orders", "payments", "443", str(args.flows)
        )
        share = Counter(r["pod"] for r in results)
        spread = (
            max(share.values()) / min(share.values())
            if None not in share and len(share) == 3
            else float("inf")
        )
        verdict = "ok" if spread <= SPREAD_GOAL else "FAIL"
        rows.append(
            (f"ECMP spread, {args.flows} new flows", f"{spread:.2f}", f"{dict(share)} goal <= 1.5 {verdict}")
        )
        broken = fvm.fabric("break-fw", f"{peer.GUEST_RUN}/spec.json", "pod-02", "180", timeout=300)
        verdict = "ok" if broken["seconds"] <= WITHDRAW_GOAL else "over (TCG)"
        rows.append(("broken fw -> pod withdrawn", f"{broken['seconds']:.1f} s", f"goal <= 10 s: {verdict}"))
        repaired = fvm.fabric("repair-fw", f"{peer.GUEST_RUN}/spec.json", "pod-02", "180", timeout=300)
        rows.append(
            ("repair -> pod back in ECMP", f"{repaired['first_back_s']:.1f} s", "agent's check rise 2")
        )
        rows.append(
            ("repair -> back, a check after it healthy", f"{repaired['seconds']:.1f} s", "checks every 60 s")
        )
        dead = fvm.fabric("kill-vpn", f"{peer.GUEST_RUN}/spec.json", "pod-03", "180", timeout=300)
        verdict = "ok" if dead["seconds"] <= HOLD_TIME else "over"
        rows.append(
            ("dead vpn -> pod withdrawn", f"{dead['seconds']:.1f} s", f"goal <= 30 s hold: {verdict}")
        )
        revived = fvm.fabric("revive-vpn", f"{peer.GUEST_RUN}/spec.json", "pod-03", "300", timeout=400)
        rows.append(("vpn back -> pod rejoined", f"{revived['seconds']:.1f} s", "BGP connect retry"))
        for pod, mbps in throughput(fvm, spec, args.seconds).items():
            rows.append((f"ESP throughput through {pod}", f"{mbps:.1f} Mbit/s", "emulated CPU"))
        if not args.no_reboot:
            assert fvm.vm is not None
            t = time.monotonic()
            fvm.vm.reboot(timeout=900)
            fvm.vm.mount_shares()
            fvm.up(spec)
            fvm.fabric("converge", f"{peer.GUEST_RUN}/spec.json", "900", timeout=1000)
            rows.append(("reboot -> every pod healthy again", f"{time.monotonic() - t:.0f} s", ""))
    finally:
        fvm.stop()
        proc.terminate()
    return 0


class Rows(list[tuple[str, str, str]]):
    """Printed as they come: a run of half an hour under TCG should show what it measured so far."""

    def append(self, row: tuple[str, str, str]) -> None:
        super().append(row)
        print(f"{row[0]:<52}  {row[1]:>14}  {row[2]}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
