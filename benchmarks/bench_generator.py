"""Benchmark: `microseg generate` on 1k and 10k workloads with 50k flows, side by side with the floor.

Each size runs the generator and the floor alternately, --runs times (default 3), so both see the
same machine; a run's ratio is its generator time over the floor time right after it. Prints the
median wall times, the median of those ratios (and each one), the 10k/1k ratio and peak RSS, and
fails (exit 1) when the median ratio at 10k workloads is above 5x or a run takes more than 300 MB RSS.

usage: python benchmarks/bench_generator.py [--keep DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOWS = 50_000
MAX_RATIO = 5.0
MAX_RSS_MB = 300.0


# Sizes and bandwidths are chosen so 10k workloads fit the default /10 pool and /20 core (<= 128 pods).
def make_inputs(directory: Path, workloads: int, flows: int, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    names = [f"wl-{i:05d}" for i in range(workloads)]
    inv = directory / f"inventory-{workloads}.csv"
    with inv.open("w", encoding="utf-8") as fh:
        fh.write(
            "name,environment,bandwidth_mbps,prefix_length,azs,internet_egress,owner,cost_center,monthly_gb\n"
        )
        for i, n in enumerate(names):
            fh.write(
                f"{n},{rng.choice(['prod', 'nonprod', 'dev'])},{rng.choice([5, 10, 20, 40])},"
                f"{rng.choice([22, 24, 25, 25, 25])},{rng.choice([2, 3])},"
                f"{'true' if i % 10 == 0 else 'false'},"
                f"team-{i % 40},cc-{i % 25},{rng.randint(10, 2000)}\n"
            )
    fl = directory / f"flows-{workloads}.csv"
    with fl.open("w", encoding="utf-8") as fh:
        fh.write("source,destination,protocol,ports,reference\n")
        for i in range(flows):
            a, b = rng.sample(names, 2)
            proto = rng.choice(["tcp", "tcp", "udp", "icmp"])
            ports = "" if proto == "icmp" else str(rng.choice([443, 5432, 8443, 53, 1521]))
            fh.write(f"{a},{b},{proto},{ports},CHG-{i:06d}\n")
    return inv, fl


def timed(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS MB) of a child process, measured with wait4's rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--keep", type=Path, help="keep inputs and outputs in this directory")
    ap.add_argument("--runs", type=int, default=3, help="alternated generator/floor runs per size")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    work = args.keep or Path(tempfile.mkdtemp(prefix="microseg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    microseg = [sys.executable, "-m", "microseg.cli"]
    results: dict[int, list[tuple[tuple[float, float], tuple[float, float]]]] = {}
    try:
        for n in (1_000, 10_000):
            inv, fl = make_inputs(work, n, FLOWS)
            out = work / f"out-{n}"
            floor_cmd = [sys.executable, str(HERE / "floor_generator.py"), str(inv), str(fl)]
            results[n] = []
            for _ in range(args.runs):
                shutil.rmtree(out, ignore_errors=True)  # every run generates from scratch (no lock)
                gen = timed([*microseg, "generate", str(inv), "--flows", str(fl), "--out", str(out)])
                floor = timed([*floor_cmd, str(work / f"floor-{n}.json")])
                results[n].append((gen, floor))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"{'workloads':>10} {'flows':>7} {'generate s':>11} {'floor s':>8} {'x floor':>8} "
        f"{'gen RSS MB':>11} {'floor RSS MB':>13}"
    )
    median: dict[int, tuple[float, float, float]] = {}
    rss = 0.0
    for n, runs in results.items():
        gt = statistics.median(g[0] for g, _ in runs)
        ft = statistics.median(f[0] for _, f in runs)
        ratio = statistics.median(g[0] / f[0] for g, f in runs)
        gr, fr = max(g[1] for g, _ in runs), max(f[1] for _, f in runs)
        rss = max(rss, gr)
        median[n] = (gt, ft, ratio)
        print(f"{n:>10} {FLOWS:>7} {gt:>11.2f} {ft:>8.2f} {ratio:>8.2f} {gr:>11.1f} {fr:>13.1f}")
    for n, runs in results.items():
        each = " ".join(f"{g[0] / f[0]:.2f}" for g, f in runs)
        print(f"x floor at {n} workloads, run by run: {each} (median of {len(runs)} alternated runs above)")
    print(f"10k/1k time ratio: {median[10_000][0] / median[1_000][0]:.2f}")
    ok = median[10_000][2] <= MAX_RATIO and rss <= MAX_RSS_MB
    print(f"limits: <= {MAX_RATIO:g}x floor at 10k, <= {MAX_RSS_MB:g} MB RSS -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
