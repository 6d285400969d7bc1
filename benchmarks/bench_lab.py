"""Data-plane numbers per transport from the lab (root): ECMP balance, failover, QoS, a dead vpn.

    python benchmarks/bench_lab.py [--transport vpn,connect] [--flows 192] [--seconds 5]

One run measures each transport with the same code (tests/lab/netlab.py, the rendered pod configs of
the lab fleet, tests/appliance/fixtures: 3 pods) and prints them side by side:
- vpn: the network-namespace lab on this machine's kernel (a veth stands for each IPsec tunnel);
- connect (`[pods] transport = "connect"`, 2 Connect peers): GRE needs a kernel this machine lacks,
  so the same lab runs inside one VM of the pod image on the stock Debian kernel (tests/vmlab/vm.py;
  the image from scripts/vmimage.sh). Under TCG (software emulation) its figures are emulated.
The health agents run with the rendered local-check cadence (every 2 s, 2 failures), the TGW side
with AWS's BGP timers (keepalive 10 s, hold 30 s).

  ecmp_balance_max_min         max/min flows per pod over --flows new TCP flows (1.0 = perfect)
  reply_tunnel_share           per pod, the share of those flows whose replies left on tunnel 1 / 2
  fw_fault_withdraw_seconds    a pod's fw stops forwarding (still answers ping) -> its next hops gone
                               from the TGW's ECMP route (the agent's local check, default intervals)
  fw_dead_withdraw_seconds     a pod's fw drops every packet (dead) -> withdrawn (same)
  fw_fault_rejoin_seconds      the fw forwards again -> back in the ECMP route
  record_failover_seconds      the health record says unhealthy -> withdrawn (lab polls it every 0.5 s)
  vpn_dead_withdraw_seconds    a pod's vpn drops every packet (a dead instance: no BGP withdrawal can
                               leave it) -> withdrawn by the TGW's hold timer (30 s: the floor, no BFD)
  qos_<dir>_mbps               per pod, orders <-> the internet through the pod (one flow per reply
                               tunnel found), what the pod's shaping lets through in that direction
  qos_percent_of_target        per pod and direction, measured / orders' per-pod QoS rate
  qos_<dir>_one_pod_at_a_time  the same flows, one pod at a time (the pod's shaping alone, not the CPU
                               of the one machine that carries the whole fleet)
The lab runs at a scale: its fleet is sized for pods of `[pods] capacity_mbps` = 100 Mbit/s
(tests/appliance/fixtures/microseg.toml) where the transport carries capacity_transport_mbps (the
generator's derivation: vpn 2 x 1,250, connect 2 peers x 5,000); lab_scale = 100 / that, and
qos_target_full_scale_mbps is what orders' per-pod rate stands for on AWS.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "vmlab")]
from lab import netlab  # noqa: E402

QOS_PORTS = [5201, 5202, 5203, 5204, 5205, 5206]
SETTINGS = REPO / "tests" / "appliance" / "fixtures" / "microseg.toml"
GUEST_REPO, GUEST_RUN = "/mnt/repo", "/mnt/run"
DEAD = (
    "add table ip dead; add chain ip dead pre { type filter hook prerouting priority -500; policy drop; }; "
)
DEAD += "add chain ip dead out { type filter hook output priority -500; policy drop; }"


def fault(
    lab: netlab.Lab, pod: str, argv: list[str], undo: list[str], role: str = "fw"
) -> tuple[float, float]:
    """(seconds until withdrawn, seconds until back) for a fault made with `argv` in the pod's fw
    (or vpn)."""
    ns = getattr(lab.pods[pod], role)
    netlab.sh(*argv, ns=ns)
    try:
        took = lab.wait_for("withdrawal", lambda: pod not in lab.pods_in_ecmp(), 120, interval=0.02)
    finally:
        netlab.sh(*undo, ns=ns)
    back = lab.wait_for("rejoin", lambda: pod in lab.pods_in_ecmp(), 180, interval=0.02)
    lab.wait_converged(len(lab.pods), timeout=180)
    return took, back


def measure(lab: netlab.Lab, flows: int, seconds: int) -> dict[str, Any]:
    """Builds the lab and takes every figure; the lab is closed by the caller."""
    lab.build()
    converge = lab.wait_converged(len(lab.pods), timeout=300)
    lab.serve(lab.workloads["payments"].ns, "0.0.0.0", [443])
    where = lab.pod_by_address()
    lab.reset_observed()
    res = lab.connect("orders", lab.workloads["payments"].ip, 443, flows)
    carried = {int(r["sport"]): where.get(str(r["peer"]), "failed") for r in res}
    share = Counter(carried.values())
    balance = (
        max(share.values()) / min(share[p] for p in lab.pods)
        if all(share[p] for p in lab.pods)
        else float("inf")
    )
    src = lab.workloads["orders"].ip
    tunnels = {}
    for pod in lab.pods:
        seen = lab.observed(pod)
        mine = {(src, port) for port, p in carried.items() if p == pod}
        n = {t: len(mine & seen[t]) for t in ("tgw1", "tgw2")}
        tunnels[pod] = f"{n['tgw1']}/{n['tgw2']}"

    victim = sorted(lab.pods)[1]
    fault_s, rejoin_s = fault(
        lab,
        victim,
        ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"],
        ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
    )
    # A dead fw: nothing in or out (a table dropping every packet first; taking the NIC down
    # instead would also delete its routes, which `ip link set up` does not bring back).
    dead_s, _ = fault(lab, victim, ["nft", DEAD], ["nft", "delete", "table", "ip", "dead"])
    lab.set_health(victim, False)
    record_s = lab.wait_for("withdrawal", lambda: victim not in lab.pods_in_ecmp(), 60, interval=0.02)
    lab.set_health(victim, True)
    lab.wait_converged(len(lab.pods), timeout=180)
    # A dead vpn: its BGP sessions go silent, so only the TGW's hold timer can withdraw it.
    vpn_dead_s, vpn_back_s = fault(
        lab, victim, ["nft", DEAD], ["nft", "delete", "table", "ip", "dead"], "vpn"
    )

    rate = lab.tfvars["workloads"]["orders"]["qos_mbps_per_pod"]
    pinned = lab.pin_flows("orders", netlab.INTERNET_SERVER, QOS_PORTS)
    qos = {d: lab.iperf(pinned, seconds=seconds, reverse=d == "receive") for d in ("send", "receive")}
    # Each pod on its own: where all pods at once fall short of the rate, this tells the pod's shaping
    # from the CPU of the machine that runs the whole fleet (an emulated one, for connect).
    alone = {
        d: {
            pod: lab.iperf({k: v for k, v in pinned.items() if k[0] == pod}, seconds, d == "receive")[pod]
            for pod in sorted({k[0] for k in pinned})
        }
        for d in ("send", "receive")
    }
    errors = [abs(m - rate) / rate for d in qos.values() for m in d.values()]
    return {
        "bgp_convergence_seconds": round(converge, 2),
        "ecmp_flows_per_pod": dict(sorted(share.items())),
        "ecmp_balance_max_min": round(balance, 2),
        "reply_tunnel_share": tunnels,
        "fw_fault_withdraw_seconds": round(fault_s, 2),
        "fw_dead_withdraw_seconds": round(dead_s, 2),
        "fw_fault_rejoin_seconds": round(rejoin_s, 2),
        "record_failover_seconds": round(record_s, 2),
        "vpn_dead_withdraw_seconds": round(vpn_dead_s, 2),
        "vpn_dead_rejoin_seconds": round(vpn_back_s, 2),
        "qos_target_mbps": rate,
        "qos_flows_pinned": f"{len(pinned)} (pod x reply tunnel)",
        **{f"qos_{d}_mbps": {k: round(v, 1) for k, v in sorted(m.items())} for d, m in qos.items()},
        "qos_percent_of_target": {
            d: {k: round(100 * v / rate) for k, v in sorted(m.items())} for d, m in qos.items()
        },
        **{
            f"qos_{d}_one_pod_at_a_time_mbps": {k: round(v, 1) for k, v in m.items()}
            for d, m in alone.items()
        },
        "qos_accuracy_percent": round(100 - 100 * sum(errors) / len(errors), 1),
    }


def run_here(tfvars: dict[str, Any], rendered: dict[str, dict[str, str]] | None, args: Any) -> dict[str, Any]:
    lab = netlab.Lab(tfvars, Path(tempfile.mkdtemp(prefix="microseg-bench-")), rendered=rendered)
    try:
        return measure(lab, args.flows, args.seconds)
    finally:
        lab.close()


def run_in_vm(tfvars: dict[str, Any], args: Any) -> dict[str, Any]:
    """The same measurement inside one VM of the pod image (stock Debian kernel: GRE, ifb). The configs
    are rendered here (the guest has no tofu) and handed over with the tfvars on a read-only share."""
    from vm import VM, Image, accel, seed_iso

    work = Path(tempfile.mkdtemp(prefix="microseg-bench-vm-"))
    (work / "run").mkdir()
    rendered = netlab.podconfig.render(tfvars, work / "render")
    job = {"tfvars": tfvars, "rendered": rendered, "flows": args.flows, "seconds": args.seconds}
    (work / "run" / "job.json").write_text(json.dumps(job))
    image = Image.current()
    seed = seed_iso(work / "seed.iso", "i-lab-bench", b"#cloud-config\n{}\n")
    mode = accel(image, work)
    machine = VM(
        "bench",
        image,
        work,
        accel=mode,
        memory_mb=1536,
        cpus=2,
        seed=seed,
        shares=[(REPO, "repo"), (work / "run", "run")],
    )
    try:
        t = time.monotonic()
        machine.start()
        machine.wait_agent(timeout=900)
        boot = time.monotonic() - t
        machine.mount_shares()
        cmd = f"python3 {GUEST_REPO}/benchmarks/bench_lab.py --guest {GUEST_RUN}/job.json"
        run = machine.sh(
            f"cd /tmp && {cmd} 2>/tmp/bench.err; rc=$?; tail -n 40 /tmp/bench.err >&2; exit $rc", 3600
        )
        out = json.loads(run.stdout.strip().splitlines()[-1])
        return {"where": f"VM, stock Debian kernel, {mode.upper()}, booted in {boot:.0f} s", **out}
    finally:
        machine.stop()


def transport_capacity(tfvars: dict[str, Any]) -> float:
    """What one pod's transport carries, as the generator derives it (microseg.model)."""
    sys.path.insert(0, str(REPO / "generator"))
    from microseg.model import Settings

    t = netlab.podconfig.transport(tfvars)
    s = Settings(
        transport=t["type"],
        tunnel_bandwidth=t.get("tunnel_bandwidth") or ("standard" if t["type"] == "vpn" else None),
        connect_peers=t.get("connect_peers"),
    )
    return float(s.transport_mbps)


