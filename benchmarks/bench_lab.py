"""Data-plane numbers from the network-namespace lab (root): ECMP balance, failover time, QoS accuracy.

    python benchmarks/bench_lab.py [--flows 192] [--seconds 5]

Builds the lab of tests/lab (the rendered pod configs from the fixture tfvars), then prints
  ecmp_balance_max_min   max/min flows per pod over --flows new TCP flows (1.0 = perfect)
  failover_seconds       marking a pod unhealthy -> its next hops gone from the TGW's ECMP route
  restore_seconds        marking it healthy again -> back in the ECMP route
  qos_accuracy_percent   100 - mean |measured - QoS| / QoS over one pinned iperf3 flow per pod
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from lab import netlab


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
        res = lab.connect("orders", lab.workloads["payments"].ip, 443, args.flows)
        share = Counter(where.get(str(r["peer"]), "failed") for r in res)
        balance = (
            max(share.values()) / min(share[p] for p in lab.pods)
            if all(share[p] for p in lab.pods)
            else float("inf")
        )

        victim = sorted(lab.pods)[1]
        lab.set_health(victim, False)
        failover = lab.wait_for("withdrawal", lambda: victim not in lab.pods_in_ecmp(), 60, interval=0.02)
        lab.set_health(victim, True)
        restore = lab.wait_for("restore", lambda: victim in lab.pods_in_ecmp(), 60, interval=0.02)
        lab.wait_converged(len(lab.pods))

        ports = [5201, 5202, 5203]
        pinned = lab.pin_ports("orders", netlab.INTERNET_SERVER, ports)
        for p in ports:
            lab.procs.append(
                subprocess.Popen(
                    ["ip", "netns", "exec", lab.inet, "iperf3", "-s", "-1", "-p", str(p)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(0.5)
        procs = {
            pod: subprocess.Popen(
                [
                    "ip",
                    "netns",
                    "exec",
                    lab.workloads["orders"].ns,
                    "iperf3",
                    "-c",
                    netlab.INTERNET_SERVER,
                    "-p",
                    str(port),
                    "--cport",
                    str(cport),
                    "-t",
                    str(args.seconds),
                    "-O",
                    "1",
                    "-J",
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for pod, (port, cport) in pinned.items()
        }
        rate = lab.tfvars["workloads"]["orders"]["qos_mbps_per_pod"]
        measured = {
            pod: json.loads(p.communicate()[0])["end"]["sum_received"]["bits_per_second"] / 1e6
            for pod, p in procs.items()
        }
        accuracy = 100 - 100 * sum(abs(m - rate) / rate for m in measured.values()) / len(measured)

        print(f"bgp_convergence_seconds {converge:.2f}")
        print(f"ecmp_flows_per_pod {json.dumps(dict(sorted(share.items())))}")
        print(f"ecmp_balance_max_min {balance:.2f}")
        print(f"failover_seconds {failover:.2f}")
        print(f"restore_seconds {restore:.2f}")
        print(f"qos_target_mbps {rate:.1f}")
        print(f"qos_measured_mbps {json.dumps({k: round(v, 1) for k, v in sorted(measured.items())})}")
        print(f"qos_accuracy_percent {accuracy:.1f}")
        return 0
    finally:
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
