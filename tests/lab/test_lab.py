"""The pods' data plane, measured: ECMP spread, symmetric return through SNAT, default deny with
logging, per-pod QoS caps and health-gated BGP, on the rendered configs in network namespaces.

Run as root: `pytest -m lab tests/lab`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab import netlab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOLD_TIME = 30  # the rendered frr.conf's `timers bgp 10 30`
FLOWS = 96
QOS_TOLERANCE = 0.15
QOS_PORTS = [5201, 5202, 5203, 5204, 5205, 5206]  # flows.csv CHG-1003: orders -> internet tcp/5201-5206
WITHDRAW_WITHIN = 10.0  # a broken fw leaves ECMP within this, with the module's default intervals


def _lab_possible() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (ip netns)"
    for tool in ("/usr/lib/frr/bgpd", "/usr/sbin/nft", "/usr/bin/iperf3", "/usr/bin/vtysh"):
        if not Path(tool).exists():
            return f"{tool} missing: run scripts/bootstrap.sh"
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[netlab.Lab]:
    reason = _lab_possible()
    if reason:
        pytest.fail(reason)  # the project installs every prerequisite; a gap must not pass as a skip
    lab = netlab.Lab(netlab.podconfig.load_tfvars(), tmp_path_factory.mktemp("lab"))
    try:
        lab.build()
        lab.wait_converged(len(lab.pods))
        lab.serve(lab.workloads["payments"].ns, "0.0.0.0", [443, 22])
        lab.serve(lab.inet, "0.0.0.0", [443])
        yield lab
    finally:
        lab.close()


def _by_pod(lab: netlab.Lab, results: list[dict[str, object]]) -> dict[int, str]:
    where = lab.pod_by_address()
    failed = [r for r in results if r["peer"] is None]
    assert not failed, f"{len(failed)} of {len(results)} flows failed: {failed[:5]}"
    return {int(r["sport"]): where[str(r["peer"])] for r in results}  # type: ignore[call-overload]


def _assert_symmetric(lab: netlab.Lab, src_ip: str, carried: dict[int, str]) -> None:
    """Each flow's SYN entered from the TGW and its SYN-ACK left to the TGW on the pod that SNATed it."""
    for pod in lab.pods:
        seen = lab.observed(pod)
        mine = {(src_ip, port) for port, p in carried.items() if p == pod}
        assert mine <= seen["in"], f"{pod}: flows SNATed here but not received from the TGW here"
        assert mine <= seen["out"], f"{pod}: replies of flows SNATed here left through another pod"
        others = {(src_ip, port) for port, p in carried.items() if p != pod}
        assert not (others & seen["out"]), f"{pod}: replies of other pods' flows left through {pod}"


def test_ecmp_spreads_flows_over_all_pods(lab: netlab.Lab) -> None:
    carried = _by_pod(lab, lab.connect("orders", lab.workloads["payments"].ip, 443, FLOWS))
    share = Counter(carried.values())
    assert set(share) == set(lab.pods), f"pods used: {dict(share)}"
    assert max(share.values()) / min(share.values()) <= 2, f"unbalanced: {dict(share)}"


def test_east_west_replies_return_through_the_same_pod(lab: netlab.Lab) -> None:
    lab.reset_observed()
    results = lab.connect("orders", lab.workloads["payments"].ip, 443, 48)
    carried = _by_pod(lab, results)
    # The server saw the fw's internal address (east-west SNAT).
    assert {str(r["peer"]) for r in results} <= {p.internal_ip for p in lab.pods.values()}
    _assert_symmetric(lab, lab.workloads["orders"].ip, carried)


def test_north_south_replies_return_through_the_same_pod(lab: netlab.Lab) -> None:
    lab.reset_observed()
    results = lab.connect("orders", netlab.INTERNET_SERVER, 443, 48)
    carried = _by_pod(lab, results)
    assert {str(r["peer"]) for r in results} <= {p.public_ip for p in lab.pods.values()}
    _assert_symmetric(lab, lab.workloads["orders"].ip, carried)