def print_table(results: dict[str, dict[str, Any]]) -> None:
    keys: list[str] = []
    for r in results.values():
        keys += [k for k in r if k not in keys]
    names = list(results)
    print(f"{'':<36}  " + "  ".join(f"{n:<40}" for n in names))
    for k in keys:
        cells = []
        for n in names:
            v = results[n].get(k, "")
            cells.append(f"{v if isinstance(v, str | int | float) else json.dumps(v):<40}")
        print(f"{k:<36}  " + "  ".join(cells), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--transport", default="vpn,connect", help="comma-separated: vpn, connect")
    ap.add_argument("--flows", type=int, default=192)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--guest", type=Path, help=argparse.SUPPRESS)  # inside the VM: the job file
    args = ap.parse_args()
    if args.guest:
        job = json.loads(args.guest.read_text())
        args.flows, args.seconds = job["flows"], job["seconds"]
        print(json.dumps(run_here(job["tfvars"], job["rendered"], args)))
        return 0
    lab_capacity = float(tomllib.loads(SETTINGS.read_text())["pods"]["capacity_mbps"])
    results: dict[str, dict[str, Any]] = {}
    for transport in args.transport.split(","):
        tfvars = netlab.podconfig.load_tfvars(transport=transport)
        capacity = transport_capacity(tfvars)
        scale = lab_capacity / capacity
        head = {
            "capacity_transport_mbps": capacity,
            "capacity_lab_mbps": lab_capacity,
            "lab_scale": f"1:{1 / scale:,.0f}",
        }
        t = time.monotonic()
        out = (
            run_in_vm(tfvars, args)
            if transport == "connect"
            else {"where": "netns, host kernel", **run_here(tfvars, None, args)}
        )
        out["qos_target_full_scale_mbps"] = round(out["qos_target_mbps"] / scale, 1)
        out["run_seconds"] = round(time.monotonic() - t)
        results[transport] = {**head, **out}
        print(f"{transport}: " + shlex.quote(json.dumps(results[transport])), file=sys.stderr, flush=True)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
