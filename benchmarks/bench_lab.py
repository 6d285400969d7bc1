"""Data-plane numbers from the network-namespace lab (root): ECMP balance, failover, QoS accuracy.

    python benchmarks/bench_lab.py [--flows 192] [--seconds 5]

Builds the lab of tests/lab (the rendered pod configs from the fixture tfvars; the health agents run
with the rendered local-check cadence: every 2 s, 2 failures), then prints
  ecmp_balance_max_min         max/min flows per pod over --flows new TCP flows (1.0 = perfect)
  reply_tunnel_share           per pod, the share of those flows whose replies left on tunnel 1 / 2
  fw_fault_withdraw_seconds    a pod's fw stops forwarding (still answers ping) -> its next hops gone
                               from the TGW's ECMP route (the agent's local check, default intervals)
  fw_dead_withdraw_seconds     a pod's fw drops every packet (dead) -> withdrawn (same)
  fw_fault_rejoin_seconds      the fw forwards again -> back in the ECMP route
  record_failover_seconds      the health record says unhealthy -> withdrawn (lab polls it every 0.5 s)
  qos_<dir>_mbps               per pod, two flows (replies on tunnel 1 and on tunnel 2) of one workload
  qos_accuracy_percent         100 - mean |measured - QoS| / QoS over every pod and both directions
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lab import netlab

QOS_PORTS = [5201, 5202, 5203, 5204, 5205, 5206]


def fault(lab: netlab.Lab, pod: str, argv: list[str], undo: list[str]) -> tuple[float, float]:
    """(seconds until withdrawn, seconds until back) for a fault made with `argv` in the pod's fw."""
    fw = lab.pods[pod].fw
    netlab.sh(*argv, ns=fw)
    try:
        took = lab.wait_for("withdrawal", lambda: pod not in lab.pods_in_ecmp(), 60, interval=0.02)
    finally:
        netlab.sh(*undo, ns=fw)
    back = lab.wait_for("rejoin", lambda: pod in lab.pods_in_ecmp(), 60, interval=0.02)
    lab.wait_converged(len(lab.pods))
    return took, back


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--flows", type=int, default=192)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    lab = netlab.Lab(netlab.podconfig.load_tfvars(), Path(tempfile.mkdtemp(prefix="microseg-bench-")))
    try:
        lab.build()
        converge = lab.wait_converged(len(lab.pods))
        lab.serve(lab.workloads["payments"].ns, "0.0.0.0", [443])
        where = lab.pod_by_address()
        lab.reset_observed()
        res = lab.connect("orders", lab.workloads["payments"].ip, 443, args.flows)
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
        dead_s, _ = fault(
            lab,
            victim,
            [
                "nft",
                "add table ip dead; "
                "add chain ip dead c { type filter hook prerouting priority -500; policy drop; }",
            ],
            ["nft", "delete", "table", "ip", "dead"],
        )
        lab.set_health(victim, False)
        record_s = lab.wait_for("withdrawal", lambda: victim not in lab.pods_in_ecmp(), 60, interval=0.02)
        lab.set_health(victim, True)
        lab.wait_converged(len(lab.pods))

        rate = lab.tfvars["workloads"]["orders"]["qos_mbps_per_pod"]
        pinned = lab.pin_flows("orders", netlab.INTERNET_SERVER, QOS_PORTS)
        qos = {
            d: lab.iperf(pinned, seconds=args.seconds, reverse=d == "receive") for d in ("send", "receive")
        }
        errors = [abs(m - rate) / rate for d in qos.values() for m in d.values()]
        accuracy = 100 - 100 * sum(errors) / len(errors)

        print(f"bgp_convergence_seconds {converge:.2f}")
        print(f"ecmp_flows_per_pod {json.dumps(dict(sorted(share.items())))}")
        print(f"ecmp_balance_max_min {balance:.2f}")
        print(f"reply_tunnel_share {json.dumps(tunnels)}")
        print(f"fw_fault_withdraw_seconds {fault_s:.2f}")
        print(f"fw_dead_withdraw_seconds {dead_s:.2f}")
        print(f"fw_fault_rejoin_seconds {rejoin_s:.2f}")
        print(f"record_failover_seconds {record_s:.2f}")
        print(f"qos_target_mbps {rate:.1f}")
        print(f"qos_flows_pinned {len(pinned)} (pod x reply tunnel)")
        for d, m in qos.items():
            print(f"qos_{d}_mbps {json.dumps({k: round(v, 1) for k, v in sorted(m.items())})}")
        print(f"qos_accuracy_percent {accuracy:.1f}")
        return 0
    finally:
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