def test_unapproved_flow_is_dropped_and_logged(lab: netlab.Lab) -> None:
    src, dst = lab.workloads["orders"].ip, lab.workloads["payments"].ip
    results = lab.connect("orders", dst, 22, 6, timeout=1.0)  # no flows.csv row allows tcp/22
    assert all(r["peer"] is None for r in results), results
    log = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    pattern = re.compile(
        rf"microseg-drop (pod-\d+) .*SRC={re.escape(src)} DST={re.escape(dst)} .*SPT=(\d+) DPT=22 "
    )
    logged = {int(m.group(2)): m.group(1) for m in pattern.finditer(log)}
    missing = [r["sport"] for r in results if r["sport"] not in logged]
    assert not missing, f"drops not logged for source ports {missing}"
    # The approved port on the same path still works: it is the policy, not the path, that drops.
    assert all(r["peer"] for r in lab.connect("orders", dst, 443, 6))


def _dropped_and_logged(lab: netlab.Lab, src: str, dst: str, port: int) -> None:
    """Every flow src -> dst:port times out, and each one's SYN was logged as dropped by a fw."""
    results = lab.connect(src, dst, port, 4, timeout=1.0)
    assert all(r["peer"] is None for r in results), f"{src} -> {dst}:{port} got through: {results}"
    log = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    src_ip = lab.workloads[src].ip
    pattern = re.compile(
        rf"microseg-drop pod-\d+ .*SRC={re.escape(src_ip)} DST={re.escape(dst)} .*SPT=(\d+) DPT={port} "
    )
    logged = {int(m.group(1)) for m in pattern.finditer(log)}
    assert not [r["sport"] for r in results if r["sport"] not in logged], (
        f"{src} -> {dst}:{port}: drops not logged"
    )


def test_an_approved_port_is_open_to_its_destination_only(lab: netlab.Lab) -> None:
    """ledger -> payments tcp/443 is approved (CHG-1009), ledger -> orders is not; orders may reach
    the internet on tcp/443 and 5201-5206 only. A listener on each denied port proves the fw, not
    a closed port, stops them."""
    orders = lab.workloads["orders"]
    lab.serve(orders.ns, "0.0.0.0", [443])
    lab.serve(lab.inet, "0.0.0.0", [22])
    assert all(r["peer"] for r in lab.connect("ledger", lab.workloads["payments"].ip, 443, 4))
    _dropped_and_logged(lab, "ledger", orders.ip, 443)
    assert all(r["peer"] for r in lab.connect("orders", netlab.INTERNET_SERVER, 443, 4))
    _dropped_and_logged(lab, "orders", netlab.INTERNET_SERVER, 22)


def test_the_fw_itself_answers_only_ping_and_dhcp(lab: netlab.Lab) -> None:
    """Nothing listens on the fw, so an accepting input chain would answer a SYN with a reset at
    once; the default-deny chain lets it time out. Ping is allowed: every pod in ECMP is one whose
    agent's local check pings its fw."""
    lab.wait_converged(len(lab.pods))
    for pod in lab.pods.values():
        fw_ip = pod.data["bridge"]["fw_ip"]
        probe = (
            "import socket, sys\n"
            "s = socket.socket(); s.settimeout(1.5)\n"
            "try:\n    s.connect((sys.argv[1], 22)); print('open')\n"
            "except ConnectionRefusedError:\n    print('refused')\n"
            "except OSError:\n    print('dropped')\n"
        )
        answer = netlab.sh(sys.executable, "-c", probe, fw_ip, ns=pod.vpn).strip()
        assert answer == "dropped", f"{pod.key}: tcp/22 to the fw's own address was {answer}"


def test_a_restarted_vpn_starts_withdrawn(lab: netlab.Lab) -> None:
    """frr.service restarting (a crash, a reboot) on an unhealthy pod must not advertise the pod:
    only the agent adds `network 0.0.0.0/0`, once the pod is proven. The agent is stopped here, so
    nothing but the saved frr.conf speaks for the pod while its sessions come back up."""
    victim = "pod-01"
    lab.wait_converged(len(lab.pods))
    lab.set_health(victim, False)
    lab.wait_for("withdrawal", lambda: victim not in lab.pods_in_ecmp(), HOLD_TIME)
    lab.stop_agent(victim)
    try:
        lab.restart_frr(victim)
        peers = lab.pods[victim].tunnel_peers
        lab.wait_for(f"{victim}: BGP re-established", lambda: lab.bgp_established(peers), 2 * HOLD_TIME)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            assert victim not in lab.pods_in_ecmp(), f"{victim} advertised itself before the agent proved it"
            time.sleep(0.1)
    finally:
        lab.set_health(victim, True)
        lab.start_agent(victim)
    lab.wait_converged(len(lab.pods), timeout=2 * HOLD_TIME)


def test_replies_leave_on_both_tunnels_of_every_pod(lab: netlab.Lab) -> None:
    lab.reset_observed()
    carried = _by_pod(lab, lab.connect("orders", lab.workloads["payments"].ip, 443, FLOWS))
    src = lab.workloads["orders"].ip
    for pod in lab.pods:
        seen = lab.observed(pod)
        mine = {(src, port) for port, p in carried.items() if p == pod}
        on = {t: len(mine & seen[t]) for t in ("tgw1", "tgw2")}
        assert on["tgw1"] + on["tgw2"] == len(mine), f"{pod}: replies not seen on a tunnel: {on}"
        # ~1/2 each; with ~32 flows per pod all on one tunnel has probability 2**-31.
        assert on["tgw1"] and on["tgw2"], f"{pod}: replies used one tunnel only: {on}"


def test_qos_caps_a_workload_per_pod_in_both_directions_over_both_tunnels(lab: netlab.Lab) -> None:
    """Two flows per pod, whose replies leave on different tunnels: together they get the workload's
    per-pod rate (±15 %), sending (shaped leaving the bridge) and receiving (shaped entering it)."""
    rate = lab.tfvars["workloads"]["orders"]["qos_mbps_per_pod"]
    pinned = qos_flows(lab)
    for direction in ("send", "receive"):
        before = {p: lab.tunnel_tx_bytes(p) for p in lab.pods}
        measured = lab.iperf(pinned, seconds=5, reverse=direction == "receive")
        for pod, mbps in measured.items():
            assert abs(mbps - rate) <= QOS_TOLERANCE * rate, (
                f"{pod} {direction}: {mbps:.1f} Mbit/s for two flows, QoS {rate} Mbit/s"
            )
        if direction == "receive":  # what a workload receives left this pod on both tunnels
            for pod in lab.pods:
                sent = {t: lab.tunnel_tx_bytes(pod)[t] - before[pod][t] for t in ("tgw1", "tgw2")}
                assert min(sent.values()) > 1_000_000, f"{pod}: bytes per tunnel {sent}"
    # The workload's classes on the vpns counted it (not the unshaped default class), both ways.
    cls = lab.qos_class("orders")
    for pod in lab.pods:
        assert lab.tc_class_bytes(pod, "bridge")[cls] > 1_000_000
        assert lab.tc_class_bytes(pod, "ifb-bridge")[cls] > 1_000_000


def qos_flows(lab: netlab.Lab) -> dict[tuple[str, str], tuple[int, int]]:
    pinned = lab.pin_flows("orders", netlab.INTERNET_SERVER, QOS_PORTS)
    assert set(pinned) == {(p, t) for p in lab.pods for t in ("tgw1", "tgw2")}, pinned
    return pinned


def test_unhealthy_pod_is_withdrawn_and_restored(lab: netlab.Lab) -> None:
    victim = "pod-02"
    lab.set_health(victim, False)
    start = time.monotonic()
    took = lab.wait_for("withdrawal", lambda: victim not in lab.pods_in_ecmp(), HOLD_TIME)
    assert took < HOLD_TIME
    assert lab.pods_in_ecmp() == set(lab.pods) - {victim}
    time.sleep(1.0)
    carried = _by_pod(lab, lab.connect("orders", lab.workloads["payments"].ip, 443, 64))
    assert victim not in set(carried.values()), "new flows still hashed to the withdrawn pod"
    assert len(set(carried.values())) == len(lab.pods) - 1
    lab.set_health(victim, True)
    lab.wait_converged(len(lab.pods), timeout=HOLD_TIME)
    carried = _by_pod(lab, lab.connect("orders", lab.workloads["payments"].ip, 443, 64))
    assert victim in set(carried.values()), "restored pod receives no new flows"
    assert time.monotonic() - start < 120


# --- health by blast radius (docs/health.md) -----------------------------------------------------


def test_internet_outage_withdraws_no_pod_and_east_west_keeps_flowing(lab: netlab.Lab) -> None:
    """The Lambda's real check code runs in every pod's bridge subnet; the internet stand-in goes
    down: every pod reports the shared failure (metric), none withdraws, east-west still works."""
    lab.start_health_checks(interval=1.0)
    try:
        lab.wait_for(
            "every record written by the checks",
            lambda: all("checked_at" in lab.record(p) for p in lab.pods),
            20,
        )
        assert all(lab.record(p)["status"] == "healthy" for p in lab.pods), {
            p: lab.record(p) for p in lab.pods
        }
        sh_inet_link("down", lab)
        try:
            # Long enough for two failing runs (the threshold) and the agents' next reads, twice over.
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                assert lab.pods_in_ecmp() == set(lab.pods), "a pod withdrew for a shared failure"
                time.sleep(0.2)
            for pod in lab.pods:
                rec = lab.record(pod)
                assert rec["status"] == "healthy" and rec["faults"] == [], (pod, rec)
                assert rec["shared_failures"] == ["internet"], (pod, rec)
                assert lab.metrics(pod)[-1]["SharedDependencyFailures"] == 1.0, pod  # the alarm's metric
            carried = _by_pod(lab, lab.connect("orders", lab.workloads["payments"].ip, 443, 48))
            assert set(carried.values()) == set(lab.pods)
            failed = [
                r for r in lab.connect("orders", netlab.INTERNET_SERVER, 443, 3, timeout=1.0) if r["peer"]
            ]
            assert not failed, "the internet stand-in was not down"
        finally:
            sh_inet_link("up", lab)
        lab.wait_for(
            "the shared failure to clear",
            lambda: all(lab.record(p)["shared_failures"] == [] for p in lab.pods),
            20,
        )
    finally:
        lab.stop_health_checks()


def sh_inet_link(state: str, lab: netlab.Lab) -> None:
    netlab.sh("ip", "link", "set", "pub", state, ns=lab.inet)


def test_broken_fw_withdraws_only_its_pod_within_ten_seconds(lab: netlab.Lab) -> None:
    """The fw of pod-03 stops forwarding (it still answers ping). Nothing but the vpn's own check
    sees it before the next Lambda run: the rendered cadence (2 s, 2 failures) must withdraw it."""
    victim = "pod-03"
    lab.wait_converged(len(lab.pods))
    netlab.sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=0", ns=lab.pods[victim].fw)
    start = time.monotonic()
    try:
        took = lab.wait_for("withdrawal", lambda: victim not in lab.pods_in_ecmp(), 30, interval=0.05)
        assert took < WITHDRAW_WITHIN, f"{victim} withdrawn after {took:.1f} s"
        time.sleep(1.0)
        assert lab.pods_in_ecmp() == set(lab.pods) - {victim}, "another pod withdrew"
        carried = _by_pod(lab, lab.connect("orders", lab.workloads["payments"].ip, 443, 32))
        assert victim not in set(carried.values())
        assert "local check: fw does not forward" in (lab.workdir / f"{victim}.agent.log").read_text()
    finally:
        netlab.sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", ns=lab.pods[victim].fw)
    lab.wait_converged(len(lab.pods), timeout=HOLD_TIME)
    assert time.monotonic() - start < 60


# --- brownfield: a workload pinned outside the supernet ------------------------------------------


def test_workload_pinned_outside_the_supernet_reaches_and_is_reached_through_the_pods(
    lab: netlab.Lab,
) -> None:
    ledger = lab.workloads["ledger"]
    supernet = ipaddress.ip_network(lab.tfvars["workload_supernet"])
    assert not ipaddress.ip_network(ledger.cidr).subnet_of(supernet)  # type: ignore[arg-type]
    lab.serve(ledger.ns, "0.0.0.0", [443])
    lab.reset_observed()
    # Reached: orders -> ledger tcp/443 (CHG-1008), through every pod, replies back the same pod.
    inbound = _by_pod(lab, lab.connect("orders", ledger.ip, 443, 48))
    assert set(inbound.values()) == set(lab.pods)
    _assert_symmetric(lab, lab.workloads["orders"].ip, inbound)
    # Reaches: ledger -> payments tcp/443 (CHG-1009).
    lab.reset_observed()
    outbound = _by_pod(lab, lab.connect("ledger", lab.workloads["payments"].ip, 443, 48))
    assert set(outbound.values()) == set(lab.pods)
    _assert_symmetric(lab, ledger.ip, outbound)
